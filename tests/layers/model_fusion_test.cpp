// The compiled plan's fused steps (Conv2D/DepthwiseConv2D -> BatchNormalization -> activation,
// Winograd, sibling GEMMs) compute what the layers compute one by one. The reference is the same
// model asked for every layer's output, which leaves the plan nothing to fuse.
#include <gtest/gtest.h>

#include <cmath>
#include <optional>

#include "layers/keras_layers.h"
#include "layers/model.h"
#include "layers/registry.h"
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

std::vector<std::string> every_layer(const Model& m) {
  std::vector<std::string> names;
  for (size_t i = 0; i < m.size(); ++i) names.push_back(m.layer(i).name());
  return names;
}

// The model's outputs with every layer run as it is.
ModelForwardResult layer_by_layer(const Model& m, const Tensor& x,
                                  std::vector<std::string> grad_layers = {}) {
  return m.forward(x, {every_layer(m), std::move(grad_layers)});
}

std::unique_ptr<Layer> relu_layer(const std::string& name, std::optional<float> cap) {
  Activation a{ActivationKind::kRelu};
  if (cap) a.max_value = *cap;
  return std::make_unique<ActivationLayer>(name, a, "ReLU");
}

// in -> c1 (3x3 same) -> b1 (no gamma) -> r1 (Activation relu) -> c2 (1x1, bias) -> b2 -> r2
// (ReLU6)
//    -> gap -> dense softmax
Model chain_model(int64_t height = 6, int64_t width = 5) {
  Model m;
  m.add(std::make_unique<InputLayer>("in", Shape{-1, height, width, 3}), {});
  m.add(std::make_unique<Conv2D>("c1",
                                 Conv2DConfig{4, 3, 3, 1, 1, Padding::kSame, false, Activation{}}),
        {"in"});
  m.add(std::make_unique<BatchNormalization>("b1", BatchNormalizationConfig{1e-3f, true, false}),
        {"c1"});
  m.add(std::make_unique<ActivationLayer>("r1", Activation{ActivationKind::kRelu}), {"b1"});
  m.add(std::make_unique<Conv2D>("c2",
                                 Conv2DConfig{5, 1, 1, 1, 1, Padding::kValid, true, Activation{}}),
        {"r1"});
  m.add(std::make_unique<BatchNormalization>("b2", BatchNormalizationConfig{1e-3f, true, true}),
        {"c2"});
  m.add(relu_layer("r2", 0.8f), {"b2"});
  m.add(std::make_unique<GlobalAveragePooling2D>("gap"), {"r2"});
  m.add(std::make_unique<Dense>("out", DenseConfig{3, true, Activation{ActivationKind::kSoftmax}}),
        {"gap"});
  fill_random_weights(m, 1);
  return m;
}

TEST(ModelFusion, FusedChainsMatchTheLayersOneByOne) {
  const Model m = chain_model();
  EXPECT_EQ(m.fused_layers(),
            (std::vector<std::vector<std::string>>{{"c1", "b1", "r1"}, {"c2", "b2", "r2"}}));
  const Tensor x = random_tensor({2, 6, 5, 3}, 50);
  std::vector<double> plain_times, fused_times;
  const ModelForwardResult plain = m.forward(x, {every_layer(m), {}, &plain_times});
  const ModelForwardResult fused = m.forward(x, {{"r1", "r2"}, {}, &fused_times});
  EXPECT_TENSOR_NEAR(fused.output.value(), plain.output.value(), 1e-6f);
  EXPECT_TENSOR_NEAR(fused.kept.at("r1").value(), plain.kept.at("r1").value(), 1e-5f);
  EXPECT_TENSOR_NEAR(fused.kept.at("r2").value(), plain.kept.at("r2").value(), 1e-5f);
  EXPECT_TENSOR_NEAR(fused.logits.value(), plain.logits.value(), 1e-5f);
  // The fused run really ran each chain as one op: the batch norm and ReLU layers took no time.
  EXPECT_EQ(fused_times[m.index_of("b1")], 0.0);
  EXPECT_EQ(fused_times[m.index_of("r2")], 0.0);
  EXPECT_GT(plain_times[m.index_of("b1")], 0.0);
}

