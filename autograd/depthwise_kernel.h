// The depthwise convolution's forward kernel for one filter per channel (multiplier 1, every
// depthwise layer of MobileNet and EfficientNet), internal to autograd.
#pragma once

#include "autograd/op_helpers.h"

namespace gaze {

// out[n, oy, ox, c] = epilogue(sum over taps of x[n, iy, ix, c] * kernel[ky, kx, c]), with the
// epilogue of `options` (scale, bias, activation) applied while the sums are still in registers.
// Taps in the padding read a zero row, as TF's 'same' padding (asymmetric: the extra cell at the
// bottom/right) does. Vectorized over channels, which NHWC keeps contiguous in x, the kernel and
// out; parallel over output rows, each of which reads only kh input rows, so the rows a thread
// works on stay in its L2 (at most 3 x 112 x 96 floats = 129 KiB in MobileNetV2).
void depthwise_forward_m1(const ConvGeometry& g, const float* x, const float* kernel,
                          const float* scale, const float* bias, const Activation& activation,
                          float* out);

}  // namespace gaze
