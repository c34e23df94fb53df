// Every differentiable op of gaze, and the contract they all follow.
//
// The op contract:
//  1. An op is a free function taking Vars (and plain options) and returning a new Var. Images
//     are NHWC; Keras weight layouts are used as they are (conv kernel [kh, kw, in, out], dense
//     kernel [in, out], depthwise kernel [kh, kw, in, multiplier]).
//  2. It validates its inputs first and throws gaze::Error naming the op and the shapes.
//  3. It computes its output with no side effects on its inputs.
//  4. It builds the result with make_result(). Its backward function lives in the same file,
//     next to the forward, reads self.grad and adds to self.inputs[i] only where that input is
//     recorded (non-null): a gradient nobody asked for (e.g. a parameter's, in Grad-CAM) is
//     never computed.
//  5. It captures only what its backward needs, and only when that gradient can be asked for,
//     so that a value no longer needed is freed.
//  6. tests/autograd checks its forward against a naive loop and its backward against central
//     finite differences (tests/autograd/gradient_check.h), for every input.
#pragma once

#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "autograd/activation.h"
#include "autograd/var.h"
#include "tensor/workspace.h"

namespace gaze {

class PackedMatrix;  // tensor/gemm.h

// TensorFlow padding: kValid uses only real cells; kSame pads so that out = ceil(in / stride),
// splitting the padding with the extra row/column at the bottom/right.
enum class Padding { kValid, kSame };

// conv_winograd.cpp: a stride-1 kernel transformed once for Winograd's minimal filtering
// algorithm (Lavin & Gray, 2016), which computes a tile of mh x mw outputs with
// (mh+kh-1)(mw+kw-1) multiplies per channel pair instead of mh*mw*kh*kw.
struct WinogradAxis;  // one axis' transform matrices (conv_winograd.cpp)
struct WinogradKernel {
  int64_t kh = 0, kw = 0, cin = 0, cout = 0;
  int64_t mh = 1, mw = 1;  // output tile
  Tensor u;                // [(mh+kh-1)*(mw+kw-1), cin, cout]: the transformed kernel
  std::shared_ptr<const WinogradAxis> axis_h, axis_w;  // made with u, used by every forward
};
// The transform of `kernel` [kh,kw,Cin,Cout] with gaze's tile for that kernel size: 4x4 for
// 3x3, 2x2 for 5x5, 1x4 / 4x1 for 1x3 / 3x1, 1x2 / 2x1 for 1x7 / 7x1 (kernel rows/columns
// of size 1 need no transform). Returns nullptr for kernels without a tile (e.g. 1x1, 2x2).
std::shared_ptr<const WinogradKernel> winograd_kernel(const Tensor& kernel);
// gaze's output tile {mh, mw} for a kh x kw kernel, as winograd_kernel(kernel) chooses it;
// {0, 0} when it has none.
std::pair<int64_t, int64_t> winograd_tile(int64_t kh, int64_t kw);
// The same with an explicit output tile (tests); mh must be 1 when kh is 1, likewise mw.
std::shared_ptr<const WinogradKernel> winograd_kernel(const Tensor& kernel, int64_t mh, int64_t mw);

// The kernel `wk` was made from, recovered by least squares (the filter transforms have full
// column rank): equal to it up to float rounding. Lets a caller keep only the transform.
Tensor kernel_from_winograd(const WinogradKernel& wk);

// Strides and padding of a convolution (its kernel size comes from the kernel tensor), and its
// epilogue, applied to each output while it is in cache: y = activation(conv * scale + bias),
// with `scale` per output channel (a folded BatchNormalization's gamma / sqrt(var + eps); none
// when undefined) and any elementwise activation of the table (autograd/activation.h).
// With `winograd` (the transform of this very kernel) a stride-1 convolution's forward runs
// Winograd's algorithm; its backward, and every other case, run the im2col + GEMM path. The
// kernel Var may then be undefined as long as x needs no gradient.
struct ConvOptions {
  int64_t stride_h = 1, stride_w = 1;
  Padding padding = Padding::kValid;
  Activation activation = {};
  Tensor scale = {};
  std::shared_ptr<const WinogradKernel> winograd = nullptr;
  // conv2d with one group: the kernel as the matrix [kh*kw*Cin, Cout], packed once by the
  // compiled plan, which the forward's GEMMs multiply by with no packing per call (gemm_packed).
  // The kernel Var still gives the shape; for a 1x1 kernel it may be undefined as long as x
  // needs no gradient (the plan's sibling GEMMs keep only the packed form).
  std::shared_ptr<const PackedMatrix> packed = nullptr;
  // Where the forward's scratch buffers come from; allocated per call when null.
  Workspace* workspace = nullptr;
  // Keras dilation_rate, and (conv2d only) groups: input and output channels split into
  // `groups` equal parts, part j of the output seeing only part j of the input.
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t groups = 1;
  // depthwise_conv2d only: zero rows/columns around the input before `padding` applies, which
  // is how the plan absorbs a ZeroPadding2D into the convolution after it (no padded copy).
  int64_t pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
};

// A pooling window.
struct Window2d {
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  Padding padding = Padding::kValid;
};

// Output size and leading padding of one spatial dimension, TensorFlow's rules.
struct PaddedSize {
  int64_t out = 0;
  int64_t pad_before = 0;
};
PaddedSize padded_size(int64_t in, int64_t kernel, int64_t stride, Padding padding);

// conv.cpp: 2-D convolution (cross-correlation, as in Keras). x [N,H,W,Cin], kernel
// [kh,kw,Cin/groups,Cout], bias [Cout] or undefined. Im2col + GEMM; a 1x1 stride-1 kernel is one
// GEMM on the input as it is.
Var conv2d(const Var& x, const Var& kernel, const Var& bias, const ConvOptions& options);
// depthwise_conv.cpp: each input channel convolved with its own filters. kernel
// [kh,kw,Cin,M]; output channel c*M+m; bias [Cin*M] or undefined.
Var depthwise_conv2d(const Var& x, const Var& kernel, const Var& bias, const ConvOptions& options);

// batch_norm.cpp: inference batch normalization over the last axis:
// (x - mean) / sqrt(variance + epsilon) * gamma + beta. gamma and beta may be undefined
// (Keras scale=False / center=False: Inception-v3 has no gamma).
Var batch_norm(const Var& x, const Var& mean, const Var& variance, const Var& gamma,
               const Var& beta, float epsilon);

// activations.cpp (every other activation: activation() in autograd/activation.h)
// min(max(x, 0), max_value): relu (max_value = inf) and relu6 (max_value = 6).
Var relu(const Var& x, float max_value = std::numeric_limits<float>::infinity());
Var sigmoid(const Var& x);
// Softmax over the last axis (max-subtracted, so large logits do not overflow).
Var softmax(const Var& x);

// pooling.cpp: TensorFlow semantics. With kSame, max pooling ignores padded cells and average
// pooling divides by the number of real cells in each window.
Var max_pool2d(const Var& x, const Window2d& window);
Var avg_pool2d(const Var& x, const Window2d& window);
// [N,H,W,C] -> [N,C]
Var global_avg_pool2d(const Var& x);
// [N,H,W,C] -> [N,C]: each channel's maximum; its gradient goes to the first maximum.
Var global_max_pool2d(const Var& x);

// dense.cpp: x [N,in] * kernel [in,out] + bias [out] (bias may be undefined).
Var dense(const Var& x, const Var& kernel, const Var& bias);

// layer_norm.cpp: each row (the last axis) normalized by its own mean and biased variance:
// (x - mean) / sqrt(var + epsilon) * gamma + beta. gamma and beta [C] or undefined.
Var layer_norm(const Var& x, const Var& gamma, const Var& beta, float epsilon);

// broadcast.cpp: element-wise binary ops with NumPy broadcasting: the shapes are aligned at the
// last axis, and a dimension of 1 (or a missing leading one) stretches to the other's. Maximum
// and minimum send the gradient to `a` where a >= b (a <= b), so ties go to the first input, as
// TensorFlow's Maximum and Minimum gradients do.
enum class BinaryOp { kAdd, kSubtract, kMultiply, kDivide, kMaximum, kMinimum };
Var binary(BinaryOp op, const Var& a, const Var& b);
// The shape of `binary` on a and b; throws Error naming both when they do not broadcast.
Shape broadcast_shapes(const Shape& a, const Shape& b);

// resize.cpp
// [N,H,W,C] -> [N, H*factor_h, W*factor_w, C], each cell repeated (nearest neighbour).
Var upsample_nearest2d(const Var& x, int64_t factor_h, int64_t factor_w);
// [N,H,W,C] -> [N,out_h,out_w,C] by bilinear interpolation with half-pixel centres, in float32
// exactly as TensorFlow's tf.image.resize(method='bilinear') computes it.
Var resize_bilinear(const Var& x, int64_t out_h, int64_t out_w);

// shape_ops.cpp
// Concatenation along the last (channel) axis; all other dimensions must agree.
Var concat_channels(const std::vector<Var>& xs);
// Channels [begin, begin + count) of x: the adjoint of concatenation (a merged convolution's
// output shared out among the layers it computes for).
Var slice_channels(const Var& x, int64_t begin, int64_t count);
// Element-wise sum of same-shaped tensors (Keras Add).
Var add(const std::vector<Var>& xs);
// [N, ...] -> [N, prod(...)] in row-major (NHWC) order, as Keras flattens channels-last data.
Var flatten(const Var& x);
// The same values in another shape (one dimension may be -1), row-major; no copy.
Var reshape(const Var& x, const Shape& shape);
// Output axis i is input axis perm[i] (numpy.transpose).
Var transpose(const Var& x, const std::vector<size_t>& perm);
// Zero padding of the spatial dimensions of [N,H,W,C].
Var zero_pad2d(const Var& x, int64_t top, int64_t bottom, int64_t left, int64_t right);
// Rows and columns removed from the spatial borders of [N,H,W,C]; something must remain.
Var crop2d(const Var& x, int64_t top, int64_t bottom, int64_t left, int64_t right);
// Dropout at inference time is the identity; kept as an op so models keep Keras' layer names.
Var dropout(const Var& x);

}  // namespace gaze
