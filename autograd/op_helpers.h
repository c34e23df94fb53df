// Pieces shared by several ops' implementations (not part of the public op API).
#pragma once

#include <string>

#include "autograd/ops.h"

namespace gaze {

struct ConvGeometry {
  int64_t n, h, w, c;      // input
  int64_t kh, kw, sh, sw;  // window
  int64_t oh, ow;          // output
  int64_t pad_top, pad_left;
  int64_t dh = 1, dw = 1;  // dilation: kernel taps dh rows / dw columns apart

  // Input row of output row oy and kernel row ky; may fall in the padding (< 0 or >= h).
  int64_t in_y(int64_t oy, int64_t ky) const { return oy * sh - pad_top + ky * dh; }
  int64_t in_x(int64_t ox, int64_t kx) const { return ox * sw - pad_left + kx * dw; }
};

// A dilated kernel covers (k - 1) * d + 1 cells, which TensorFlow's padding rules apply to.
inline ConvGeometry conv_geometry(const std::string& op, const Shape& x, int64_t kh, int64_t kw,
                                  int64_t sh, int64_t sw, Padding padding, int64_t dh = 1,
                                  int64_t dw = 1) {
  if (x.size() != 4) throw Error(op + ": expected NHWC input of rank 4, got " + to_string(x));
  if (dh < 1 || dw < 1) throw Error(op + ": dilation must be positive");
  const PaddedSize py = padded_size(x[1], (kh - 1) * dh + 1, sh, padding);
  const PaddedSize px = padded_size(x[2], (kw - 1) * dw + 1, sw, padding);
  return {x[0],   x[1],   x[2],          x[3],          kh, kw, sh, sw,
          py.out, px.out, py.pad_before, px.pad_before, dh, dw};
}

// conv2d's forward by Winograd's algorithm with the pre-transformed kernel (conv_winograd.cpp);
// g must have stride 1 and wk must fit g's kernel and channels.
Tensor conv2d_winograd_forward(const ConvGeometry& g, const Tensor& x, const WinogradKernel& wk,
                               const Tensor& bias, const ConvOptions& options);

// A convolution's epilogue on one row of `count` outputs (channels c0 .. c0 + count - 1):
// v = activation(v * scale + bias), scale and bias offset to c0 (either may be null).
void epilogue_row(float* v, int64_t count, const float* scale, const float* bias,
                  const Activation& activation);
// The epilogue over rows [rows, cout], in parallel.
void epilogue_rows(float* out, int64_t rows, int64_t cout, const ConvOptions& options,
                   const Tensor& bias);
// Whether a convolution can run its activation inside the op: always without gradients, and
// with them when the activation's backward can work from the output alone. Otherwise the op
// runs with a linear epilogue and applies the activation as its own op.
bool fuses_activation(const ConvOptions& options, bool needs_gradient);
// The gradient at the convolution's products, from the gradient at its output y: through the
// fused activation (from y) and the scale.
Tensor epilogue_backward(const Tensor& y, const Tensor& dy, const ConvOptions& options,
                         ReluRule rule, Tensor* d_bias_input);

// Sum of t over every axis but the last: the gradient of a per-channel bias.
Tensor channel_sums(const Tensor& t);

}  // namespace gaze
