// Spatial resizing of [N,H,W,C]: nearest-neighbour upsampling by whole factors and bilinear
// resizing with half-pixel centres, each with its adjoint as backward.
#include <algorithm>
#include <cmath>
#include <vector>

#include "autograd/ops.h"

namespace gaze {
namespace {

void check_image(const char* op, const Shape& s) {
  if (s.size() != 4) {
    throw Error(std::string(op) + ": expected NHWC input of rank 4, got " + to_string(s));
  }
}

// One output row's (or column's) two source rows and the weight of the second, as TensorFlow's
// resize_bilinear_op.cc computes them (compute_interpolation_weights with HalfPixelScaler), in
// float32: in = (i + 0.5) * (in_size / out_size) - 0.5, lower = max(floor(in), 0),
// upper = min(ceil(in), in_size - 1), lerp = in - floor(in).
struct Tap {
  int64_t lower, upper;
  float lerp;
};

std::vector<Tap> taps(int64_t out_size, int64_t in_size) {
  const float scale = static_cast<float>(in_size) / static_cast<float>(out_size);
  std::vector<Tap> t(static_cast<size_t>(out_size));
  for (int64_t i = 0; i < out_size; ++i) {
    const float in = (static_cast<float>(i) + 0.5f) * scale - 0.5f;
    const float in_f = std::floor(in);
    t[static_cast<size_t>(i)] = {std::max(static_cast<int64_t>(in_f), int64_t{0}),
                                 std::min(static_cast<int64_t>(std::ceil(in)), in_size - 1),
                                 in - in_f};
  }
  return t;
}

}  // namespace

Var upsample_nearest2d(const Var& x, int64_t factor_h, int64_t factor_w) {
  const Shape& s = x.shape();
  check_image("upsample_nearest2d", s);
  if (factor_h <= 0 || factor_w <= 0) throw Error("upsample_nearest2d: factors must be positive");
  const int64_t n = s[0], h = s[1], w = s[2], c = s[3];
  const int64_t oh = h * factor_h, ow = w * factor_w;
  Tensor out({n, oh, ow, c});
  const float* xd = x.value().data();
#pragma omp parallel for collapse(2) if (out.size() > (int64_t{1} << 16))
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t y = 0; y < oh; ++y) {
      const float* src = xd + (b * h + y / factor_h) * w * c;
      float* dst = out.data() + (b * oh + y) * ow * c;
      for (int64_t ox = 0; ox < ow; ++ox) std::copy_n(src + (ox / factor_w) * c, c, dst + ox * c);
    }
  }
  return make_result(std::move(out), "upsample_nearest2d", {x},
                     [n, h, w, c, oh, ow, factor_h, factor_w](Node& self, const BackwardOptions&) {
                       // Each input cell receives the sum over the block it was copied to.
                       Tensor dx = Tensor::zeros({n, h, w, c});
                       for (int64_t b = 0; b < n; ++b)
                         for (int64_t y = 0; y < oh; ++y)
                           for (int64_t ox = 0; ox < ow; ++ox) {
                             float* d =
                                 dx.data() + ((b * h + y / factor_h) * w + ox / factor_w) * c;
                             const float* g = self.grad.data() + ((b * oh + y) * ow + ox) * c;
                             for (int64_t ch = 0; ch < c; ++ch) d[ch] += g[ch];
                           }
                       self.inputs[0]->accumulate_grad(std::move(dx));
                     });
}

Var resize_bilinear(const Var& x, int64_t out_h, int64_t out_w) {
  const Shape& s = x.shape();
  check_image("resize_bilinear", s);
  if (out_h <= 0 || out_w <= 0) throw Error("resize_bilinear: output size must be positive");
  if (s[1] <= 0 || s[2] <= 0) throw Error("resize_bilinear: empty input " + to_string(s));
  const int64_t n = s[0], h = s[1], w = s[2], c = s[3];
  const std::vector<Tap> ys = taps(out_h, h), xs = taps(out_w, w);
  Tensor out({n, out_h, out_w, c});
  const float* xd = x.value().data();
#pragma omp parallel for collapse(2) if (out.size() > (int64_t{1} << 16))
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t oy = 0; oy < out_h; ++oy) {
      const Tap& ty = ys[static_cast<size_t>(oy)];
      const float* top = xd + (b * h + ty.lower) * w * c;
      const float* bottom = xd + (b * h + ty.upper) * w * c;
      float* o = out.data() + (b * out_h + oy) * out_w * c;
      for (int64_t ox = 0; ox < out_w; ++ox) {
        const Tap& tx = xs[static_cast<size_t>(ox)];
        const int64_t l = tx.lower * c, r = tx.upper * c;
        for (int64_t ch = 0; ch < c; ++ch) {
          // TensorFlow's compute_lerp, operation for operation.
          const float t = top[l + ch] + (top[r + ch] - top[l + ch]) * tx.lerp;
          const float bo = bottom[l + ch] + (bottom[r + ch] - bottom[l + ch]) * tx.lerp;
          o[ox * c + ch] = t + (bo - t) * ty.lerp;
        }
      }
    }
  }
  return make_result(std::move(out), "resize_bilinear", {x},
                     [n, h, w, c, out_h, out_w, ys, xs](Node& self, const BackwardOptions&) {
                       // The adjoint: each output's gradient goes to its four sources with their
                       // weights (where lower == upper, both weights land on the same cell).
                       Tensor dx = Tensor::zeros({n, h, w, c});
                       for (int64_t b = 0; b < n; ++b)
                         for (int64_t oy = 0; oy < out_h; ++oy) {
                           const Tap& ty = ys[static_cast<size_t>(oy)];
                           float* top = dx.data() + (b * h + ty.lower) * w * c;
                           float* bottom = dx.data() + (b * h + ty.upper) * w * c;
                           const float* g = self.grad.data() + (b * out_h + oy) * out_w * c;
                           for (int64_t ox = 0; ox < out_w; ++ox) {
                             const Tap& tx = xs[static_cast<size_t>(ox)];
                             const int64_t l = tx.lower * c, r = tx.upper * c;
                             const float wy1 = ty.lerp, wy0 = 1.0f - ty.lerp;
                             const float wx1 = tx.lerp, wx0 = 1.0f - tx.lerp;
                             for (int64_t ch = 0; ch < c; ++ch) {
                               const float d = g[ox * c + ch];
                               top[l + ch] += d * wy0 * wx0;
                               top[r + ch] += d * wy0 * wx1;
                               bottom[l + ch] += d * wy1 * wx0;
                               bottom[r + ch] += d * wy1 * wx1;
                             }
                           }
                         }
                       self.inputs[0]->accumulate_grad(std::move(dx));
                     });
}

}  // namespace gaze
