// conv2d's Winograd path against the naive loop and against its own im2col path.
#include <gtest/gtest.h>
#include <omp.h>

#include "autograd/ops.h"
#include "tests/support/naive.h"
#include "tests/support/test_util.h"

namespace gaze {
namespace {

using testing::max_abs;
using testing::max_abs_diff;
using testing::naive_conv2d;
using testing::random_tensor;

struct Case {
  Shape x;       // [N,H,W,Cin]
  Shape kernel;  // [kh,kw,Cin,Cout]
  bool same;
  int64_t mh = 0, mw = 0;  // tile; 0: gaze's default for the kernel
};

std::string name_of(const Case& c) {
  return "x" + to_string(c.x) + " k" + to_string(c.kernel) + (c.same ? " same" : " valid") +
         " tile " + std::to_string(c.mh) + "x" + std::to_string(c.mw);
}

// Winograd's float error grows with the tile: a few 1e-6 of the output's scale for these tiles
// (im2col's is about 1e-7). 2e-5 of the largest output catches any wrong coefficient or index.
constexpr float kRelative = 2e-5f;

Tensor winograd_conv(const Case& c, const Tensor& x, const Tensor& k, const Tensor& b,
                     bool relu = false, float relu_max = INFINITY) {
  ConvOptions o{1, 1, c.same ? Padding::kSame : Padding::kValid};
  if (relu) o.activation = {.kind = ActivationKind::kRelu, .max_value = relu_max};
  o.winograd = c.mh ? winograd_kernel(k, c.mh, c.mw) : winograd_kernel(k);
  EXPECT_NE(o.winograd, nullptr);
  if (!o.winograd) return Tensor();
  return conv2d(Var(x), Var(k), b.defined() ? Var(b) : Var(), o).value();
}

// Sizes that are not multiples of the tile (partial tiles at the bottom and right), both
// paddings, every kernel shape gaze transforms, several tiles per kernel (the Cook-Toom
// construction for each), channels beyond one 64-channel block, and batch 2.
const Case kCases[] = {
    {{1, 9, 10, 3}, {3, 3, 3, 4}, true},        {{2, 9, 10, 3}, {3, 3, 3, 4}, false},
    {{1, 7, 7, 2}, {3, 3, 2, 3}, true, 2, 2},   {{1, 13, 11, 2}, {3, 3, 2, 3}, false, 6, 6},
    {{1, 13, 11, 2}, {3, 3, 2, 3}, true, 2, 4}, {{1, 11, 12, 3}, {5, 5, 3, 2}, true},
    {{1, 11, 12, 3}, {5, 5, 3, 2}, false},      {{2, 9, 17, 5}, {1, 7, 5, 6}, true},
    {{1, 17, 9, 5}, {7, 1, 5, 6}, true},        {{1, 17, 9, 5}, {7, 1, 5, 6}, false, 2, 1},
    {{1, 8, 8, 70}, {1, 3, 70, 66}, true},      {{1, 8, 8, 70}, {3, 1, 70, 66}, true},
    {{1, 8, 9, 130}, {3, 3, 130, 67}, true},
};

TEST(ConvWinograd, MatchesTheNaiveLoopAndTheIm2colPath) {
  uint32_t seed = 100;
  for (const Case& c : kCases) {
    SCOPED_TRACE(name_of(c));
    const Tensor x = random_tensor(c.x, seed++);
    const Tensor k = random_tensor(c.kernel, seed++);
    const Tensor b = random_tensor({c.kernel[3]}, seed++);
    const Tensor expected = naive_conv2d(x, k, b, 1, 1, c.same);
    const Tensor im2col =
        conv2d(Var(x), Var(k), Var(b), {1, 1, c.same ? Padding::kSame : Padding::kValid}).value();
    const Tensor y = winograd_conv(c, x, k, b);
    EXPECT_LE(max_abs_diff(y, expected), kRelative * max_abs(expected));
    EXPECT_LE(max_abs_diff(y, im2col), kRelative * max_abs(expected));
  }
}

TEST(ConvWinograd, FusedReluIsAppliedInTheOutputTransform) {
  const Case c{{1, 10, 10, 4}, {3, 3, 4, 5}, true};
  const Tensor x = random_tensor(c.x, 1), k = random_tensor(c.kernel, 2);
  const Tensor b = random_tensor({5}, 3);
  Tensor expected = naive_conv2d(x, k, b, 1, 1, true);
  const float scale = max_abs(expected);
  for (float& v : expected.values()) v = std::min(std::max(v, 0.0f), 0.5f);
  const Tensor y = winograd_conv(c, x, k, b, true, 0.5f);
  EXPECT_LE(max_abs_diff(y, expected), kRelative * scale);
}

TEST(ConvWinograd, ManyChunksOnSeveralThreads) {
  // 5 images of 120x120 with 4x4 tiles: 4500 tiles; a chunk holds at most 2^21 floats of V and M,
  // i.e. 3640 tiles of 36 positions x 16 channels, so there are two chunks of 2250 tiles, the
  // second starting inside the third image. Two threads share each pass.
  const Case c{{5, 120, 120, 8}, {3, 3, 8, 8}, true};
  const Tensor x = random_tensor(c.x, 4), k = random_tensor(c.kernel, 5);
  const Tensor expected = naive_conv2d(x, k, Tensor(), 1, 1, true);
  const int before = omp_get_max_threads();
  omp_set_num_threads(2);
  const Tensor y = winograd_conv(c, x, k, Tensor());
  omp_set_num_threads(before);
  EXPECT_LE(max_abs_diff(y, expected), kRelative * max_abs(expected));
}

TEST(ConvWinograd, BackwardIsTheIm2colPathsBackward) {
  // The forward path does not change the gradient: backward always uses the plain kernel.
  const Tensor x = random_tensor({1, 9, 9, 3}, 6), k = random_tensor({3, 3, 3, 4}, 7);
  const Tensor seed = random_tensor({1, 9, 9, 4}, 8);
  Tensor grads[2];
  for (int w = 0; w < 2; ++w) {
    ConvOptions o{1, 1, Padding::kSame};
    if (w) o.winograd = winograd_kernel(k);
    const Var input = Var(x).detach(true);
    backward(conv2d(input, Var(k), Var(), o), seed);
    grads[w] = input.grad();
  }
  EXPECT_LE(max_abs_diff(grads[0], grads[1]), 0.0f);
}

TEST(ConvWinograd, TheKernelIsRecoveredFromItsTransform) {
  uint32_t seed = 300;
  for (const Case& c : kCases) {
    SCOPED_TRACE(name_of(c));
    const Tensor k = random_tensor(c.kernel, seed++);
    const auto wk = c.mh ? winograd_kernel(k, c.mh, c.mw) : winograd_kernel(k);
    ASSERT_NE(wk, nullptr);
    EXPECT_LE(max_abs_diff(kernel_from_winograd(*wk), k), 1e-6f);
  }
}

TEST(ConvWinograd, RunsFromTheTransformAloneWhenNoGradientIsWanted) {
  const Tensor x = random_tensor({1, 9, 9, 3}, 9), k = random_tensor({3, 3, 3, 4}, 10);
  ConvOptions o{1, 1, Padding::kSame};
  o.winograd = winograd_kernel(k);
  const Tensor with_kernel = conv2d(Var(x), Var(k), Var(), o).value();
  EXPECT_LE(max_abs_diff(conv2d(Var(x), Var(), Var(), o).value(), with_kernel), 0.0f);
  EXPECT_THROW(conv2d(Var(x).detach(true), Var(), Var(), o), Error);  // backward needs it
  EXPECT_THROW(conv2d(Var(x), Var(), Var(), {1, 1, Padding::kSame}), Error);
}

TEST(ConvWinograd, KernelsWithoutATileAndMisuseAreRefused) {
  EXPECT_EQ(winograd_kernel(random_tensor({1, 1, 3, 4}, 1)), nullptr);
  EXPECT_EQ(winograd_kernel(random_tensor({2, 2, 3, 4}, 1)), nullptr);
  EXPECT_EQ(winograd_kernel(random_tensor({3, 4, 3, 4}, 1)), nullptr);
  EXPECT_THROW(winograd_kernel(random_tensor({3, 3, 3, 4}, 1), 9, 9), Error);  // 11 > 10 points
  EXPECT_THROW(winograd_kernel(random_tensor({1, 3, 3, 4}, 1), 2, 2), Error);  // kh 1, mh 2
  EXPECT_THROW(winograd_kernel(random_tensor({3, 3, 3}, 1)), Error);

  const Tensor x = random_tensor({1, 8, 8, 3}, 2), k = random_tensor({3, 3, 3, 4}, 3);
  ConvOptions strided{2, 2, Padding::kSame};
  strided.winograd = winograd_kernel(k);
  EXPECT_THROW(conv2d(Var(x), Var(k), Var(), strided), Error);
  ConvOptions other{1, 1, Padding::kSame};
  other.winograd = winograd_kernel(random_tensor({3, 3, 3, 5}, 4));
  EXPECT_THROW(conv2d(Var(x), Var(k), Var(), other), Error);
}

}  // namespace
}  // namespace gaze
