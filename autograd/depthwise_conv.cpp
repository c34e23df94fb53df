// depthwise_conv2d: each input channel c has M filters of its own; output channel c*M + m
// (Keras' DepthwiseConv2D). Direct loops with the channel axis innermost, where NHWC keeps it
// contiguous: there is no GEMM to call, the work per output is only kh*kw multiply-adds.
// Multiplier 1 runs on the vectorized kernel of depthwise_kernel.cpp; other multipliers on the
// plain loops below.
#include <algorithm>

#include "autograd/depthwise_kernel.h"
#include "autograd/op_helpers.h"
#include "autograd/ops.h"

namespace gaze {
namespace {

Tensor depthwise_forward(const ConvGeometry& g, int64_t mult, const Tensor& x, const Tensor& kernel,
                         const Tensor& bias, const ConvOptions& options) {
  const int64_t cout = g.c * mult;
  Tensor out({g.n, g.oh, g.ow, cout});
  const float* xd = x.data();
  const float* kd = kernel.data();
  const float* scale = options.scale.defined() ? options.scale.data() : nullptr;
  const float* b = bias.defined() ? bias.data() : nullptr;
  if (mult == 1) {  // one filter per channel: the vectorized kernel
    depthwise_forward_m1(g, xd, kd, scale, b, options.activation, out.data());
    return out;
  }
#pragma omp parallel for collapse(2)
  for (int64_t n = 0; n < g.n; ++n) {
    for (int64_t oy = 0; oy < g.oh; ++oy) {
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        float* o = out.data() + ((n * g.oh + oy) * g.ow + ox) * cout;
        std::fill(o, o + cout, 0.0f);
        for (int64_t ky = 0; ky < g.kh; ++ky) {
          const int64_t iy = g.in_y(oy, ky);
          if (iy < 0 || iy >= g.h) continue;
          for (int64_t kx = 0; kx < g.kw; ++kx) {
            const int64_t ix = g.in_x(ox, kx);
            if (ix < 0 || ix >= g.w) continue;
            const float* xi = xd + ((n * g.h + iy) * g.w + ix) * g.c;
            const float* ki = kd + (ky * g.kw + kx) * cout;
            for (int64_t j = 0; j < cout; ++j) o[j] += xi[j / mult] * ki[j];
          }
        }
        epilogue_row(o, cout, scale, b, options.activation);
      }
    }
  }
  return out;
}

// Backward: the same loops with the multiply-add turned around. want_dx / want_dk select which
// gradients are computed.
void depthwise_backward(const ConvGeometry& g, int64_t mult, const Tensor& dout, const Tensor& x,
                        const Tensor& kernel, Tensor* dx, Tensor* dk) {
  const int64_t cout = g.c * mult;
  for (int64_t n = 0; n < g.n; ++n) {
    for (int64_t oy = 0; oy < g.oh; ++oy) {
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        const float* d = dout.data() + ((n * g.oh + oy) * g.ow + ox) * cout;
        for (int64_t ky = 0; ky < g.kh; ++ky) {
          const int64_t iy = g.in_y(oy, ky);
          if (iy < 0 || iy >= g.h) continue;
          for (int64_t kx = 0; kx < g.kw; ++kx) {
            const int64_t ix = g.in_x(ox, kx);
            if (ix < 0 || ix >= g.w) continue;
            const int64_t xoff = ((n * g.h + iy) * g.w + ix) * g.c;
            const int64_t koff = (ky * g.kw + kx) * cout;
            for (int64_t j = 0; j < cout; ++j) {
              if (dx) dx->data()[xoff + j / mult] += d[j] * kernel.data()[koff + j];
              if (dk) dk->data()[koff + j] += d[j] * x.data()[xoff + j / mult];
            }
          }
        }
      }
    }
  }
}

}  // namespace

Var depthwise_conv2d(const Var& x, const Var& kernel, const Var& bias, const ConvOptions& options) {
  const Shape& ks = kernel.shape();
  if (ks.size() != 4) {
    throw Error("depthwise_conv2d: kernel must be [kh, kw, in, multiplier], got " + to_string(ks));
  }
  if (options.pad_top < 0 || options.pad_bottom < 0 || options.pad_left < 0 ||
      options.pad_right < 0) {
    throw Error("depthwise_conv2d: explicit padding must not be negative");
  }
  // The geometry of the explicitly padded input, read from the unpadded one: taps in the extra
  // rows and columns fall outside [0, h) x [0, w) and count as zeros, as the padding would.
  Shape padded = x.shape();
  if (padded.size() == 4) {
    padded[1] += options.pad_top + options.pad_bottom;
    padded[2] += options.pad_left + options.pad_right;
  }
  ConvGeometry g =
      conv_geometry("depthwise_conv2d", padded, ks[0], ks[1], options.stride_h, options.stride_w,
                    options.padding, options.dilation_h, options.dilation_w);
  g.h = x.shape()[1];
  g.w = x.shape()[2];
  g.pad_top += options.pad_top;
  g.pad_left += options.pad_left;
  if (ks[2] != g.c) {
    throw Error("depthwise_conv2d: kernel " + to_string(ks) + " expects " + std::to_string(ks[2]) +
                " channels, input " + to_string(x.shape()) + " has " + std::to_string(g.c));
  }
  const int64_t mult = ks[3];
  if (bias.defined() && bias.shape() != Shape{g.c * mult}) {
    throw Error("depthwise_conv2d: bias must be [" + std::to_string(g.c * mult) + "], got " +
                to_string(bias.shape()));
  }
  if (options.scale.defined() && options.scale.shape() != Shape{g.c * mult}) {
    throw Error("depthwise_conv2d: scale must be [" + std::to_string(g.c * mult) + "], got " +
                to_string(options.scale.shape()));
  }
  const bool needs_gradient =
      x.requires_grad() || kernel.requires_grad() || (bias.defined() && bias.requires_grad());
  if (!fuses_activation(options, needs_gradient)) {
    ConvOptions linear = options;
    linear.activation = {};
    return activation(depthwise_conv2d(x, kernel, bias, linear), options.activation);
  }
  Tensor out = depthwise_forward(g, mult, x.value(), kernel.value(),
                                 bias.defined() ? bias.value() : Tensor(), options);
  Tensor k_saved = x.requires_grad() ? kernel.value() : Tensor();
  Tensor x_saved = kernel.requires_grad() ? x.value() : Tensor();
  ConvOptions saved = options;
  saved.workspace = nullptr;
  saved.winograd = nullptr;
  return make_result(
      std::move(out), "depthwise_conv2d", {x, kernel, bias},
      [g, mult, k_saved, x_saved, options = saved](Node& self, const BackwardOptions& bo) {
        const auto& in = self.inputs;
        Tensor d_bias;
        const Tensor dy = epilogue_backward(self.value, self.grad, options, bo.relu_rule,
                                            in[2] ? &d_bias : nullptr);
        Tensor dx = in[0] ? Tensor::zeros(in[0]->value.shape()) : Tensor();
        Tensor dk = in[1] ? Tensor::zeros(in[1]->value.shape()) : Tensor();
        depthwise_backward(g, mult, dy, x_saved, k_saved, in[0] ? &dx : nullptr,
                           in[1] ? &dk : nullptr);
        if (in[0]) in[0]->accumulate_grad(std::move(dx));
        if (in[1]) in[1]->accumulate_grad(std::move(dk));
        if (in[2]) in[2]->accumulate_grad(channel_sums(d_bias));
      });
}

}  // namespace gaze
