// The engine's promises: accumulation, no recording without requires_grad, gradients at every
// node, only downstream nodes visited, no parameter gradients unless asked for.
#include <gtest/gtest.h>

#include "autograd/ops.h"
#include "tests/support/test_util.h"

namespace gaze {
namespace {

using testing::random_tensor;

TEST(Engine, SharedSubexpressionsAccumulate) {
  // y = relu(x) + relu(x) + x: dy/dx = 3 where x > 0, 1 where x < 0.
  const Var x(Tensor::from({4}, {-1.0f, 2.0f, -3.0f, 4.0f}), true);
  const Var r = relu(x);
  const Var y = add({r, r, x});
  backward(y, Tensor::full({4}, 1.0f));
  EXPECT_EQ(x.grad().at(0), 1.0f);
  EXPECT_EQ(x.grad().at(1), 3.0f);
  EXPECT_EQ(x.grad().at(2), 1.0f);
  EXPECT_EQ(x.grad().at(3), 3.0f);
  EXPECT_EQ(r.grad().at(1), 2.0f);  // readable at the intermediate node: r is used twice
  EXPECT_EQ(r.grad().at(0), 2.0f);  // d y / d r does not depend on relu's own derivative
}

TEST(Engine, NoGradRecordsNothingAndKeepsNothingAlive) {
  const Var x(random_tensor({1, 5, 5, 2}, 1));  // nothing requires a gradient
  const Var k(random_tensor({3, 3, 2, 3}, 2));
  std::weak_ptr<Node> hidden;
  Var y;
  {
    const Var h = conv2d(x, k, Var(), {1, 1, Padding::kSame});
    hidden = h.node();
    y = relu(h);
  }
  EXPECT_FALSE(y.requires_grad());
  EXPECT_TRUE(y.node()->inputs.empty());
  EXPECT_FALSE(y.node()->backward);
  EXPECT_TRUE(hidden.expired()) << "the intermediate conv output outlived its last reference";
  EXPECT_EQ(backward(y, Tensor::full(y.shape(), 1.0f)).nodes_visited, 0);
}

TEST(Engine, GradientsReadableAtIntermediateNodes) {
  // z = sum(w * relu(h)), read d z / d h at h itself.
  const Var h(Tensor::from({1, 3}, {-1.0f, 0.5f, 2.0f}), true);
  const Var w(Tensor::from({3, 1}, {1.0f, 2.0f, 3.0f}));
  const Var a = relu(h);
  const Var z = dense(a, w, Var());
  backward(z);
  EXPECT_EQ(a.grad().at(0, 0), 1.0f);
  EXPECT_EQ(a.grad().at(0, 1), 2.0f);
  EXPECT_EQ(a.grad().at(0, 2), 3.0f);
  EXPECT_EQ(h.grad().at(0, 0), 0.0f);
  EXPECT_EQ(h.grad().at(0, 2), 3.0f);
}

TEST(Engine, BackwardVisitsOnlyNodesDownstreamOfARequiredGradient) {
  // Upstream part (3 ops, no gradient wanted) -> chosen activation -> downstream part (4 ops).
  const Var x(random_tensor({1, 6, 6, 2}, 3));
  const Var k(random_tensor({3, 3, 2, 4}, 4));
  Var a = relu(conv2d(relu(x), k, Var(), {1, 1, Padding::kSame}));
  a = a.detach(/*requires_grad=*/true);  // the layer whose gradient Grad-CAM reads
  const Var d = dense(flatten(max_pool2d(a, {2, 2, 2, 2, Padding::kValid})),
                      Var(random_tensor({36, 1}, 5)), Var());
  const Var y = relu(d);
  const BackwardStats stats = backward(y);
  EXPECT_EQ(stats.nodes_visited, 4);  // max_pool2d, flatten, dense, relu
  EXPECT_TRUE(a.grad().defined());
  EXPECT_FALSE(x.grad().defined());
}

TEST(Engine, ParameterGradientsAreNotComputedUnlessRequired) {
  const Var x(random_tensor({1, 5, 5, 2}, 6), true);
  const Var k(random_tensor({3, 3, 2, 3}, 7));  // parameters: no gradient wanted
  const Var b(random_tensor({3}, 8));
  const Var y = conv2d(x, k, b, {1, 1, Padding::kValid});
  EXPECT_EQ(y.node()->inputs[1], nullptr);
  EXPECT_EQ(y.node()->inputs[2], nullptr);
  backward(y, Tensor::full(y.shape(), 1.0f));
  EXPECT_TRUE(x.grad().defined());
  EXPECT_FALSE(k.grad().defined());
  EXPECT_FALSE(b.grad().defined());
}

TEST(Engine, EachBackwardStartsFromCleanGradients) {
  const Var x(Tensor::from({1, 2}, {1.0f, 2.0f}), true);
  const Var y = dense(x, Var(Tensor::from({2, 2}, {1, 2, 3, 4})), Var());
  backward(y, Tensor::from({1, 2}, {1.0f, 0.0f}));
  EXPECT_EQ(x.grad().at(0, 1), 3.0f);
  backward(y, Tensor::from({1, 2}, {0.0f, 1.0f}));  // another "class"
  EXPECT_EQ(x.grad().at(0, 0), 2.0f);
  EXPECT_EQ(x.grad().at(0, 1), 4.0f);
}

TEST(Engine, RejectsBadSeeds) {
  const Var x(Tensor::from({2}, {1.0f, 2.0f}), true);
  const Var y = relu(x);
  EXPECT_THROW(backward(y), Error);                      // not a scalar
  EXPECT_THROW(backward(y, Tensor::zeros({3})), Error);  // wrong shape
}

}  // namespace
}  // namespace gaze
