#include <gtest/gtest.h>

#include "autograd/ops.h"
#include "tests/support/gradient_check.h"
#include "tests/support/naive.h"

namespace gaze {
namespace {

using testing::check_gradients;

struct PoolCase {
  Shape x;
  Window2d w;
};

const PoolCase kCases[] = {
    {{1, 7, 6, 3}, {3, 3, 2, 2, Padding::kValid}}, {{2, 7, 6, 2}, {3, 3, 2, 2, Padding::kSame}},
    {{1, 6, 6, 2}, {3, 3, 1, 1, Padding::kSame}},  {{1, 8, 8, 2}, {2, 2, 2, 2, Padding::kValid}},
    {{1, 5, 7, 1}, {3, 2, 1, 2, Padding::kSame}},
};

testing::NaiveWindow naive(const Window2d& w) {
  return {w.kernel_h, w.kernel_w, w.stride_h, w.stride_w, w.padding == Padding::kSame};
}

TEST(MaxPool2d, ForwardMatchesNaiveLoop) {
  uint32_t seed = 1;
  for (const PoolCase& c : kCases) {
    const Tensor x = testing::random_tensor(c.x, seed++);
    EXPECT_TENSOR_NEAR(max_pool2d(Var(x), c.w).value(), testing::naive_pool2d(x, naive(c.w), 'm'),
                       0.0f);
  }
}

TEST(MaxPool2d, GradientsMatchFiniteDifferences) {
  uint32_t seed = 10;
  for (const PoolCase& c : kCases) {
    check_gradients([&](const std::vector<Var>& v) { return max_pool2d(v[0], c.w); },
                    {testing::distinct_tensor(c.x, seed++)});
  }
}

TEST(AvgPool2d, ForwardMatchesNaiveLoopCountingRealCellsOnly) {
  uint32_t seed = 20;
  for (const PoolCase& c : kCases) {
    const Tensor x = testing::random_tensor(c.x, seed++);
    EXPECT_TENSOR_NEAR(avg_pool2d(Var(x), c.w).value(), testing::naive_pool2d(x, naive(c.w), 'a'),
                       1e-6f);
  }
  // The corner of a 3x3 'same' average over ones is 1 (4 real cells / 4), not 4/9 as it would
  // be if padded zeros were counted.
  const Var ones(Tensor::full({1, 4, 4, 1}, 1.0f));
  EXPECT_FLOAT_EQ(avg_pool2d(ones, {3, 3, 1, 1, Padding::kSame}).value().at(0, 0, 0, 0), 1.0f);
}

TEST(AvgPool2d, GradientsMatchFiniteDifferences) {
  uint32_t seed = 30;
  for (const PoolCase& c : kCases) {
    check_gradients([&](const std::vector<Var>& v) { return avg_pool2d(v[0], c.w); },
                    {testing::random_tensor(c.x, seed++)});
  }
}

TEST(GlobalAvgPool2d, ForwardAndGradient) {
  const Tensor x = testing::random_tensor({2, 3, 5, 4}, 40);
  const Tensor y = global_avg_pool2d(Var(x)).value();
  ASSERT_EQ(y.shape(), (Shape{2, 4}));
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t c = 0; c < 4; ++c) {
      double s = 0.0;
      for (int64_t i = 0; i < 3; ++i)
        for (int64_t j = 0; j < 5; ++j) s += x.at(b, i, j, c);
      EXPECT_NEAR(y.at(b, c), s / 15.0, 1e-6);
    }
  check_gradients([](const std::vector<Var>& v) { return global_avg_pool2d(v[0]); }, {x});
}

TEST(GlobalMaxPool2d, ForwardGradientAndTies) {
  const Tensor x = testing::distinct_tensor({2, 3, 5, 4}, 41);
  const Tensor y = global_max_pool2d(Var(x)).value();
  ASSERT_EQ(y.shape(), (Shape{2, 4}));
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t c = 0; c < 4; ++c) {
      float m = -INFINITY;
      for (int64_t i = 0; i < 3; ++i)
        for (int64_t j = 0; j < 5; ++j) m = std::max(m, x.at(b, i, j, c));
      EXPECT_EQ(y.at(b, c), m);
    }
  check_gradients([](const std::vector<Var>& v) { return global_max_pool2d(v[0]); }, {x});
  // A tie: the gradient goes to the first maximum in row-major order only.
  const Var t(Tensor::from({1, 2, 2, 1}, {1.0f, 3.0f, 3.0f, -INFINITY}), true);
  backward(global_max_pool2d(t), Tensor::full({1, 1}, 1.0f));
  EXPECT_EQ(t.grad().at(0, 0, 1, 0), 1.0f);
  EXPECT_EQ(t.grad().at(0, 1, 0, 0), 0.0f);
  EXPECT_THROW(global_max_pool2d(Var(Tensor::zeros({2, 3}))), Error);
}

TEST(Pooling, RejectsBadInput) {
  EXPECT_THROW(max_pool2d(Var(Tensor::zeros({1, 2, 2, 1})), {3, 3, 1, 1, Padding::kValid}), Error);
  EXPECT_THROW(avg_pool2d(Var(Tensor::zeros({2, 2, 1})), {1, 1, 1, 1, Padding::kValid}), Error);
  EXPECT_THROW(global_avg_pool2d(Var(Tensor::zeros({4, 3}))), Error);
}

}  // namespace
}  // namespace gaze
