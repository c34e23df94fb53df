// Dilated and grouped convolutions (Keras dilation_rate and groups) against a naive loop written
// here from the definitions, and their gradients against finite differences.
#include <gtest/gtest.h>

#include "autograd/ops.h"
#include "tests/support/gradient_check.h"

namespace gaze {
namespace {

using testing::check_gradients;
using testing::random_tensor;

struct Case {
  Shape x;       // [N, H, W, C]
  Shape kernel;  // [kh, kw, C / groups, Cout]
  int64_t dh, dw, groups;
  bool same;
};

// TensorFlow's padding on the dilated extent (k - 1) * d + 1; the odd cell after.
int64_t pad_before(int64_t in, int64_t k, int64_t d, bool same, int64_t* out) {
  const int64_t extent = (k - 1) * d + 1;
  if (!same) {
    *out = in - extent + 1;
    return 0;
  }
  *out = in;
  return std::max<int64_t>(in - 1 + extent - in, 0) / 2;
}

// out[n, y, x, o] = sum over taps and the group's channels of x[n, y + i*dh - pt, x + j*dw - pl,
// g*cg + c] * k[i, j, c, o], g = o / (Cout / groups).
Tensor naive(const Tensor& x, const Tensor& k, const Case& c) {
  int64_t oh = 0, ow = 0;
  const int64_t pt = pad_before(x.dim(1), k.dim(0), c.dh, c.same, &oh);
  const int64_t pl = pad_before(x.dim(2), k.dim(1), c.dw, c.same, &ow);
  const int64_t cg = k.dim(2), cout = k.dim(3), og = cout / c.groups;
  Tensor out({x.dim(0), oh, ow, cout});
  for (int64_t n = 0; n < x.dim(0); ++n)
    for (int64_t y = 0; y < oh; ++y)
      for (int64_t xx = 0; xx < ow; ++xx)
        for (int64_t o = 0; o < cout; ++o) {
          double s = 0.0;
          for (int64_t i = 0; i < k.dim(0); ++i)
            for (int64_t j = 0; j < k.dim(1); ++j) {
              const int64_t iy = y + i * c.dh - pt, ix = xx + j * c.dw - pl;
              if (iy < 0 || iy >= x.dim(1) || ix < 0 || ix >= x.dim(2)) continue;
              for (int64_t ci = 0; ci < cg; ++ci)
                s += static_cast<double>(x.at(n, iy, ix, (o / og) * cg + ci)) * k.at(i, j, ci, o);
            }
          out.at(n, y, xx, o) = static_cast<float>(s);
        }
  return out;
}

const Case kCases[] = {
    {{1, 9, 8, 3}, {3, 3, 3, 4}, 2, 2, 1, true},    // dilated, 'same'
    {{2, 9, 10, 2}, {3, 2, 2, 3}, 2, 3, 1, false},  // dilated, 'valid', rectangular
    {{1, 6, 7, 4}, {3, 3, 2, 6}, 1, 1, 2, true},    // 2 groups
    {{1, 5, 5, 6}, {1, 1, 2, 3}, 1, 1, 3, false},   // grouped 1x1 (no single-GEMM path)
    {{2, 8, 8, 4}, {3, 3, 1, 8}, 2, 1, 4, true},    // groups = channels, dilated
};

ConvOptions options(const Case& c) {
  ConvOptions o{1, 1, c.same ? Padding::kSame : Padding::kValid};
  o.dilation_h = c.dh, o.dilation_w = c.dw, o.groups = c.groups;
  return o;
}

TEST(ConvDilationGroups, ForwardMatchesTheNaiveLoop) {
  uint32_t seed = 1;
  for (const Case& c : kCases) {
    const Tensor x = random_tensor(c.x, seed++), k = random_tensor(c.kernel, seed++);
    EXPECT_TENSOR_NEAR(conv2d(Var(x), Var(k), Var(), options(c)).value(), naive(x, k, c), 1e-5f);
  }
}

TEST(ConvDilationGroups, GradientsMatchFiniteDifferences) {
  uint32_t seed = 50;
  for (const Case& c : kCases) {
    const ConvOptions o = options(c);
    check_gradients([&](const std::vector<Var>& v) { return conv2d(v[0], v[1], v[2], o); },
                    {random_tensor(c.x, seed++), random_tensor(c.kernel, seed++),
                     random_tensor({c.kernel[3]}, seed++)});
  }
}

TEST(ConvDilationGroups, DilatedDepthwiseIsGroupsEqualToChannels) {
  // A depthwise convolution with multiplier 2 is a grouped convolution with one group per
  // channel whose kernel [kh, kw, 1, C*2] holds the depthwise kernel [kh, kw, C, 2].
  const Tensor x = random_tensor({1, 9, 9, 3}, 7), dk = random_tensor({3, 3, 3, 2}, 8);
  ConvOptions o{1, 1, Padding::kSame};
  o.dilation_h = 2, o.dilation_w = 3;
  ConvOptions grouped = o;
  grouped.groups = 3;
  const Tensor depthwise = depthwise_conv2d(Var(x), Var(dk), Var(), o).value();
  const Tensor as_groups = conv2d(Var(x), Var(dk.reshape({3, 3, 1, 6})), Var(), grouped).value();
  EXPECT_TENSOR_NEAR(depthwise, as_groups, 1e-5f);
  check_gradients([&](const std::vector<Var>& v) { return depthwise_conv2d(v[0], v[1], v[2], o); },
                  {x, dk, random_tensor({6}, 9)});
}

TEST(ConvDilationGroups, BadGroupsAreErrors) {
  ConvOptions o;
  o.groups = 2;
  EXPECT_THROW(conv2d(Var(Tensor::zeros({1, 4, 4, 3})), Var(Tensor::zeros({1, 1, 1, 4})), Var(), o),
               Error);  // 3 channels into 2 groups
  EXPECT_THROW(conv2d(Var(Tensor::zeros({1, 4, 4, 4})), Var(Tensor::zeros({1, 1, 2, 3})), Var(), o),
               Error);  // 3 outputs into 2 groups
}

}  // namespace
}  // namespace gaze
