// The broadcasting binary ops: forward against a loop that maps every output index to each
// input's index by NumPy's rule, backward against finite differences for both inputs.
#include <gtest/gtest.h>

#include <algorithm>

#include "autograd/ops.h"
#include "tests/support/gradient_check.h"

namespace gaze {
namespace {

using testing::check_gradients;
using testing::distinct_tensor;
using testing::random_tensor;

constexpr BinaryOp kOps[] = {BinaryOp::kAdd,    BinaryOp::kSubtract, BinaryOp::kMultiply,
                             BinaryOp::kDivide, BinaryOp::kMaximum,  BinaryOp::kMinimum};

double apply(BinaryOp op, double a, double b) {
  switch (op) {
    case BinaryOp::kAdd:
      return a + b;
    case BinaryOp::kSubtract:
      return a - b;
    case BinaryOp::kMultiply:
      return a * b;
    case BinaryOp::kDivide:
      return a / b;
    case BinaryOp::kMaximum:
      return std::max(a, b);
    case BinaryOp::kMinimum:
      return std::min(a, b);
  }
  return 0.0;
}

// Row-major flat index into `in` of the output element with multi-index `index` (over
// `out`, which has at least in's rank): leading axes dropped, size-1 axes pinned to 0.
int64_t source_index(const Shape& in, const Shape& out, const std::vector<int64_t>& index) {
  int64_t flat = 0;
  const size_t lead = out.size() - in.size();
  for (size_t d = 0; d < in.size(); ++d) flat = flat * in[d] + (in[d] == 1 ? 0 : index[lead + d]);
  return flat;
}

Tensor naive_binary(BinaryOp op, const Tensor& a, const Tensor& b, const Shape& out) {
  Tensor y(out);
  std::vector<int64_t> index(out.size(), 0);
  for (int64_t i = 0; i < y.size(); ++i) {
    int64_t rest = i;
    for (size_t d = out.size(); d-- > 0;) {
      index[d] = rest % out[d];
      rest /= out[d];
    }
    y.data()[i] = static_cast<float>(apply(op, a.data()[source_index(a.shape(), out, index)],
                                           b.data()[source_index(b.shape(), out, index)]));
  }
  return y;
}

// A shuffled ramp offset + 0.05 * i.
Tensor grid(const Shape& shape, uint32_t seed, float offset) {
  Tensor t = distinct_tensor(shape, seed, 1.0f);
  std::vector<float> v(t.values().begin(), t.values().end());
  std::sort(v.begin(), v.end());
  for (float& x : t.values()) {
    x = offset + 0.05f * static_cast<float>(std::lower_bound(v.begin(), v.end(), x) - v.begin());
  }
  return t;
}

struct ShapeCase {
  Shape a, b, out;
};

const ShapeCase kShapes[] = {
    {{2, 3, 4, 5}, {2, 3, 4, 5}, {2, 3, 4, 5}},  // same shape
    {{2, 3, 4, 5}, {2, 1, 1, 5}, {2, 3, 4, 5}},  // squeeze-excite: per image and channel
    {{2, 1, 1, 5}, {2, 3, 4, 5}, {2, 3, 4, 5}},  // the same, broadcast input first
    {{2, 3, 4, 5}, {5}, {2, 3, 4, 5}},           // per channel (Rescaling, Normalization)
    {{3, 1}, {1, 4}, {3, 4}},                    // both broadcast
    {{2, 3, 1}, {2, 3, 4}, {2, 3, 4}},           // the last axis broadcast
    {{2, 3}, {}, {2, 3}},                        // a scalar
};

TEST(Binary, ForwardMatchesNaiveBroadcastLoop) {
  uint32_t seed = 1;
  for (BinaryOp op : kOps) {
    for (const ShapeCase& c : kShapes) {
      const Tensor a = random_tensor(c.a, seed++, 0.5f, 2.0f);
      const Tensor b = random_tensor(c.b, seed++, -2.0f, -0.5f);  // away from 0 for divide
      EXPECT_EQ(broadcast_shapes(c.a, c.b), c.out);
      const Tensor y = binary(op, Var(a), Var(b)).value();
      ASSERT_EQ(y.shape(), c.out);
      EXPECT_TENSOR_NEAR(y, naive_binary(op, a, b, c.out), 1e-7f)
          << "op " << static_cast<int>(op) << ", shapes " << to_string(c.a) << " "
          << to_string(c.b);
    }
  }
}

TEST(Binary, GradientsMatchFiniteDifferencesForBothInputs) {
  uint32_t seed = 100;
  for (BinaryOp op : kOps) {
    for (const ShapeCase& c : kShapes) {
      // Values on two interleaved grids 0.025 apart: no ties within the step h = 0.01 (maximum,
      // minimum), and b away from 0 (divide).
      const Tensor a = grid(c.a, seed++, 3.0f), b = grid(c.b, seed++, 3.025f);
      check_gradients([op](const std::vector<Var>& v) { return binary(op, v[0], v[1]); }, {a, b});
    }
  }
}

TEST(Binary, MaximumAndMinimumSendTiesToTheFirstInput) {
  const Var a(Tensor::from({3}, {1.0f, 2.0f, 5.0f}), true);
  const Var b(Tensor::from({3}, {1.0f, 3.0f, 4.0f}), true);
  backward(binary(BinaryOp::kMaximum, a, b), Tensor::full({3}, 1.0f));
  EXPECT_EQ(a.grad().values()[0], 1.0f);  // tie
  EXPECT_EQ(b.grad().values()[0], 0.0f);
  EXPECT_EQ(a.grad().values()[1], 0.0f);
  EXPECT_EQ(b.grad().values()[1], 1.0f);
  EXPECT_EQ(a.grad().values()[2], 1.0f);
  backward(binary(BinaryOp::kMinimum, a, b), Tensor::full({3}, 1.0f));
  EXPECT_EQ(a.grad().values()[0], 1.0f);  // tie
  EXPECT_EQ(b.grad().values()[0], 0.0f);
  EXPECT_EQ(a.grad().values()[1], 1.0f);
  EXPECT_EQ(b.grad().values()[2], 1.0f);
}

TEST(Binary, BroadcastGradientSumsOverTheStretchedAxes) {
  // d sum(x * s) / d s_c = sum over the map of x[..., c]: the squeeze-excite scale's gradient.
  const Tensor x = random_tensor({1, 3, 4, 2}, 7);
  const Var s(Tensor::from({1, 1, 1, 2}, {0.5f, -1.5f}), true);
  backward(binary(BinaryOp::kMultiply, Var(x), s), Tensor::full({1, 3, 4, 2}, 1.0f));
  for (int64_t c = 0; c < 2; ++c) {
    double sum = 0.0;
    for (int64_t i = 0; i < 12; ++i) sum += x.data()[i * 2 + c];
    EXPECT_NEAR(s.grad().at(0, 0, 0, c), sum, 1e-6);
  }
}

TEST(Binary, RejectsShapesThatDoNotBroadcast) {
  const Var a(Tensor::zeros({2, 3})), b(Tensor::zeros({2, 4}));
  EXPECT_THROW(binary(BinaryOp::kAdd, a, b), Error);
  EXPECT_THROW(broadcast_shapes({2, 3, 4}, {3, 3}), Error);
  try {
    binary(BinaryOp::kMultiply, a, b);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("multiply: shapes [2, 3] and [2, 4]"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace gaze
