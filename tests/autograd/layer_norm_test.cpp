// layer_norm: forward against a two-pass double loop, backward against finite differences for
// x, gamma and beta.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/ops.h"
#include "tests/support/gradient_check.h"

namespace gaze {
namespace {

using testing::check_gradients;
using testing::random_tensor;

Tensor naive_layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps) {
  const int64_t c = x.dim(-1), rows = x.size() / c;
  Tensor y(x.shape());
  for (int64_t r = 0; r < rows; ++r) {
    double mean = 0.0, var = 0.0;
    for (int64_t j = 0; j < c; ++j) mean += x.data()[r * c + j];
    mean /= static_cast<double>(c);
    for (int64_t j = 0; j < c; ++j) var += std::pow(x.data()[r * c + j] - mean, 2);
    var /= static_cast<double>(c);  // biased, as tf.nn.moments
    for (int64_t j = 0; j < c; ++j) {
      const double g = gamma.defined() ? gamma.at(j) : 1.0, b = beta.defined() ? beta.at(j) : 0.0;
      y.data()[r * c + j] =
          static_cast<float>((x.data()[r * c + j] - mean) / std::sqrt(var + eps) * g + b);
    }
  }
  return y;
}

TEST(LayerNorm, ForwardMatchesNaiveLoop) {
  // An offset mean and a small spread: the epsilon inside the square root matters.
  Tensor x = random_tensor({2, 3, 4, 6}, 1, -0.05f, 0.05f);
  for (float& v : x.values()) v += 7.0f;
  const Tensor g = random_tensor({6}, 2), b = random_tensor({6}, 3);
  for (float eps : {1e-3f, 1e-6f}) {
    EXPECT_TENSOR_NEAR(layer_norm(Var(x), Var(g), Var(b), eps).value(),
                       naive_layer_norm(x, g, b, eps), 2e-6f);
    EXPECT_TENSOR_NEAR(layer_norm(Var(x), Var(), Var(), eps).value(),
                       naive_layer_norm(x, Tensor(), Tensor(), eps), 2e-6f);
  }
  // Per row, without gamma and beta: mean 0 and variance var / (var + eps).
  const Tensor y = layer_norm(Var(x), Var(), Var(), 1e-3f).value();
  double mean = 0.0;
  for (int64_t j = 0; j < 6; ++j) mean += y.data()[j];
  EXPECT_NEAR(mean / 6.0, 0.0, 1e-6);
}

TEST(LayerNorm, GradientsMatchFiniteDifferences) {
  auto op = [](const std::vector<Var>& v) { return layer_norm(v[0], v[1], v[2], 1e-3f); };
  const Tensor x = random_tensor({2, 3, 5}, 4, -2.0f, 2.0f);
  check_gradients(op, {x, random_tensor({5}, 5), random_tensor({5}, 6)});
  check_gradients(op, {x, Tensor(), Tensor()});
  check_gradients(op, {random_tensor({3, 1, 2, 4}, 7), random_tensor({4}, 8), Tensor()});
}

TEST(LayerNorm, RejectsBadParameters) {
  const Var x(Tensor::zeros({2, 3}));
  EXPECT_THROW(layer_norm(x, Var(Tensor::zeros({4})), Var(), 1e-3f), Error);
  EXPECT_THROW(layer_norm(x, Var(), Var(Tensor::zeros({2})), 1e-3f), Error);
  EXPECT_THROW(layer_norm(x, Var(), Var(), 0.0f), Error);
}

}  // namespace
}  // namespace gaze
