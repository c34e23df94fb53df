// Naive loop references for the window ops, written independently of the library's own index
// arithmetic: padding is materialized explicitly, then a plain 'valid' loop runs.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>

#include "tensor/tensor.h"

namespace gaze::testing {

struct NaiveWindow {
  int64_t kh, kw, sh, sw;
  bool same;
};

// TensorFlow 'same': out = ceil(in / s), total padding max((out-1)*s + k - in, 0), the smaller
// half first.
struct NaivePads {
  int64_t top, bottom, left, right;
};
inline NaivePads naive_pads(int64_t h, int64_t w, const NaiveWindow& win) {
  if (!win.same) return {0, 0, 0, 0};
  const int64_t oh = (h + win.sh - 1) / win.sh, ow = (w + win.sw - 1) / win.sw;
  const int64_t ph = std::max<int64_t>((oh - 1) * win.sh + win.kh - h, 0);
  const int64_t pw = std::max<int64_t>((ow - 1) * win.sw + win.kw - w, 0);
  return {ph / 2, ph - ph / 2, pw / 2, pw - pw / 2};
}

// x padded with `fill`, plus a mask that is 1 on real cells.
inline std::pair<Tensor, Tensor> naive_pad(const Tensor& x, const NaivePads& p, float fill) {
  const int64_t n = x.dim(0), h = x.dim(1), w = x.dim(2), c = x.dim(3);
  Tensor out = Tensor::full({n, h + p.top + p.bottom, w + p.left + p.right, c}, fill);
  Tensor mask = Tensor::zeros(out.shape());
  for (int64_t b = 0; b < n; ++b)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t xx = 0; xx < w; ++xx)
        for (int64_t ch = 0; ch < c; ++ch) {
          out.at(b, y + p.top, xx + p.left, ch) = x.at(b, y, xx, ch);
          mask.at(b, y + p.top, xx + p.left, ch) = 1.0f;
        }
  return {out, mask};
}

inline Tensor naive_conv2d(const Tensor& x, const Tensor& k, const Tensor& bias, int64_t sh,
                           int64_t sw, bool same) {
  const int64_t kh = k.dim(0), kw = k.dim(1), cin = k.dim(2), cout = k.dim(3);
  const Tensor xp =
      naive_pad(x, naive_pads(x.dim(1), x.dim(2), {kh, kw, sh, sw, same}), 0.0f).first;
  const int64_t oh = (xp.dim(1) - kh) / sh + 1, ow = (xp.dim(2) - kw) / sw + 1;
  Tensor out({x.dim(0), oh, ow, cout});
  for (int64_t b = 0; b < x.dim(0); ++b)
    for (int64_t y = 0; y < oh; ++y)
      for (int64_t xx = 0; xx < ow; ++xx)
        for (int64_t o = 0; o < cout; ++o) {
          double s = bias.defined() ? bias.at(o) : 0.0;
          for (int64_t i = 0; i < kh; ++i)
            for (int64_t j = 0; j < kw; ++j)
              for (int64_t ci = 0; ci < cin; ++ci)
                s += static_cast<double>(xp.at(b, y * sh + i, xx * sw + j, ci)) * k.at(i, j, ci, o);
          out.at(b, y, xx, o) = static_cast<float>(s);
        }
  return out;
}

inline Tensor naive_depthwise_conv2d(const Tensor& x, const Tensor& k, const Tensor& bias,
                                     int64_t sh, int64_t sw, bool same) {
  const int64_t kh = k.dim(0), kw = k.dim(1), c = k.dim(2), m = k.dim(3);
  const Tensor xp =
      naive_pad(x, naive_pads(x.dim(1), x.dim(2), {kh, kw, sh, sw, same}), 0.0f).first;
  const int64_t oh = (xp.dim(1) - kh) / sh + 1, ow = (xp.dim(2) - kw) / sw + 1;
  Tensor out({x.dim(0), oh, ow, c * m});
  for (int64_t b = 0; b < x.dim(0); ++b)
    for (int64_t y = 0; y < oh; ++y)
      for (int64_t xx = 0; xx < ow; ++xx)
        for (int64_t ci = 0; ci < c; ++ci)
          for (int64_t q = 0; q < m; ++q) {
            double s = bias.defined() ? bias.at(ci * m + q) : 0.0;
            for (int64_t i = 0; i < kh; ++i)
              for (int64_t j = 0; j < kw; ++j)
                s += static_cast<double>(xp.at(b, y * sh + i, xx * sw + j, ci)) * k.at(i, j, ci, q);
            out.at(b, y, xx, ci * m + q) = static_cast<float>(s);
          }
  return out;
}

// kind: 'm' max, 'a' average over real cells.
inline Tensor naive_pool2d(const Tensor& x, const NaiveWindow& win, char kind) {
  const float fill = kind == 'm' ? -std::numeric_limits<float>::infinity() : 0.0f;
  const auto [xp, mask] = naive_pad(x, naive_pads(x.dim(1), x.dim(2), win), fill);
  const int64_t oh = (xp.dim(1) - win.kh) / win.sh + 1, ow = (xp.dim(2) - win.kw) / win.sw + 1;
  const int64_t c = x.dim(3);
  Tensor out({x.dim(0), oh, ow, c});
  for (int64_t b = 0; b < x.dim(0); ++b)
    for (int64_t y = 0; y < oh; ++y)
      for (int64_t xx = 0; xx < ow; ++xx)
        for (int64_t ch = 0; ch < c; ++ch) {
          double best = -INFINITY, sum = 0.0, count = 0.0;
          for (int64_t i = 0; i < win.kh; ++i)
            for (int64_t j = 0; j < win.kw; ++j) {
              const float v = xp.at(b, y * win.sh + i, xx * win.sw + j, ch);
              best = std::max<double>(best, v);
              sum += v;
              count += mask.at(b, y * win.sh + i, xx * win.sw + j, ch);
            }
          out.at(b, y, xx, ch) = static_cast<float>(kind == 'm' ? best : sum / count);
        }
  return out;
}

}  // namespace gaze::testing
