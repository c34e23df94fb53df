// Element-wise binary ops with NumPy broadcasting: the family behind Keras' merge layers (Add,
// Subtract, Multiply, Average, Maximum, Minimum) and the affine preprocessing layers (Rescaling,
// Normalization). The output is walked as rows of its last dimension; each input's element
// stride along a dimension is 0 where it is broadcast, so the inner loop runs with stride 1 or 0.
#include <vector>

#include "autograd/ops.h"

namespace gaze {
namespace {

struct Plan {
  Shape out;                                // the output shape
  Shape dims;                               // out with rank >= 1 (a scalar is [1])
  std::vector<int64_t> stride_a, stride_b;  // per dimension of dims; 0 where broadcast
  int64_t rows = 0, inner = 0;              // dims = rows x inner (the last dimension)
};

// Element strides of `in` (aligned at the right) over `dims`, 0 along broadcast dimensions.
std::vector<int64_t> aligned_strides(const Shape& in, const Shape& dims) {
  std::vector<int64_t> strides(dims.size(), 0);
  const size_t lead = dims.size() - in.size();
  int64_t s = 1;
  for (size_t i = in.size(); i-- > 0;) {
    strides[lead + i] = in[i] == 1 ? 0 : s;
    s *= in[i];
  }
  return strides;
}

Plan plan(const char* op, const Shape& a, const Shape& b) {
  Plan p;
  try {
    p.out = broadcast_shapes(a, b);
  } catch (const Error& e) {
    throw Error(std::string(op) + ": " + e.what());
  }
  p.dims = p.out.empty() ? Shape{1} : p.out;
  p.stride_a = aligned_strides(a, p.dims);
  p.stride_b = aligned_strides(b, p.dims);
  p.inner = p.dims.back();
  p.rows = p.inner == 0 ? 0 : element_count(p.dims) / p.inner;
  return p;
}

// Offsets into a and b of the first element of output row r.
std::pair<int64_t, int64_t> row_offsets(const Plan& p, int64_t r) {
  int64_t oa = 0, ob = 0;
  for (size_t d = p.dims.size() - 1; d-- > 0;) {
    const int64_t i = r % p.dims[d];
    r /= p.dims[d];
    oa += i * p.stride_a[d];
    ob += i * p.stride_b[d];
  }
  return {oa, ob};
}

// out[i] = f(a[.], b[.]) over the broadcast output.
template <typename F>
Tensor forward(const Plan& p, const Tensor& a, const Tensor& b, F f) {
  Tensor out(p.out);
  const int64_t sa = p.stride_a.back(), sb = p.stride_b.back(), n = p.inner;
#pragma omp parallel for if (p.rows * n > (int64_t{1} << 16))
  for (int64_t r = 0; r < p.rows; ++r) {
    const auto [oa, ob] = row_offsets(p, r);
    const float* x = a.data() + oa;
    const float* y = b.data() + ob;
    float* o = out.data() + r * n;
    if (sa == 1 && sb == 1) {  // the common cases, kept apart so that they vectorize
      for (int64_t j = 0; j < n; ++j) o[j] = f(x[j], y[j]);
    } else if (sa == 1) {
      for (int64_t j = 0; j < n; ++j) o[j] = f(x[j], y[0]);
    } else if (sb == 1) {
      for (int64_t j = 0; j < n; ++j) o[j] = f(x[0], y[j]);
    } else {
      for (int64_t j = 0; j < n; ++j) o[j] = f(x[0], y[0]);
    }
  }
  return out;
}

// The gradient of input `which` (0: a, 1: b) of shape `shape`: dy times the local derivative
// local(offset in a, offset in b), summed over the dimensions that input was broadcast along
// (in double: a squeeze-excite scale sums over a whole feature map).
template <typename Local>
Tensor reduce_gradient(const Plan& p, int which, const Shape& shape, const Tensor& dy,
                       Local local) {
  const int64_t sa = p.stride_a.back(), sb = p.stride_b.back(), n = p.inner;
  const int64_t size = element_count(shape);
  Tensor g(shape);
  if (size == dy.size()) {  // not broadcast: one output element per input element
#pragma omp parallel for if (p.rows * n > (int64_t{1} << 16))
    for (int64_t r = 0; r < p.rows; ++r) {
      const auto [oa, ob] = row_offsets(p, r);
      for (int64_t j = 0; j < n; ++j)
        g.data()[r * n + j] = dy.data()[r * n + j] * local(oa + j * sa, ob + j * sb);
    }
    return g;
  }
  std::vector<double> sum(static_cast<size_t>(size), 0.0);
  for (int64_t r = 0; r < p.rows; ++r) {
    const auto [oa, ob] = row_offsets(p, r);
    for (int64_t j = 0; j < n; ++j) {
      const int64_t ia = oa + j * sa, ib = ob + j * sb;
      sum[static_cast<size_t>(which == 0 ? ia : ib)] +=
          static_cast<double>(dy.data()[r * n + j]) * local(ia, ib);
    }
  }
  for (int64_t i = 0; i < size; ++i) g.data()[i] = static_cast<float>(sum[static_cast<size_t>(i)]);
  return g;
}

const char* op_name(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd:
      return "add";
    case BinaryOp::kSubtract:
      return "subtract";
    case BinaryOp::kMultiply:
      return "multiply";
    case BinaryOp::kDivide:
      return "divide";
    case BinaryOp::kMaximum:
      return "maximum";
    case BinaryOp::kMinimum:
      return "minimum";
  }
  return "binary";
}

Tensor compute(BinaryOp op, const Plan& p, const Tensor& a, const Tensor& b) {
  switch (op) {
    case BinaryOp::kAdd:
      return forward(p, a, b, [](float x, float y) { return x + y; });
    case BinaryOp::kSubtract:
      return forward(p, a, b, [](float x, float y) { return x - y; });
    case BinaryOp::kMultiply:
      return forward(p, a, b, [](float x, float y) { return x * y; });
    case BinaryOp::kDivide:
      return forward(p, a, b, [](float x, float y) { return x / y; });
    case BinaryOp::kMaximum:
      return forward(p, a, b, [](float x, float y) { return x >= y ? x : y; });
    case BinaryOp::kMinimum:
      return forward(p, a, b, [](float x, float y) { return x <= y ? x : y; });
  }
  throw Error("binary: unknown op");
}

// d out / d a (which = 0) or d out / d b (which = 1). av, bv: the inputs' values, defined only
// where the derivative needs them.
Tensor gradient(BinaryOp op, int which, const Plan& p, const Shape& shape, const Tensor& dy,
                const Tensor& av, const Tensor& bv) {
  const float* x = av.defined() ? av.data() : nullptr;
  const float* y = bv.defined() ? bv.data() : nullptr;
  const bool first = which == 0;
  auto grad = [&](auto local) { return reduce_gradient(p, which, shape, dy, local); };
  switch (op) {
    case BinaryOp::kAdd:
      return grad([](int64_t, int64_t) { return 1.0f; });
    case BinaryOp::kSubtract:
      return grad([first](int64_t, int64_t) { return first ? 1.0f : -1.0f; });
    case BinaryOp::kMultiply:
      return first ? grad([y](int64_t, int64_t ib) { return y[ib]; })
                   : grad([x](int64_t ia, int64_t) { return x[ia]; });
    case BinaryOp::kDivide:
      return first ? grad([y](int64_t, int64_t ib) { return 1.0f / y[ib]; })
                   : grad([x, y](int64_t ia, int64_t ib) { return -x[ia] / (y[ib] * y[ib]); });
    case BinaryOp::kMaximum:  // TensorFlow's rule: a gets it where a >= b, so ties go to a
      return grad([x, y, first](int64_t ia, int64_t ib) {
        return (x[ia] >= y[ib]) == first ? 1.0f : 0.0f;
      });
    case BinaryOp::kMinimum:
      return grad([x, y, first](int64_t ia, int64_t ib) {
        return (x[ia] <= y[ib]) == first ? 1.0f : 0.0f;
      });
  }
  throw Error("binary: unknown op");
}

}  // namespace

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  const Shape& longer = a.size() >= b.size() ? a : b;
  const Shape& shorter = a.size() >= b.size() ? b : a;
  Shape out = longer;
  const size_t lead = longer.size() - shorter.size();
  for (size_t i = 0; i < shorter.size(); ++i) {
    const int64_t l = longer[lead + i], s = shorter[i];
    if (l == s || s == 1) continue;
    if (l != 1) {
      throw Error("shapes " + to_string(a) + " and " + to_string(b) + " do not broadcast");
    }
    out[lead + i] = s;
  }
  return out;
}

