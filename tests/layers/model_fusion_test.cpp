// Folded Conv2D -> BatchNormalization -> ReLU chains compute what the layers compute one by one.
#include <gtest/gtest.h>

#include <optional>

#include "layers/keras_layers.h"
#include "layers/model.h"
#include "tests/support/test_util.h"

namespace gaze {
namespace {

using testing::random_tensor;

// Every weight random, reproducibly; variances in [0.5, 1.5).
void fill_random_weights(Model& m, uint32_t seed) {
  for (size_t i = 0; i < m.size(); ++i) {
    for (Weight& w : m.layer(i).weights()) {
      const bool variance = w.name == "moving_variance";
      w.value = random_tensor(w.shape, seed++, variance ? 0.5f : -1.0f, variance ? 1.5f : 1.0f);
    }
  }
}

// in -> c1 (3x3 same) -> b1 (no gamma) -> r1 (Activation relu) -> c2 (1x1, bias) -> b2 -> r2
// (ReLU6)
//    -> gap -> dense softmax
Model chain_model(int64_t height = 6, int64_t width = 5) {
  Model m;
  m.add(std::make_unique<InputLayer>("in", Shape{-1, height, width, 3}), {});
  m.add(std::make_unique<Conv2D>(
            "c1", Conv2DConfig{4, 3, 3, 1, 1, Padding::kSame, false, Activation::kLinear}),
        {"in"});
  m.add(std::make_unique<BatchNormalization>("b1", BatchNormalizationConfig{1e-3f, true, false}),
        {"c1"});
  m.add(std::make_unique<ActivationLayer>("r1", Activation::kRelu), {"b1"});
  m.add(std::make_unique<Conv2D>(
            "c2", Conv2DConfig{5, 1, 1, 1, 1, Padding::kValid, true, Activation::kLinear}),
        {"r1"});
  m.add(std::make_unique<BatchNormalization>("b2", BatchNormalizationConfig{1e-3f, true, true}),
        {"c2"});
  m.add(std::make_unique<ReLU>("r2", 0.8f), {"b2"});
  m.add(std::make_unique<GlobalAveragePooling2D>("gap"), {"r2"});
  m.add(std::make_unique<Dense>("out", DenseConfig{3, true, Activation::kSoftmax}), {"gap"});
  fill_random_weights(m, 1);
  return m;
}

TEST(ModelFusion, FoldedChainsMatchTheLayersOneByOne) {
  Model m = chain_model();
  const Tensor x = random_tensor({2, 6, 5, 3}, 50);
  std::vector<double> unfolded_times, folded_times;
  const ModelForwardResult plain = m.forward(x, {{"r1", "r2"}, {}, &unfolded_times});
  m.fold_batch_norms();
  const ModelForwardResult folded = m.forward(x, {{"r1", "r2"}, {}, &folded_times});
  EXPECT_TENSOR_NEAR(folded.output.value(), plain.output.value(), 1e-6f);
  EXPECT_TENSOR_NEAR(folded.kept.at("r1").value(), plain.kept.at("r1").value(), 1e-5f);
  EXPECT_TENSOR_NEAR(folded.kept.at("r2").value(), plain.kept.at("r2").value(), 1e-5f);
  EXPECT_TENSOR_NEAR(folded.logits.value(), plain.logits.value(), 1e-5f);
  // The folded run really ran the chain as one op: the batch norm and ReLU layers took no time.
  EXPECT_EQ(folded_times[m.index_of("b1")], 0.0);
  EXPECT_EQ(folded_times[m.index_of("r2")], 0.0);
  EXPECT_GT(unfolded_times[m.index_of("b1")], 0.0);
}

TEST(ModelFusion, WinogradRunsTheLargeStride1ChainsAndCanBeTurnedOff) {
  EXPECT_TRUE(chain_model().winograd_layers().empty());  // not folded
  Model small = chain_model();
  small.fold_batch_norms();
  EXPECT_TRUE(small.winograd_layers().empty());  // 6x5 outputs: too few tiles to gain

  Model m = chain_model(17, 16);
  m.fold_batch_norms();
  EXPECT_EQ(m.winograd_layers(), std::vector<std::string>{"c1"});  // c2 is 1x1: no tile
  const Tensor x = random_tensor({2, 17, 16, 3}, 53);
  const ModelForwardResult fast = m.forward(x, {{"r1"}, {}});
  m.use_winograd(false);
  EXPECT_TRUE(m.winograd_layers().empty());
  const ModelForwardResult plain = m.forward(x, {{"r1"}, {}});
  EXPECT_TENSOR_NEAR(fast.kept.at("r1").value(), plain.kept.at("r1").value(), 1e-5f);
  EXPECT_TENSOR_NEAR(fast.logits.value(), plain.logits.value(), 1e-5f);
  m.fold_batch_norms();  // the setting holds for later folds
  EXPECT_TRUE(m.winograd_layers().empty());
  m.use_winograd(true);
  EXPECT_EQ(m.winograd_layers(), std::vector<std::string>{"c1"});
}

TEST(ModelFusion, GradientsThroughAWinogradChainUseTheRecoveredKernel) {
  // The transform replaced c1's folded kernel; a gradient at the input flows back through c1 with
  // the kernel recovered from it, and an output inside the chain unfolds it from there too.
  Model reference = chain_model(17, 16);
  Model m = chain_model(17, 16);
  m.fold_batch_norms();
  ASSERT_EQ(m.winograd_layers().size(), 1u);
  const Tensor x = random_tensor({1, 17, 16, 3}, 54);
  const ModelForwardResult a = m.forward(x, {{}, {"in"}});
  const ModelForwardResult b = reference.forward(x, {{}, {"in"}});
  backward(a.logits, Tensor::from({1, 3}, {0, 0, 1}));
  backward(b.logits, Tensor::from({1, 3}, {0, 0, 1}));
  EXPECT_TENSOR_NEAR(a.kept.at("in").grad(), b.kept.at("in").grad(), 1e-5f);
  EXPECT_TENSOR_NEAR(m.forward(x, {{"b1"}, {}}).kept.at("b1").value(),
                     reference.forward(x, {{"b1"}, {}}).kept.at("b1").value(), 1e-5f);
  m.fold_batch_norms();  // refolding gives back c1's kernel through the transform
  EXPECT_TENSOR_NEAR(m.forward(x).output.value(), reference.forward(x).output.value(), 1e-5f);
}

// An Inception-like block: three 1x1 conv -> BN -> ReLU heads on one input (a, b, c; c's ReLU
// capped at 6, so it cannot share a and b's epilogue), b followed by a 3x3 chain, all
// concatenated, then gap -> dense softmax.
Model heads_model() {
  Model m;
  m.add(std::make_unique<InputLayer>("in", Shape{-1, 5, 4, 6}), {});
  auto chain = [&](const std::string& name, const std::string& from, int64_t filters, int64_t k,
                   std::optional<float> cap) {
    m.add(std::make_unique<Conv2D>(
              name, Conv2DConfig{filters, k, k, 1, 1, Padding::kSame, false, Activation::kLinear}),
          {from});
    m.add(std::make_unique<BatchNormalization>("bn_" + name,
                                               BatchNormalizationConfig{1e-3f, true, true}),
          {name});
    m.add(std::make_unique<ReLU>("relu_" + name, cap), {"bn_" + name});
  };
  chain("a", "in", 3, 1, std::nullopt);
  chain("b", "in", 4, 1, std::nullopt);
  chain("c", "in", 2, 1, 6.0f);
  chain("d", "relu_b", 3, 3, std::nullopt);
  m.add(std::make_unique<Concatenate>("cat"), {"relu_a", "relu_d", "relu_c"});
  m.add(std::make_unique<GlobalAveragePooling2D>("gap"), {"cat"});
  m.add(std::make_unique<Dense>("out", DenseConfig{3, true, Activation::kSoftmax}), {"gap"});
  fill_random_weights(m, 7);
  return m;
}

TEST(ModelFusion, Sibling1x1ChainsRunAsOneGemm) {
  Model reference = heads_model();
  Model m = heads_model();
  m.fold_batch_norms();
  EXPECT_EQ(m.sibling_groups(), (std::vector<std::vector<std::string>>{{"a", "b"}}));
  const Tensor x = random_tensor({2, 5, 4, 6}, 60);
  std::vector<double> seconds;
  const ModelForwardResult merged = m.forward(x, {{"relu_b"}, {}, &seconds});
  EXPECT_EQ(seconds[m.index_of("b")], 0.0);  // ran inside a's GEMM
  const ModelForwardResult plain = reference.forward(x, {{"relu_b"}, {}});
  EXPECT_TENSOR_NEAR(merged.output.value(), plain.output.value(), 1e-6f);
  EXPECT_TENSOR_NEAR(merged.kept.at("relu_b").value(), plain.kept.at("relu_b").value(), 1e-5f);
  // Gradients flow back through the merged GEMM's slices.
  const ModelForwardResult ga = m.forward(x, {{}, {"in"}});
  const ModelForwardResult gb = reference.forward(x, {{}, {"in"}});
  backward(ga.logits, Tensor::from({2, 3}, {1, 0, 0, 0, 0, 1}));
  backward(gb.logits, Tensor::from({2, 3}, {1, 0, 0, 0, 0, 1}));
  EXPECT_TENSOR_NEAR(ga.kept.at("in").grad(), gb.kept.at("in").grad(), 1e-5f);
  // An output inside one member runs the members one by one, with their kernels sliced out.
  EXPECT_TENSOR_NEAR(m.forward(x, {{"bn_a"}, {}}).kept.at("bn_a").value(),
                     reference.forward(x, {{"bn_a"}, {}}).kept.at("bn_a").value(), 1e-5f);
  EXPECT_TENSOR_NEAR(m.forward(x, {{"bn_a"}, {}}).output.value(), plain.output.value(), 1e-6f);
  m.fold_batch_norms();  // gives the members' kernels back out of the merged one, then regroups
  EXPECT_EQ(m.sibling_groups().size(), 1u);
  EXPECT_TENSOR_NEAR(m.forward(x).output.value(), plain.output.value(), 1e-6f);
}

TEST(ModelFusion, FoldingReleasesTheOriginalKernelsAndRefoldingRestoresThem) {
  Model m = chain_model();
  m.fold_batch_norms();
  EXPECT_FALSE(m.layer(m.index_of("c1")).weights()[0].value.defined());
  EXPECT_NO_THROW(m.check_weights_loaded());
  m.fold_batch_norms();  // again: gives the kernel back, then folds it again
  EXPECT_FALSE(m.layer(m.index_of("c1")).weights()[0].value.defined());
  const Tensor x = random_tensor({1, 6, 5, 3}, 52);
  EXPECT_TENSOR_NEAR(m.forward(x).output.value(), chain_model().forward(x).output.value(), 1e-5f);
}

TEST(ModelFusion, OutputsInsideAChainAreStillExact) {
  Model reference = chain_model();
  Model m = chain_model();
  m.fold_batch_norms();
  const Tensor x = random_tensor({1, 6, 5, 3}, 51);
  // Asking for the convolution's or the batch norm's own output runs that chain layer by layer,
  // with the convolution's kernel rebuilt from the folded one: float rounding only.
  for (const char* inside : {"c1", "b1", "c2", "b2"}) {
    const Tensor want = reference.forward(x, {{inside}, {}}).kept.at(inside).value();
    EXPECT_TENSOR_NEAR(m.forward(x, {{inside}, {}}).kept.at(inside).value(), want, 1e-5f) << inside;
  }
  // Gradients at a chain's end (r1) and inside one (b1) agree with the unfolded model's.
  for (const char* layer : {"r1", "b1", "c1"}) {
    const ModelForwardResult a = m.forward(x, {{}, {layer}});
    const ModelForwardResult b = reference.forward(x, {{}, {layer}});
    backward(a.logits, Tensor::from({1, 3}, {0, 1, 0}));
    backward(b.logits, Tensor::from({1, 3}, {0, 1, 0}));
    EXPECT_TENSOR_NEAR(a.kept.at(layer).grad(), b.kept.at(layer).grad(), 1e-5f) << layer;
  }
}

}  // namespace
}  // namespace gaze
