// Max, average and the global poolings, with TensorFlow's treatment of 'same' padding: padded
// cells take no part (max ignores them; average divides by the count of real cells).
#include <algorithm>
#include <limits>

#include "autograd/op_helpers.h"
#include "autograd/ops.h"

namespace gaze {
namespace {

ConvGeometry pool_geometry(const char* op, const Var& x, const Window2d& w) {
  return conv_geometry(op, x.shape(), w.kernel_h, w.kernel_w, w.stride_h, w.stride_w, w.padding);
}

// Calls f(input offset) for every real input cell of output cell (n, oy, ox), channel 0.
template <typename F>
void for_each_window_cell(const ConvGeometry& g, int64_t n, int64_t oy, int64_t ox, F&& f) {
  for (int64_t ky = 0; ky < g.kh; ++ky) {
    const int64_t iy = g.in_y(oy, ky);
    if (iy < 0 || iy >= g.h) continue;
    for (int64_t kx = 0; kx < g.kw; ++kx) {
      const int64_t ix = g.in_x(ox, kx);
      if (ix < 0 || ix >= g.w) continue;
      f(((n * g.h + iy) * g.w + ix) * g.c);
    }
  }
}

}  // namespace

Var max_pool2d(const Var& x, const Window2d& window) {
  const ConvGeometry g = pool_geometry("max_pool2d", x, window);
  const float* xd = x.value().data();
  Tensor out({g.n, g.oh, g.ow, g.c});
  // Where each output came from (input offset), kept only when a gradient can be asked for.
  std::vector<int64_t> argmax(x.requires_grad() ? static_cast<size_t>(out.size()) : 0);
#pragma omp parallel for collapse(2)
  for (int64_t n = 0; n < g.n; ++n) {
    for (int64_t oy = 0; oy < g.oh; ++oy) {
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        const int64_t o = ((n * g.oh + oy) * g.ow + ox) * g.c;
        float* od = out.data() + o;
        std::fill(od, od + g.c, -std::numeric_limits<float>::infinity());
        if (argmax.empty()) {  // no gradient wanted: a branch-free, vectorizable max
          for_each_window_cell(g, n, oy, ox, [&](int64_t i) {
            for (int64_t ch = 0; ch < g.c; ++ch) od[ch] = std::max(od[ch], xd[i + ch]);
          });
          continue;
        }
        for_each_window_cell(g, n, oy, ox, [&](int64_t i) {
          for (int64_t ch = 0; ch < g.c; ++ch) {
            if (xd[i + ch] > od[ch]) {  // strict: the first maximum wins ties
              od[ch] = xd[i + ch];
              argmax[static_cast<size_t>(o + ch)] = i + ch;
            }
          }
        });
      }
    }
  }
  return make_result(std::move(out), "max_pool2d", {x},
                     [argmax = std::move(argmax)](Node& self, const BackwardOptions&) {
                       Tensor dx = Tensor::zeros(self.inputs[0]->value.shape());
                       for (size_t o = 0; o < argmax.size(); ++o)
                         dx.data()[argmax[o]] += self.grad.data()[o];
                       self.inputs[0]->accumulate_grad(std::move(dx));
                     });
}

Var avg_pool2d(const Var& x, const Window2d& window) {
  const ConvGeometry g = pool_geometry("avg_pool2d", x, window);
  const float* xd = x.value().data();
  Tensor out({g.n, g.oh, g.ow, g.c});
#pragma omp parallel for collapse(2)
  for (int64_t n = 0; n < g.n; ++n) {
    for (int64_t oy = 0; oy < g.oh; ++oy) {
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        float* od = out.data() + ((n * g.oh + oy) * g.ow + ox) * g.c;
        std::fill(od, od + g.c, 0.0f);
        int64_t count = 0;
        for_each_window_cell(g, n, oy, ox, [&](int64_t i) {
          for (int64_t ch = 0; ch < g.c; ++ch) od[ch] += xd[i + ch];
          ++count;
        });
        const float inv = 1.0f / static_cast<float>(count);
        for (int64_t ch = 0; ch < g.c; ++ch) od[ch] *= inv;
      }
    }
  }
  return make_result(std::move(out), "avg_pool2d", {x}, [g](Node& self, const BackwardOptions&) {
    // Each output spreads its gradient evenly over the real cells it averaged.
    Tensor dx = Tensor::zeros(self.inputs[0]->value.shape());
    for (int64_t n = 0; n < g.n; ++n) {
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          const float* d = self.grad.data() + ((n * g.oh + oy) * g.ow + ox) * g.c;
          int64_t count = 0;
          for_each_window_cell(g, n, oy, ox, [&](int64_t) { ++count; });
          const float inv = 1.0f / static_cast<float>(count);
          for_each_window_cell(g, n, oy, ox, [&](int64_t i) {
            for (int64_t ch = 0; ch < g.c; ++ch) dx.data()[i + ch] += d[ch] * inv;
          });
        }
      }
    }
    self.inputs[0]->accumulate_grad(std::move(dx));
  });
}

