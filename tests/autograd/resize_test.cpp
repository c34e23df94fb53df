// Nearest and bilinear resizing: forward against loops written from the definitions, backward
// against finite differences.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/ops.h"
#include "tests/support/gradient_check.h"

namespace gaze {
namespace {

using testing::check_gradients;
using testing::random_tensor;

TEST(UpsampleNearest2d, RepeatsEachCell) {
  const Tensor x = random_tensor({2, 3, 4, 3}, 1);
  const Tensor y = upsample_nearest2d(Var(x), 2, 3).value();
  ASSERT_EQ(y.shape(), (Shape{2, 6, 12, 3}));
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t i = 0; i < 6; ++i)
      for (int64_t j = 0; j < 12; ++j)
        for (int64_t c = 0; c < 3; ++c) EXPECT_EQ(y.at(n, i, j, c), x.at(n, i / 2, j / 3, c));
  check_gradients([](const std::vector<Var>& v) { return upsample_nearest2d(v[0], 2, 3); },
                  {random_tensor({1, 2, 3, 2}, 2)});
  EXPECT_THROW(upsample_nearest2d(Var(x), 0, 2), Error);
}

// Half-pixel bilinear sampling in double, from the definition: output cell i covers the input
// coordinate (i + 1/2) * in/out - 1/2, clamped to the border cells.
Tensor naive_bilinear(const Tensor& x, int64_t oh, int64_t ow) {
  const int64_t h = x.dim(1), w = x.dim(2);
  Tensor y({x.dim(0), oh, ow, x.dim(3)});
  auto source = [](int64_t i, int64_t in, int64_t out, int64_t& lo, int64_t& hi, double& f) {
    const double s = (i + 0.5) * static_cast<double>(in) / static_cast<double>(out) - 0.5;
    const double fl = std::floor(s);
    f = s - fl;
    lo = std::clamp<int64_t>(static_cast<int64_t>(fl), 0, in - 1);
    hi = std::clamp<int64_t>(static_cast<int64_t>(fl) + 1, 0, in - 1);
  };
  for (int64_t n = 0; n < x.dim(0); ++n)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j)
        for (int64_t c = 0; c < x.dim(3); ++c) {
          int64_t y0, y1, x0, x1;
          double fy, fx;
          source(i, h, oh, y0, y1, fy);
          source(j, w, ow, x0, x1, fx);
          const double v = (1 - fy) * ((1 - fx) * x.at(n, y0, x0, c) + fx * x.at(n, y0, x1, c)) +
                           fy * ((1 - fx) * x.at(n, y1, x0, c) + fx * x.at(n, y1, x1, c));
          y.at(n, i, j, c) = static_cast<float>(v);
        }
  return y;
}

TEST(ResizeBilinear, UpsamplingByTwoWeighsNeighboursOneToThree) {
  // In 1-D, doubling [a, b] samples at -0.25, 0.25, 0.75, 1.25: a, (3a + b)/4, (a + 3b)/4, b.
  const Tensor x = Tensor::from({1, 1, 2, 1}, {1.0f, 5.0f});
  const Tensor y = resize_bilinear(Var(x), 1, 4).value();
  EXPECT_FLOAT_EQ(y.at(0, 0, 0, 0), 1.0f);
  EXPECT_FLOAT_EQ(y.at(0, 0, 1, 0), 2.0f);
  EXPECT_FLOAT_EQ(y.at(0, 0, 2, 0), 4.0f);
  EXPECT_FLOAT_EQ(y.at(0, 0, 3, 0), 5.0f);
}

TEST(ResizeBilinear, ForwardMatchesHalfPixelDefinition) {
  const Tensor x = random_tensor({2, 3, 5, 2}, 3);
  for (auto [oh, ow] : {std::pair<int64_t, int64_t>{6, 10}, {9, 15}, {3, 5}, {7, 4}, {1, 1}}) {
    EXPECT_TENSOR_NEAR(resize_bilinear(Var(x), oh, ow).value(), naive_bilinear(x, oh, ow), 1e-6f)
        << oh << "x" << ow;
  }
}

TEST(ResizeBilinear, GradientsMatchFiniteDifferences) {
  for (auto [oh, ow] : {std::pair<int64_t, int64_t>{6, 8}, {5, 3}, {2, 7}}) {
    check_gradients([oh, ow](const std::vector<Var>& v) { return resize_bilinear(v[0], oh, ow); },
                    {random_tensor({2, 3, 4, 2}, 4)});
  }
  EXPECT_THROW(resize_bilinear(Var(Tensor::zeros({1, 2, 2})), 4, 4), Error);
  EXPECT_THROW(resize_bilinear(Var(Tensor::zeros({1, 2, 2, 1})), 0, 4), Error);
}

}  // namespace
}  // namespace gaze