TEST(ModelFusion, WinogradRunsTheLargeStride1ConvolutionsAndCanBeTurnedOff) {
  EXPECT_TRUE(chain_model().winograd_layers().empty());  // 6x5 outputs: too few tiles to gain
  Model m = chain_model(17, 16);
  EXPECT_EQ(m.winograd_layers(), std::vector<std::string>{"c1"});  // c2 is 1x1: no tile
  const Tensor x = random_tensor({2, 17, 16, 3}, 53);
  const ModelForwardResult fast = m.forward(x, {{"r1"}, {}});
  m.use_winograd(false);
  EXPECT_TRUE(m.winograd_layers().empty());
  const ModelForwardResult plain = m.forward(x, {{"r1"}, {}});
  EXPECT_TENSOR_NEAR(fast.kept.at("r1").value(), plain.kept.at("r1").value(), 1e-5f);
  EXPECT_TENSOR_NEAR(fast.logits.value(), plain.logits.value(), 1e-5f);
  m.use_winograd(true);
  EXPECT_EQ(m.winograd_layers(), std::vector<std::string>{"c1"});
}

TEST(ModelFusion, GradientsThroughAWinogradStepUseTheLayersOwnKernel) {
  const Model m = chain_model(17, 16);
  ASSERT_EQ(m.winograd_layers().size(), 1u);
  const Tensor x = random_tensor({1, 17, 16, 3}, 54);
  const ModelForwardResult a = m.forward(x, {{}, {"in"}});
  const ModelForwardResult b = layer_by_layer(m, x, {"in"});
  backward(a.logits, Tensor::from({1, 3}, {0, 0, 1}));
  backward(b.logits, Tensor::from({1, 3}, {0, 0, 1}));
  EXPECT_TENSOR_NEAR(a.kept.at("in").grad(), b.kept.at("in").grad(), 1e-5f);
}

TEST(ModelFusion, LayersKeepTheWeightsFromTheFile) {
  Model m = chain_model(17, 16);
  const Tensor kernel = m.layer(m.index_of("c1")).weights()[0].value.clone();
  const Tensor x = random_tensor({1, 17, 16, 3}, 52);
  const Tensor before = m.forward(x).output.value();
  const Layer& c1 = static_cast<const Model&>(m).layer(m.index_of("c1"));
  EXPECT_EQ(testing::max_abs_diff(c1.weights()[0].value, kernel), 0.0f);  // not folded in place
  EXPECT_NO_THROW(m.check_weights_loaded());
  // New weights replace the plan's fused kernels, which are made again from them.
  for (Weight& w : m.layer(m.index_of("c2")).weights()) {
    if (w.name == "kernel") w.value = random_tensor(w.shape, 99);
  }
  const Tensor after = m.forward(x).output.value();
  EXPECT_GT(testing::max_abs_diff(after, before), 1e-4f);
  EXPECT_TENSOR_NEAR(after, layer_by_layer(m, x).output.value(), 1e-6f);
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
              name, Conv2DConfig{filters, k, k, 1, 1, Padding::kSame, false, Activation{}}),
          {from});
    m.add(std::make_unique<BatchNormalization>("bn_" + name,
                                               BatchNormalizationConfig{1e-3f, true, true}),
          {name});
    m.add(relu_layer("relu_" + name, cap), {"bn_" + name});
  };
  chain("a", "in", 3, 1, std::nullopt);
  chain("b", "in", 4, 1, std::nullopt);
  chain("c", "in", 2, 1, 6.0f);
  chain("d", "relu_b", 3, 3, std::nullopt);
  m.add(std::make_unique<Concatenate>("cat"), {"relu_a", "relu_d", "relu_c"});
  m.add(std::make_unique<GlobalAveragePooling2D>("gap"), {"cat"});
  m.add(std::make_unique<Dense>("out", DenseConfig{3, true, Activation{ActivationKind::kSoftmax}}),
        {"gap"});
  fill_random_weights(m, 7);
  return m;
}