Var global_avg_pool2d(const Var& x) {
  const Shape& s = x.shape();
  if (s.size() != 4)
    throw Error("global_avg_pool2d: expected NHWC input of rank 4, got " + to_string(s));
  const int64_t n = s[0], hw = s[1] * s[2], c = s[3];
  if (hw == 0) throw Error("global_avg_pool2d: empty spatial size in " + to_string(s));
  const float* xd = x.value().data();
  Tensor out = Tensor::zeros({n, c});
  for (int64_t b = 0; b < n; ++b) {
    float* o = out.data() + b * c;
    for (int64_t p = 0; p < hw; ++p) {
      for (int64_t ch = 0; ch < c; ++ch) o[ch] += xd[(b * hw + p) * c + ch];
    }
    for (int64_t ch = 0; ch < c; ++ch) o[ch] /= static_cast<float>(hw);
  }
  return make_result(std::move(out), "global_avg_pool2d", {x},
                     [n, hw, c](Node& self, const BackwardOptions&) {
                       Tensor dx(self.inputs[0]->value.shape());
                       for (int64_t b = 0; b < n; ++b) {
                         for (int64_t p = 0; p < hw; ++p) {
                           for (int64_t ch = 0; ch < c; ++ch) {
                             dx.data()[(b * hw + p) * c + ch] =
                                 self.grad.data()[b * c + ch] / static_cast<float>(hw);
                           }
                         }
                       }
                       self.inputs[0]->accumulate_grad(std::move(dx));
                     });
}

Var global_max_pool2d(const Var& x) {
  const Shape& s = x.shape();
  if (s.size() != 4)
    throw Error("global_max_pool2d: expected NHWC input of rank 4, got " + to_string(s));
  const int64_t n = s[0], hw = s[1] * s[2], c = s[3];
  if (hw == 0) throw Error("global_max_pool2d: empty spatial size in " + to_string(s));
  const float* xd = x.value().data();
  Tensor out({n, c});
  // Where each maximum came from, only when a gradient can be asked for.
  std::vector<int64_t> argmax(x.requires_grad() ? static_cast<size_t>(n * c) : 0);
  for (int64_t b = 0; b < n; ++b) {
    float* o = out.data() + b * c;
    std::fill(o, o + c, -std::numeric_limits<float>::infinity());
    for (int64_t p = 0; p < hw; ++p) {
      const int64_t row = (b * hw + p) * c;
      for (int64_t ch = 0; ch < c; ++ch) {
        if (xd[row + ch] > o[ch] || p == 0) {  // strict: the first maximum wins ties
          o[ch] = xd[row + ch];
          if (!argmax.empty()) argmax[static_cast<size_t>(b * c + ch)] = row + ch;
        }
      }
    }
  }
  return make_result(std::move(out), "global_max_pool2d", {x},
                     [argmax = std::move(argmax)](Node& self, const BackwardOptions&) {
                       Tensor dx = Tensor::zeros(self.inputs[0]->value.shape());
                       for (size_t o = 0; o < argmax.size(); ++o)
                         dx.data()[argmax[o]] += self.grad.data()[o];
                       self.inputs[0]->accumulate_grad(std::move(dx));
                     });
}

}  // namespace gaze
