// Ops that move values without arithmetic on them: concatenation, sum, flatten, zero padding,
// dropout (the identity at inference).
#include <algorithm>
#include <cstring>

#include "autograd/ops.h"

namespace gaze {

Var concat_channels(const std::vector<Var>& xs) {
  if (xs.empty()) throw Error("concat_channels: no inputs");
  Shape shape = xs[0].shape();
  if (shape.empty()) throw Error("concat_channels: inputs of rank 0");
  std::vector<int64_t> widths;
  int64_t total = 0;
  for (const Var& x : xs) {
    Shape s = x.shape();
    if (s.size() != shape.size() || !std::equal(s.begin(), s.end() - 1, shape.begin())) {
      throw Error("concat_channels: shape " + to_string(s) + " does not match " + to_string(shape) +
                  " outside the last axis");
    }
    widths.push_back(s.back());
    total += s.back();
  }
  shape.back() = total;
  Tensor out(shape);
  const int64_t rows = out.size() / std::max<int64_t>(total, 1);
  int64_t offset = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const float* src = xs[i].value().data();
    const int64_t w = widths[i];
    for (int64_t r = 0; r < rows; ++r) {
      std::memcpy(out.data() + r * total + offset, src + r * w,
                  sizeof(float) * static_cast<size_t>(w));
    }
    offset += w;
  }
  return make_result(std::move(out), "concat_channels", xs,
                     [widths, rows, total](Node& self, const BackwardOptions&) {
                       int64_t off = 0;
                       for (size_t i = 0; i < widths.size(); ++i) {
                         const int64_t w = widths[i];
                         if (auto& in = self.inputs[i]) {
                           Tensor dx(in->value.shape());
                           for (int64_t r = 0; r < rows; ++r) {
                             std::memcpy(dx.data() + r * w, self.grad.data() + r * total + off,
                                         sizeof(float) * static_cast<size_t>(w));
                           }
                           in->accumulate_grad(std::move(dx));
                         }
                         off += w;
                       }
                     });
}

Var slice_channels(const Var& x, int64_t begin, int64_t count) {
  const Shape& in = x.shape();
  if (in.empty() || begin < 0 || count < 0 || begin + count > in.back()) {
    throw Error("slice_channels: channels [" + std::to_string(begin) + ", " +
                std::to_string(begin + count) + ") outside " + to_string(in));
  }
  const int64_t total = in.back();
  const int64_t rows = x.value().size() / std::max<int64_t>(total, 1);
  Shape shape = in;
  shape.back() = count;
  Tensor out(shape);
  const float* src = x.value().data();
#pragma omp parallel for if (rows * count > (int64_t{1} << 16))
  for (int64_t r = 0; r < rows; ++r) {
    std::memcpy(out.data() + r * count, src + r * total + begin,
                sizeof(float) * static_cast<size_t>(count));
  }
  return make_result(std::move(out), "slice_channels", {x},
                     [begin, count, rows, total](Node& self, const BackwardOptions&) {
                       Tensor dx = Tensor::zeros(self.inputs[0]->value.shape());
                       for (int64_t r = 0; r < rows; ++r) {
                         std::memcpy(dx.data() + r * total + begin, self.grad.data() + r * count,
                                     sizeof(float) * static_cast<size_t>(count));
                       }
                       self.inputs[0]->accumulate_grad(std::move(dx));
                     });
}

Var add(const std::vector<Var>& xs) {
  if (xs.empty()) throw Error("add: no inputs");
  for (const Var& x : xs) {
    if (x.shape() != xs[0].shape()) {
      throw Error("add: shapes " + to_string(xs[0].shape()) + " and " + to_string(x.shape()) +
                  " differ");
    }
  }
  Tensor out = xs[0].value().clone();
  for (size_t i = 1; i < xs.size(); ++i) {
    const float* src = xs[i].value().data();
    for (int64_t j = 0; j < out.size(); ++j) out.data()[j] += src[j];
  }
  return make_result(std::move(out), "add", xs, [](Node& self, const BackwardOptions&) {
    for (auto& in : self.inputs) {
      if (in) in->accumulate_grad(self.grad);  // const& overload: each input gets its own copy
    }
  });
}

Var flatten(const Var& x) {
  const Shape& s = x.shape();
  if (s.empty()) throw Error("flatten: input of rank 0");
  // NHWC storage is already in Keras' flatten order: a reshape, no copy.
  return make_result(
      x.value().reshape({s[0], -1}), "flatten", {x}, [](Node& self, const BackwardOptions&) {
        const Tensor dx = self.grad.reshape(self.inputs[0]->value.shape());
        self.inputs[0]->accumulate_grad(dx);  // const&: copied, self.grad stays this node's own
      });
}

Var zero_pad2d(const Var& x, int64_t top, int64_t bottom, int64_t left, int64_t right) {
  const Shape& s = x.shape();
  if (s.size() != 4) throw Error("zero_pad2d: expected NHWC input of rank 4, got " + to_string(s));
  if (top < 0 || bottom < 0 || left < 0 || right < 0) throw Error("zero_pad2d: negative padding");
  const int64_t n = s[0], h = s[1], w = s[2], c = s[3];
  const int64_t oh = h + top + bottom, ow = w + left + right;
  Tensor out = Tensor::zeros({n, oh, ow, c});
  const auto row_bytes = sizeof(float) * static_cast<size_t>(w * c);
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t y = 0; y < h; ++y) {
      std::memcpy(out.data() + ((b * oh + y + top) * ow + left) * c,
                  x.value().data() + (b * h + y) * w * c, row_bytes);
    }
  }
  return make_result(
      std::move(out), "zero_pad2d", {x},
      [n, h, w, c, oh, ow, top, left, row_bytes](Node& self, const BackwardOptions&) {
        Tensor dx({n, h, w, c});
        for (int64_t b = 0; b < n; ++b) {
          for (int64_t y = 0; y < h; ++y) {
            std::memcpy(dx.data() + (b * h + y) * w * c,
                        self.grad.data() + ((b * oh + y + top) * ow + left) * c, row_bytes);
          }
        }
        self.inputs[0]->accumulate_grad(std::move(dx));
      });
}

Var dropout(const Var& x) {
  return make_result(x.value(), "dropout", {x}, [](Node& self, const BackwardOptions&) {
    self.inputs[0]->accumulate_grad(self.grad);
  });
}

}  // namespace gaze
