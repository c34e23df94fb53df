#include <gtest/gtest.h>

#include "autograd/ops.h"
#include "tensor/gemm.h"
#include "tests/support/gradient_check.h"
#include "tests/support/naive.h"

namespace gaze {
namespace {

using testing::check_gradients;
using testing::naive_conv2d;
using testing::random_tensor;

struct ConvCase {
  Shape x;       // [N,H,W,Cin]
  Shape kernel;  // [kh,kw,Cin,Cout]
  int64_t sh, sw;
  bool same;
  bool bias;
};

std::string name_of(const ConvCase& c) {
  return "x" + to_string(c.x) + " k" + to_string(c.kernel) + " s" + std::to_string(c.sh) +
         std::to_string(c.sw) + (c.same ? " same" : " valid") + (c.bias ? " bias" : "");
}

// Odd sizes, stride 2, both paddings, 1x7/7x1, 1x1 (the no-copy GEMM path, and strided).
const ConvCase kCases[] = {
    {{1, 7, 6, 3}, {3, 3, 3, 4}, 1, 1, false, true},
    {{2, 7, 6, 3}, {3, 3, 3, 4}, 1, 1, true, false},
    {{1, 9, 8, 2}, {3, 3, 2, 5}, 2, 2, false, true},
    {{1, 9, 8, 2}, {3, 3, 2, 5}, 2, 2, true, true},
    {{1, 8, 7, 3}, {1, 7, 3, 2}, 1, 1, true, true},
    {{1, 8, 7, 3}, {7, 1, 3, 2}, 1, 1, true, false},
    {{2, 5, 4, 6}, {1, 1, 6, 3}, 1, 1, true, true},
    {{1, 5, 5, 3}, {1, 1, 3, 2}, 2, 2, false, false},
    {{1, 6, 6, 2}, {2, 2, 2, 3}, 2, 1, true, true},
    {{1, 4, 5, 1}, {5, 5, 1, 2}, 1, 1, true, true},
};

TEST(Conv2d, ForwardMatchesNaiveLoop) {
  uint32_t seed = 1;
  for (const ConvCase& c : kCases) {
    SCOPED_TRACE(name_of(c));
    const Tensor x = random_tensor(c.x, seed++);
    const Tensor k = random_tensor(c.kernel, seed++);
    const Tensor b = c.bias ? random_tensor({c.kernel[3]}, seed++) : Tensor();
    const Var y = conv2d(Var(x), Var(k), c.bias ? Var(b) : Var(),
                         {c.sh, c.sw, c.same ? Padding::kSame : Padding::kValid});
    EXPECT_TENSOR_NEAR(y.value(), naive_conv2d(x, k, b, c.sh, c.sw, c.same), 1e-5f);
  }
}

TEST(Conv2d, LargeConvolutionsRunInSeveralIm2colChunks) {
  // k = 3*3*256 = 2304 columns: a 2 MiB chunk holds at most 227 of the 25*23 output pixels, so
  // the image takes three equal chunks of 192, the last one a pixel short; stride 2 and 'same'
  // padding for the index arithmetic across chunk borders. Batch 2 for the per-image offsets.
  const Tensor x = random_tensor({2, 49, 45, 256}, 70);
  const Tensor k = random_tensor({3, 3, 256, 5}, 71);
  const Tensor b = random_tensor({5}, 72);
  const Var y =
      conv2d(Var(x), Var(k), Var(b), {2, 2, Padding::kSame, Activation{ActivationKind::kRelu}});
  EXPECT_TENSOR_NEAR(y.value(), relu(Var(naive_conv2d(x, k, b, 2, 2, true))).value(), 1e-5f);
}

TEST(Conv2d, APackedKernelGivesTheNaiveLoopsConvolution) {
  // The compiled plan's packed kernels (ConvOptions::packed): every case of the table and a
  // several-chunk one, with a ReLU epilogue.
  uint32_t seed = 300;
  std::vector<ConvCase> cases(std::begin(kCases), std::end(kCases));
  cases.push_back({{1, 49, 45, 256}, {3, 3, 256, 40}, 2, 2, true, true});
  for (const ConvCase& c : cases) {
    SCOPED_TRACE(name_of(c));
    const Tensor x = random_tensor(c.x, seed++);
    const Tensor k = random_tensor(c.kernel, seed++);
    const Tensor b = c.bias ? random_tensor({c.kernel[3]}, seed++) : Tensor();
    ConvOptions o{c.sh, c.sw, c.same ? Padding::kSame : Padding::kValid,
                  Activation{ActivationKind::kRelu}};
    o.packed = std::make_shared<const PackedMatrix>(
        k.data(), c.kernel[0] * c.kernel[1] * c.kernel[2], c.kernel[3], c.kernel[3]);
    // The kernel Var gives a kxk kernel's shape (zeros here: the products must use the packed
    // kernel); a 1x1 one may be left undefined.
    const bool pointwise = c.kernel[0] == 1 && c.kernel[1] == 1;
    const Var kernel = pointwise ? Var() : Var(Tensor::zeros(c.kernel));
    const Var y = conv2d(Var(x), kernel, c.bias ? Var(b) : Var(), o);
    EXPECT_TENSOR_NEAR(y.value(), relu(Var(naive_conv2d(x, k, b, c.sh, c.sw, c.same))).value(),
                       1e-5f);
  }
}

TEST(Conv2d, RefusesAPackedKernelOfAnotherShapeOrWithAGradient) {
  const Tensor x = random_tensor({1, 5, 5, 3}, 1);
  const Tensor k = random_tensor({3, 3, 3, 4}, 2);
  ConvOptions o;
  o.packed = std::make_shared<const PackedMatrix>(k.data(), 9 * 3 - 1, 4, 4);  // a row short
  EXPECT_THROW(conv2d(Var(x), Var(k), Var(), o), Error);
  o.packed = std::make_shared<const PackedMatrix>(k.data(), 3, 4, 4);  // 1x1 [3, 4]
  EXPECT_THROW(conv2d(Var(x, /*requires_grad=*/true), Var(), Var(), o), Error);
}

TEST(Conv2d, SamePaddingPutsTheOddCellBottomRight) {
  // 4x4 input, 2x2 kernel, stride 1, 'same': one padded row/column, after the data. A kernel
  // that picks the top-left tap reads x[y][x] itself, so the output equals the input exactly.
  Tensor x = random_tensor({1, 4, 4, 1}, 7);
  Tensor k = Tensor::from({2, 2, 1, 1}, {1, 0, 0, 0});
  const Var y = conv2d(Var(x), Var(k), Var(), {1, 1, Padding::kSame});
  EXPECT_EQ(testing::max_abs_diff(y.value(), x), 0.0f);
}

TEST(Conv2d, GradientsMatchFiniteDifferences) {
  uint32_t seed = 100;
  for (const ConvCase& c : kCases) {
    SCOPED_TRACE(name_of(c));
    const ConvOptions opt{c.sh, c.sw, c.same ? Padding::kSame : Padding::kValid};
    check_gradients([&](const std::vector<Var>& v) { return conv2d(v[0], v[1], v[2], opt); },
                    {random_tensor(c.x, seed++), random_tensor(c.kernel, seed++),
                     c.bias ? random_tensor({c.kernel[3]}, seed++) : Tensor()});
  }
}

TEST(Conv2d, FusedReluEpilogueEqualsReluAfterTheConvolution) {
  // Values and gradients (input, kernel, bias) of the fused op against relu(conv2d(...)), whose
  // two ops each pass the finite-difference checks above: the same masks, so equal to the bit.
  // The kernel is scaled so that outputs land on both sides of 0 and of the cap.
  uint32_t seed = 300;
  for (const ConvCase& c : {kCases[0], kCases[3], kCases[6]}) {
    SCOPED_TRACE(name_of(c));
    const Padding pad = c.same ? Padding::kSame : Padding::kValid;
    const Tensor x = random_tensor(c.x, seed++), k = random_tensor(c.kernel, seed++, -2.0f, 2.0f);
    const Tensor b = c.bias ? random_tensor({c.kernel[3]}, seed++) : Tensor();
    for (float cap : {std::numeric_limits<float>::infinity(), 1.5f}) {
      const Var xf(x, true), kf(k, true), bf = c.bias ? Var(b, true) : Var();
      const Var xp(x, true), kp(k, true), bp = c.bias ? Var(b, true) : Var();
      const Var fused =
          conv2d(xf, kf, bf,
                 {c.sh, c.sw, pad, Activation{.kind = ActivationKind::kRelu, .max_value = cap}});
      const Var plain = relu(conv2d(xp, kp, bp, {c.sh, c.sw, pad}), cap);
      EXPECT_EQ(testing::max_abs_diff(fused.value(), plain.value()), 0.0f);
      int64_t clipped = 0;
      for (float v : plain.value().values()) clipped += v == 0.0f || v == cap;
      EXPECT_GT(clipped, 0) << "no output reached a kink: the masks are not exercised";
      const Tensor seed_grad = random_tensor(fused.shape(), seed++);
      backward(fused, seed_grad);
      backward(plain, seed_grad);
      EXPECT_EQ(testing::max_abs_diff(xf.grad(), xp.grad()), 0.0f);
      EXPECT_EQ(testing::max_abs_diff(kf.grad(), kp.grad()), 0.0f);
      if (c.bias) {
        EXPECT_EQ(testing::max_abs_diff(bf.grad(), bp.grad()), 0.0f);
      }
    }
  }
}

TEST(Conv2d, FusedReluFollowsTheGuidedRule) {
  const Var x(random_tensor({1, 4, 4, 2}, 400), true);
  const Var k(random_tensor({3, 3, 2, 3}, 401));
  const Var y = conv2d(x, k, Var(), {1, 1, Padding::kSame, Activation{ActivationKind::kRelu}});
  const Tensor seed = random_tensor(y.shape(), 402);
  backward(y, seed, {ReluRule::kGuided});
  const Tensor fused_grad = x.grad();
  const Var x2(x.value(), true);
  const Var y2 = relu(conv2d(x2, k, Var(), {1, 1, Padding::kSame}));
  backward(y2, seed, {ReluRule::kGuided});
  EXPECT_EQ(testing::max_abs_diff(fused_grad, x2.grad()), 0.0f);
}

TEST(Conv2d, RejectsMismatchedShapes) {
  const Var x(Tensor::zeros({1, 5, 5, 3}));
  EXPECT_THROW(conv2d(x, Var(Tensor::zeros({3, 3, 4, 2})), Var(), {}), Error);
  EXPECT_THROW(conv2d(x, Var(Tensor::zeros({3, 3, 3, 2})), Var(Tensor::zeros({3})), {}), Error);
  EXPECT_THROW(conv2d(x, Var(Tensor::zeros({7, 7, 3, 2})), Var(), {}), Error);  // valid, too big
  EXPECT_THROW(conv2d(Var(Tensor::zeros({5, 5, 3})), Var(Tensor::zeros({3, 3, 3, 2})), Var(), {}),
               Error);
}

TEST(DepthwiseConv2d, ForwardMatchesNaiveLoop) {
  struct Case {
    Shape x, k;
    int64_t s;
    bool same, bias;
  };
  const Case cases[] = {{{1, 7, 6, 3}, {3, 3, 3, 1}, 1, true, true},
                        {{2, 9, 8, 4}, {3, 3, 4, 1}, 2, true, false},
                        {{1, 9, 7, 2}, {3, 3, 2, 1}, 2, false, true},
                        {{1, 6, 5, 2}, {3, 3, 2, 3}, 1, false, true}};
  uint32_t seed = 200;
  for (const Case& c : cases) {
    const Tensor x = random_tensor(c.x, seed++), k = random_tensor(c.k, seed++);
    const Tensor b = c.bias ? random_tensor({c.k[2] * c.k[3]}, seed++) : Tensor();
    const Var y = depthwise_conv2d(Var(x), Var(k), c.bias ? Var(b) : Var(),
                                   {c.s, c.s, c.same ? Padding::kSame : Padding::kValid});
    EXPECT_TENSOR_NEAR(y.value(), testing::naive_depthwise_conv2d(x, k, b, c.s, c.s, c.same),
                       1e-5f);

    const ConvOptions opt{c.s, c.s, c.same ? Padding::kSame : Padding::kValid};
    check_gradients(
        [&](const std::vector<Var>& v) { return depthwise_conv2d(v[0], v[1], v[2], opt); },
        {x, k, b});
  }
}

TEST(DepthwiseConv2d, RejectsMismatchedShapes) {
  const Var x(Tensor::zeros({1, 5, 5, 3}));
  EXPECT_THROW(depthwise_conv2d(x, Var(Tensor::zeros({3, 3, 2, 1})), Var(), {}), Error);
  EXPECT_THROW(depthwise_conv2d(x, Var(Tensor::zeros({3, 3, 3, 2})), Var(Tensor::zeros({3})), {}),
               Error);
}

}  // namespace
}  // namespace gaze
