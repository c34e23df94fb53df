// SeparableConv2D from Keras 2 and Keras 3 configs: weight slots, output shape, values against
// the naive depthwise then pointwise loops, gradients, and the config errors.
#include <gtest/gtest.h>

#include "autograd/ops.h"
#include "tests/support/keras_layer.h"
#include "tests/support/naive.h"

namespace gaze {
namespace {

using testing::keras_layer;
using testing::random_tensor;

std::string keras2_config(const std::string& fields) {
  return std::string("{") + testing::kKeras2Base + R"(, "filters": 4, "kernel_size": [3, 3],
    "strides": [2, 2], "padding": "same", "data_format": "channels_last", "dilation_rate": [1, 1],
    "depth_multiplier": 2, "activation": "relu", "use_bias": true,
    "depthwise_initializer": {"class_name": "GlorotUniform", "config": {"seed": null}},
    "pointwise_initializer": {"class_name": "GlorotUniform", "config": {"seed": null}},
    "bias_initializer": {"class_name": "Zeros", "config": {}}, "depthwise_regularizer": null,
    "pointwise_regularizer": null, "bias_regularizer": null, "activity_regularizer": null,
    "depthwise_constraint": null, "pointwise_constraint": null, "bias_constraint": null)" +
         fields + "}";
}

std::string keras3_config() {
  return std::string("{") + testing::kKeras3Base + R"(, "depth_multiplier": 2, "filters": 4,
    "kernel_size": [3, 3], "strides": [2, 2], "padding": "same", "data_format": "channels_last",
    "dilation_rate": [1, 1], "activation": "relu", "use_bias": true,
    "depthwise_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
      "config": {"seed": null}, "registered_name": null},
    "pointwise_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
      "config": {"seed": null}, "registered_name": null},
    "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {},
      "registered_name": null}, "depthwise_regularizer": null, "pointwise_regularizer": null,
    "bias_regularizer": null, "activity_regularizer": null, "depthwise_constraint": null,
    "pointwise_constraint": null, "bias_constraint": null})";
}

TEST(SeparableConv2D, DepthwiseThenPointwiseFromKeras2AndKeras3Configs) {
  const Tensor x = random_tensor({2, 7, 6, 3}, 1);
  const Tensor dk = random_tensor({3, 3, 3, 2}, 2), pk = random_tensor({1, 1, 6, 4}, 3),
               bias = random_tensor({4}, 4);
  // Independent reference: the naive loops, then relu.
  Tensor expected = testing::naive_conv2d(
      testing::naive_depthwise_conv2d(x, dk, Tensor(), 2, 2, true), pk, bias, 1, 1, false);
  for (float& v : expected.values()) v = std::max(v, 0.0f);
  for (const std::string& config : {keras2_config(""), keras3_config()}) {
    testing::BuiltLayer b = keras_layer("SeparableConv2D", config, {{2, 7, 6, 3}});
    EXPECT_EQ(b.output_shape, (Shape{-1, 4, 3, 4}));
    ASSERT_EQ(b.layer->weights().size(), 3u);
    EXPECT_EQ(b.layer->weights()[0].name, "depthwise_kernel");
    EXPECT_EQ(b.layer->weights()[1].name, "pointwise_kernel");
    EXPECT_EQ(b.layer->weights()[2].name, "bias");
    testing::set_weights(*b.layer, {dk, pk, bias});
    EXPECT_TENSOR_NEAR(testing::run(*b.layer, {x}), expected, 1e-6f);
    // A relu is no class score: no pre-activation is kept (softmax and sigmoid keep one).
    EXPECT_FALSE(b.layer->forward({Var(x)}).pre_activation.defined());
  }
}

TEST(SeparableConv2D, ValidPaddingWithoutBiasAndGradients) {
  testing::BuiltLayer b =
      keras_layer("SeparableConv2D",
                  R"({"filters": 3, "kernel_size": [2, 3], "padding": "valid", "use_bias": false})",
                  {{1, 6, 7, 4}});
  EXPECT_EQ(b.output_shape, (Shape{-1, 5, 5, 3}));
  ASSERT_EQ(b.layer->weights().size(), 2u);
  const Tensor dk = random_tensor({2, 3, 4, 1}, 5), pk = random_tensor({1, 1, 4, 3}, 6);
  testing::set_weights(*b.layer, {dk, pk});
  const Tensor x = random_tensor({1, 6, 7, 4}, 7);
  EXPECT_TENSOR_NEAR(
      testing::run(*b.layer, {x}),
      testing::naive_conv2d(testing::naive_depthwise_conv2d(x, dk, Tensor(), 1, 1, false), pk,
                            Tensor(), 1, 1, false),
      1e-6f);
  testing::check_layer_gradients(*b.layer, {random_tensor({1, 5, 4, 4}, 8)});
}

TEST(SeparableConv2D, ConfigErrorsNameTheLayerAndField) {
  auto error = [](const std::string& fields, Shape in = {1, 8, 8, 3}) {
    return testing::config_error("SeparableConv2D", keras2_config(fields), {in});
  };
  const std::string dilated = error(R"(, "dilation_rate": [2, 2])");
  EXPECT_NE(dilated.find("layer 'l': unsupported dilation_rate"), std::string::npos) << dilated;
  const std::string first = error(R"(, "data_format": "channels_first")");
  EXPECT_NE(first.find("data_format 'channels_first'"), std::string::npos) << first;
  EXPECT_NE(error(R"(, "filters": 0)").find("filters"), std::string::npos);
  EXPECT_NE(error(R"(, "depth_multiplier": 0)").find("depth_multiplier"), std::string::npos);
  EXPECT_NE(error(R"(, "activation": "mystery")").find("mystery"), std::string::npos);
  EXPECT_NE(error("", {1, 8, 3}).find("expects input [batch, height, width, channels]"),
            std::string::npos);
}

}  // namespace
}  // namespace gaze