TEST(ModelFusion, Sibling1x1ChainsRunAsOneGemm) {
  const Model m = heads_model();
  EXPECT_EQ(m.sibling_groups(), (std::vector<std::vector<std::string>>{{"a", "b"}}));
  const Tensor x = random_tensor({2, 5, 4, 6}, 60);
  std::vector<double> seconds;
  const ModelForwardResult merged = m.forward(x, {{"relu_b"}, {}, &seconds});
  EXPECT_EQ(seconds[m.index_of("b")], 0.0);  // ran inside a's GEMM
  const ModelForwardResult plain = layer_by_layer(m, x);
  EXPECT_TENSOR_NEAR(merged.output.value(), plain.output.value(), 1e-6f);
  EXPECT_TENSOR_NEAR(merged.kept.at("relu_b").value(), plain.kept.at("relu_b").value(), 1e-5f);
  // Gradients flow back through the merged GEMM's slices.
  const ModelForwardResult ga = m.forward(x, {{}, {"in"}});
  const ModelForwardResult gb = layer_by_layer(m, x, {"in"});
  backward(ga.logits, Tensor::from({2, 3}, {1, 0, 0, 0, 0, 1}));
  backward(gb.logits, Tensor::from({2, 3}, {1, 0, 0, 0, 0, 1}));
  EXPECT_TENSOR_NEAR(ga.kept.at("in").grad(), gb.kept.at("in").grad(), 1e-5f);
  // An output inside one member runs the members one by one.
  EXPECT_TENSOR_NEAR(m.forward(x, {{"bn_a"}, {}}).kept.at("bn_a").value(),
                     plain.kept.at("bn_a").value(), 1e-5f);
  EXPECT_TENSOR_NEAR(m.forward(x, {{"bn_a"}, {}}).output.value(), plain.output.value(), 1e-6f);
}

TEST(ModelFusion, OutputsInsideAChainAreStillExact) {
  const Model m = chain_model();
  const Tensor x = random_tensor({1, 6, 5, 3}, 51);
  const ModelForwardResult reference = layer_by_layer(m, x);
  // Asking for the convolution's or the batch norm's own output runs that chain layer by layer,
  // with the layers' own weights (c2's input comes from the fused first chain: float rounding).
  for (const char* inside : {"c1", "b1", "c2", "b2"}) {
    const Tensor want = reference.kept.at(inside).value();
    EXPECT_TENSOR_NEAR(m.forward(x, {{inside}, {}}).kept.at(inside).value(), want, 1e-5f) << inside;
  }
  // Gradients at a chain's end (r1) and inside one (b1) agree with the unfolded model's.
  for (const char* layer : {"r1", "b1", "c1"}) {
    const ModelForwardResult a = m.forward(x, {{}, {layer}});
    const ModelForwardResult b = layer_by_layer(m, x, {layer});
    backward(a.logits, Tensor::from({1, 3}, {0, 1, 0}));
    backward(b.logits, Tensor::from({1, 3}, {0, 1, 0}));
    EXPECT_TENSOR_NEAR(a.kept.at(layer).grad(), b.kept.at(layer).grad(), 1e-5f) << layer;
  }
}

TEST(ModelFusion, AZeroGammaIsAZeroScaleNotANaN) {
  Model m = chain_model();
  for (Weight& w : m.layer(m.index_of("b2")).weights()) {
    if (w.name == "gamma") w.value = Tensor::zeros(w.shape);
  }
  const Tensor x = random_tensor({1, 6, 5, 3}, 55);
  const ModelForwardResult fused = m.forward(x, {{"r2"}, {}});
  const ModelForwardResult plain = layer_by_layer(m, x);
  for (float v : fused.kept.at("r2").value().values()) ASSERT_TRUE(std::isfinite(v));
  EXPECT_TENSOR_NEAR(fused.kept.at("r2").value(), plain.kept.at("r2").value(), 1e-6f);
}