Var binary(BinaryOp op, const Var& a, const Var& b) {
  const Plan p = plan(op_name(op), a.shape(), b.shape());
  Tensor out = compute(op, p, a.value(), b.value());
  // Keep an input's value only where a derivative reads it.
  const bool ga = a.requires_grad(), gb = b.requires_grad();
  const bool values_needed = op == BinaryOp::kMaximum || op == BinaryOp::kMinimum;
  const bool keep_a = (values_needed && (ga || gb)) ||
                      (gb && (op == BinaryOp::kMultiply || op == BinaryOp::kDivide));
  const bool keep_b = (values_needed && (ga || gb)) || ((ga && op == BinaryOp::kMultiply) ||
                                                        (op == BinaryOp::kDivide && (ga || gb)));
  Tensor av = keep_a ? a.value() : Tensor(), bv = keep_b ? b.value() : Tensor();
  return make_result(
      std::move(out), op_name(op), {a, b}, [op, p, av, bv](Node& self, const BackwardOptions&) {
        for (int which = 0; which < 2; ++which) {
          if (auto& in = self.inputs[static_cast<size_t>(which)]) {
            in->accumulate_grad(gradient(op, which, p, in->value.shape(), self.grad, av, bv));
          }
        }
      });
}

}  // namespace gaze
