// Normalization from Keras 2 and Keras 3 configs, with mean and variance from the weights or
// from the config: (x - mean) / max(sqrt(variance), 1e-7), which differs from
// sqrt(variance + epsilon) where the variance is tiny; and the config errors.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/support/keras_layer.h"

namespace gaze {
namespace {

using testing::keras_layer;
using testing::random_tensor;

// Channel 1's variance is below 1e-14, so its denominator is epsilon itself; channel 2's is 0.
const std::vector<float> kMean = {0.485f, -0.25f, 0.125f, 1.5f};
const std::vector<float> kVariance = {0.052441f, 1e-16f, 0.0f, 2.25f};

Tensor expected(const Tensor& x) {
  Tensor y(x.shape());
  for (int64_t i = 0; i < x.size(); ++i) {
    const auto c = static_cast<size_t>(i % 4);
    const float d = std::sqrt(kVariance[c]) < 1e-7f ? 1e-7f : std::sqrt(kVariance[c]);
    y.data()[i] = (x.data()[i] - kMean[c]) / d;
  }
  return y;
}

TEST(Normalization, MeanAndVarianceFromTheWeights) {
  const Tensor x = random_tensor({2, 3, 5, 4}, 1, -2.0f, 2.0f);
  // Keras 2 writes axis as a tuple, Keras 3 too; mean and variance null: weights.
  for (const char* base : {testing::kKeras2Base, testing::kKeras3Base}) {
    testing::BuiltLayer b =
        keras_layer("Normalization",
                    std::string("{") + base +
                        R"(, "axis": [-1], "invert": false, "mean": null, "variance": null})",
                    {{2, 3, 5, 4}});
    EXPECT_EQ(b.output_shape, (Shape{-1, 3, 5, 4}));
    ASSERT_EQ(b.layer->weights().size(), 3u);
    EXPECT_EQ(b.layer->weights()[0].name, "mean");
    EXPECT_EQ(b.layer->weights()[1].name, "variance");
    EXPECT_EQ(b.layer->weights()[2].name, "count");
    EXPECT_EQ(b.layer->weights()[2].shape, Shape{});
    testing::set_weights(*b.layer, {Tensor::from({4}, kMean), Tensor::from({4}, kVariance),
                                    Tensor::full({}, 1000.0f)});
    const Tensor y = testing::run(*b.layer, {x});
    EXPECT_TENSOR_NEAR(y, expected(x), 0.0f);
    // Not (x - mean) / sqrt(variance + 1e-7): channel 1 would be divided by 3.2e-4, not 1e-7.
    EXPECT_GT(std::abs(y.at(0, 0, 0, 1)), 1e3f * std::abs(x.at(0, 0, 0, 1) + 0.25f));
  }
}

TEST(Normalization, MeanAndVarianceFromTheConfig) {
  // EfficientNetV2's stem: Normalization(mean=[...], variance=[...], axis=3), no weights.
  const Tensor x = random_tensor({1, 2, 3, 4}, 2);
  testing::BuiltLayer b = keras_layer(
      "Normalization",
      R"({"axis": 3, "mean": [0.485, -0.25, 0.125, 1.5], "variance": [0.052441, 1e-16, 0, 2.25]})",
      {{1, 2, 3, 4}});
  EXPECT_TRUE(b.layer->weights().empty());
  EXPECT_TENSOR_NEAR(testing::run(*b.layer, {x}), expected(x), 0.0f);
  testing::check_layer_gradients(*b.layer, {random_tensor({1, 2, 1, 4}, 3, -0.5f, 0.5f)});
  // A scalar mean and variance apply to every channel.
  testing::BuiltLayer s =
      keras_layer("Normalization", R"({"axis": -1, "mean": 3.0, "variance": 2.0})", {{1, 3}});
  const Tensor t = testing::run(*s.layer, {Tensor::from({1, 3}, {1.0f, 2.0f, 3.0f})});
  EXPECT_FLOAT_EQ(t.at(0, 0), -2.0f / std::sqrt(2.0f));  // Keras' docstring: -1.4142135
  EXPECT_FLOAT_EQ(t.at(0, 2), 0.0f);
}

TEST(Normalization, ConfigErrors) {
  auto error = [](const std::string& config, Shape in = {1, 2, 2, 3}) {
    return testing::config_error("Normalization", config, {in});
  };
  const std::string invert = error(R"({"invert": true})");
  EXPECT_NE(invert.find("layer 'l': unsupported invert"), std::string::npos) << invert;
  const std::string axes = error(R"({"axis": [1, 2]})");
  EXPECT_NE(axes.find("unsupported axis [1,2]"), std::string::npos) << axes;
  const std::string none = error(R"({"axis": null})");
  EXPECT_NE(none.find("unsupported axis null"), std::string::npos) << none;
  const std::string not_last = error(R"({"axis": 1})");
  EXPECT_NE(not_last.find("Normalization 'l': axis 1 is not the last axis"), std::string::npos)
      << not_last;
  EXPECT_NE(error(R"({"mean": [1, 2, 3]})").find("'variance'"), std::string::npos);
  EXPECT_NE(error(R"({"mean": [1, 2], "variance": [1, 2]})").find("2 mean/variance values"),
            std::string::npos);
}

}  // namespace
}  // namespace gaze