// Conv2D(activation=swish) and Conv2D -> Activation('hard_swish'), with a bias and no batch
// norm (VGG, ResNet and MobileNetV3 style): fused steps, Winograd included, as exact as the layers.
TEST(ModelFusion, BiasedConvolutionsWithAnyActivationAreFused) {
  Model m;
  m.add(std::make_unique<InputLayer>("in", Shape{-1, 20, 17, 3}), {});
  m.add(std::make_unique<Conv2D>("c1", Conv2DConfig{4, 3, 3, 1, 1, Padding::kSame, true,
                                                    Activation{ActivationKind::kSwish}}),
        {"in"});
  m.add(std::make_unique<Conv2D>("c2",
                                 Conv2DConfig{5, 3, 3, 1, 1, Padding::kValid, true, Activation{}}),
        {"c1"});
  m.add(std::make_unique<ActivationLayer>("hs", Activation{ActivationKind::kHardSwish}), {"c2"});
  m.add(std::make_unique<GlobalAveragePooling2D>("gap"), {"hs"});
  m.add(std::make_unique<Dense>("out", DenseConfig{3, true, Activation{ActivationKind::kSoftmax}}),
        {"gap"});
  fill_random_weights(m, 11);
  EXPECT_EQ(m.fused_layers(), (std::vector<std::vector<std::string>>{{"c1"}, {"c2", "hs"}}));
  EXPECT_EQ(m.winograd_layers(), (std::vector<std::string>{"c1", "c2"}));
  const Tensor x = random_tensor({1, 20, 17, 3}, 56);
  const ModelForwardResult plain = layer_by_layer(m, x, {"in"});
  const ModelForwardResult fused = m.forward(x, {{}, {"in"}});
  EXPECT_TENSOR_NEAR(fused.logits.value(), plain.logits.value(), 1e-5f);
  backward(fused.logits, Tensor::from({1, 3}, {0, 1, 0}));
  backward(plain.logits, Tensor::from({1, 3}, {0, 1, 0}));
  EXPECT_TENSOR_NEAR(fused.kept.at("in").grad(), plain.kept.at("in").grad(), 1e-5f);
}

// Xception's SeparableConv2D -> BatchNormalization -> Activation('relu'): the depthwise step,
// then the pointwise GEMM with the batch norm and relu in its epilogue.
TEST(ModelFusion, SeparableConvolutionsFuseTheirBatchNormAndActivation) {
  Model m;
  m.add(std::make_unique<InputLayer>("in", Shape{-1, 9, 8, 3}), {});
  m.add(make_layer("SeparableConv2D", "sep",
                   nlohmann::json::parse(R"({"filters": 5, "kernel_size": [3, 3],
                     "padding": "same", "depth_multiplier": 2, "use_bias": false,
                     "dilation_rate": [2, 2]})")),
        {"in"});
  m.add(std::make_unique<BatchNormalization>("bn", BatchNormalizationConfig{1e-3f, true, true}),
        {"sep"});
  m.add(std::make_unique<ActivationLayer>("act", Activation{ActivationKind::kRelu}), {"bn"});
  m.add(std::make_unique<GlobalAveragePooling2D>("gap"), {"act"});
  m.add(std::make_unique<Dense>("out", DenseConfig{3, true, Activation{ActivationKind::kSoftmax}}),
        {"gap"});
  fill_random_weights(m, 21);
  EXPECT_EQ(m.fused_layers(), (std::vector<std::vector<std::string>>{{"sep", "bn", "act"}}));
  const Tensor x = random_tensor({2, 9, 8, 3}, 57);
  std::vector<double> seconds;
  const ModelForwardResult fused = m.forward(x, {{"act"}, {"in"}, &seconds});
  EXPECT_EQ(seconds[m.index_of("bn")], 0.0);
  const ModelForwardResult plain = layer_by_layer(m, x, {"in"});
  EXPECT_TENSOR_NEAR(fused.kept.at("act").value(), plain.kept.at("act").value(), 1e-5f);
  backward(fused.logits, Tensor::from({2, 3}, {0, 1, 0, 1, 0, 0}));
  backward(plain.logits, Tensor::from({2, 3}, {0, 1, 0, 1, 0, 0}));
  EXPECT_TENSOR_NEAR(fused.kept.at("in").grad(), plain.kept.at("in").grad(), 1e-5f);
}

}  // namespace
}  // namespace gaze
