// The vectorized multiplier-1 depthwise kernel (autograd/depthwise_kernel.cpp) against a plain
// double-precision loop written here, with TF's padding rules spelled out: sizes down to one
// pixel, channel counts that fill the 32- and 8-wide blocks and leave every tail length, strides,
// dilations, 'same' padding whose extra cell goes to the bottom/right, and the fused epilogue
// (BatchNorm's scale and bias, ReLU6, and an activation that is no clamp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "autograd/ops.h"
#include "tests/support/gradient_check.h"
#include "tests/support/naive.h"

namespace gaze {
namespace {

using testing::check_gradients;
using testing::random_tensor;

struct Case {
  int64_t n, h, w, c, kh, kw, sh, sw, dh, dw;
  bool same;
};

// TF: out = ceil(in / s) for 'same', with total padding split floor-first (the extra cell after);
// out = ceil((in - span + 1) / s) for 'valid'.
void tf_padding(int64_t in, int64_t k, int64_t s, int64_t d, bool same, int64_t* out,
                int64_t* before) {
  const int64_t span = (k - 1) * d + 1;
  if (same) {
    *out = (in + s - 1) / s;
    const int64_t total = std::max<int64_t>((*out - 1) * s + span - in, 0);
    *before = total / 2;
  } else {
    *out = (in - span + s) / s;
    *before = 0;
  }
}

double apply(const Activation& a, double v) {
  if (a.kind == ActivationKind::kRelu) return std::min(std::max(v, 0.0), double{a.max_value});
  if (a.kind == ActivationKind::kSigmoid) return 1.0 / (1.0 + std::exp(-v));
  return v;
}

Tensor reference(const Case& c, const Tensor& x, const Tensor& k, const Tensor& scale,
                 const Tensor& bias, const Activation& a) {
  int64_t oh, ow, pt, pl;
  tf_padding(c.h, c.kh, c.sh, c.dh, c.same, &oh, &pt);
  tf_padding(c.w, c.kw, c.sw, c.dw, c.same, &ow, &pl);
  Tensor out({c.n, oh, ow, c.c});
  for (int64_t b = 0; b < c.n; ++b)
    for (int64_t y = 0; y < oh; ++y)
      for (int64_t xx = 0; xx < ow; ++xx)
        for (int64_t ch = 0; ch < c.c; ++ch) {
          double s = 0.0;
          for (int64_t i = 0; i < c.kh; ++i)
            for (int64_t j = 0; j < c.kw; ++j) {
              const int64_t iy = y * c.sh - pt + i * c.dh, ix = xx * c.sw - pl + j * c.dw;
              if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
              s += static_cast<double>(x.at(b, iy, ix, ch)) * k.at(i, j, ch, 0);
            }
          if (scale.defined()) s *= scale.at(ch);
          if (bias.defined()) s += bias.at(ch);
          out.at(b, y, xx, ch) = static_cast<float>(apply(a, s));
        }
  return out;
}

ConvOptions options_of(const Case& c) {
  ConvOptions o;
  o.stride_h = c.sh;
  o.stride_w = c.sw;
  o.padding = c.same ? Padding::kSame : Padding::kValid;
  o.dilation_h = c.dh;
  o.dilation_w = c.dw;
  return o;
}

const Case kCases[] = {
    {1, 1, 1, 1, 3, 3, 1, 1, 1, 1, true},     // one pixel, one channel: every tap but one padding
    {1, 1, 1, 45, 3, 3, 2, 2, 1, 1, true},    // one pixel, 32 + 8 + 5 channels
    {2, 7, 6, 3, 3, 3, 1, 1, 1, 1, true},     // channels below one block
    {1, 9, 8, 8, 3, 3, 2, 2, 1, 1, true},     // even size, stride 2: the asymmetric pad
    {1, 8, 9, 13, 3, 3, 2, 2, 1, 1, true},    // 8 + 5
    {1, 11, 10, 40, 3, 3, 2, 1, 1, 1, true},  // 32 + 8, mixed strides
    {1, 9, 7, 33, 3, 3, 2, 2, 1, 1, false},   // 32 + 1, valid
    {1, 6, 5, 96, 3, 3, 1, 1, 1, 1, false},   // three full blocks
    {1, 10, 12, 17, 5, 5, 1, 1, 1, 1, true},  // 5x5 (EfficientNet)
    {1, 10, 12, 19, 5, 5, 2, 2, 1, 1, true}, {1, 9, 9, 11, 3, 3, 1, 1, 2, 2, true},  // dilated
    {1, 5, 7, 9, 1, 3, 1, 2, 1, 1, true},  // non-square kernel
};

TEST(DepthwiseKernel, ForwardMatchesPlainLoop) {
  uint32_t seed = 900;
  for (const Case& c : kCases) {
    SCOPED_TRACE(::testing::Message()
                 << "h " << c.h << " w " << c.w << " c " << c.c << " k " << c.kh << "x" << c.kw
                 << " s " << c.sh << "," << c.sw << " d " << c.dh << (c.same ? " same" : " valid"));
    const Tensor x = random_tensor({c.n, c.h, c.w, c.c}, seed++);
    const Tensor k = random_tensor({c.kh, c.kw, c.c, 1}, seed++);
    const Tensor b = random_tensor({c.c}, seed++);
    const Tensor s = random_tensor({c.c}, seed++);
    const Activation relu6{ActivationKind::kRelu, 0.0f, 6.0f};
    const Activation sigmoid{ActivationKind::kSigmoid};
    // Plain, folded BatchNorm with ReLU6 (the MobileNet step), scale alone with a sigmoid.
    ConvOptions plain = options_of(c);
    EXPECT_TENSOR_NEAR(depthwise_conv2d(Var(x), Var(k), Var(), plain).value(),
                       reference(c, x, k, Tensor(), Tensor(), {}), 1e-5f);
    ConvOptions folded = options_of(c);
    folded.scale = s;
    folded.activation = relu6;
    EXPECT_TENSOR_NEAR(depthwise_conv2d(Var(x), Var(k), Var(b), folded).value(),
                       reference(c, x, k, s, b, relu6), 1e-5f);
    ConvOptions scaled = options_of(c);
    scaled.scale = s;
    scaled.activation = sigmoid;
    EXPECT_TENSOR_NEAR(depthwise_conv2d(Var(x), Var(k), Var(), scaled).value(),
                       reference(c, x, k, s, Tensor(), sigmoid), 1e-5f);
  }
}

// Explicit padding (the plan's absorbed ZeroPadding2D) equals padding the input first, forward
// and backward, and is refused by conv2d, which does not implement it.
TEST(DepthwiseKernel, ExplicitPaddingIsZeroPaddingFirst) {
  uint32_t seed = 980;
  for (const int64_t channels : {5, 40}) {
    const Tensor x = random_tensor({1, 8, 7, channels}, seed++);
    const Tensor k = random_tensor({3, 3, channels, 1}, seed++);
    ConvOptions o;
    o.stride_h = o.stride_w = 2;
    o.pad_top = 0, o.pad_bottom = 1, o.pad_left = 1, o.pad_right = 2;
    const Tensor padded = zero_pad2d(Var(x), 0, 1, 1, 2).value();
    const Case c{1, padded.dim(1), padded.dim(2), channels, 3, 3, 2, 2, 1, 1, false};
    EXPECT_TENSOR_NEAR(depthwise_conv2d(Var(x), Var(k), Var(), o).value(),
                       reference(c, padded, k, Tensor(), Tensor(), {}), 1e-5f);
    check_gradients(
        [&](const std::vector<Var>& v) { return depthwise_conv2d(v[0], v[1], Var(), o); }, {x, k});
  }
  ConvOptions o;
  o.pad_top = 1;
  EXPECT_THROW(conv2d(Var(Tensor::zeros({1, 4, 4, 2})), Var(Tensor::zeros({1, 1, 2, 2})), Var(), o),
               Error);
}

// The backward is the plain loops' own; checked here on block tails, so that a forward that
// disagreed with it would show in the finite differences.
TEST(DepthwiseKernel, GradientsMatchFiniteDifferences) {
  uint32_t seed = 950;
  for (const Case& c : {kCases[4], kCases[6]}) {
    const Tensor x = random_tensor({c.n, c.h, c.w, c.c}, seed++);
    const Tensor k = random_tensor({c.kh, c.kw, c.c, 1}, seed++);
    const Tensor b = random_tensor({c.c}, seed++);
    const ConvOptions o = options_of(c);
    check_gradients(
        [&](const std::vector<Var>& v) { return depthwise_conv2d(v[0], v[1], v[2], o); },
        {x, k, b});
  }
}

}  // namespace
}  // namespace gaze
