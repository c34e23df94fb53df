// LayerNormalization from Keras 2 and Keras 3 configs: weight slots, values against a two-pass
// double loop with epsilon inside the square root (TF.js in tfjs_layers_test.cpp), gradients,
// and the errors.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/support/keras_layer.h"

namespace gaze {
namespace {

using testing::keras_layer;
using testing::random_tensor;

Tensor naive(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps) {
  const int64_t c = x.dim(-1);
  Tensor y(x.shape());
  for (int64_t r = 0; r < x.size() / c; ++r) {
    const float* xi = x.data() + r * c;
    double mean = 0.0, var = 0.0;
    for (int64_t j = 0; j < c; ++j) mean += xi[j] / static_cast<double>(c);
    for (int64_t j = 0; j < c; ++j) var += (xi[j] - mean) * (xi[j] - mean) / static_cast<double>(c);
    for (int64_t j = 0; j < c; ++j) {
      const double g = gamma.defined() ? gamma.at(j) : 1.0, b = beta.defined() ? beta.at(j) : 0.0;
      y.data()[r * c + j] = static_cast<float>((xi[j] - mean) / std::sqrt(var + eps) * g + b);
    }
  }
  return y;
}

TEST(LayerNormalization, ConvNeXtStyleFromKeras2AndKeras3Configs) {
  // ConvNeXt: LayerNormalization(epsilon=1e-6) on [N, H, W, C]; Keras 3 writes axis as [3] and
  // rms_scaling, Keras 2 as [3] too (after build) or -1.
  Tensor x = random_tensor({2, 3, 4, 8}, 1, -0.1f, 0.1f);
  for (float& v : x.values()) v += 2.0f;
  const Tensor gamma = random_tensor({8}, 2, 0.5f, 1.5f), beta = random_tensor({8}, 3);
  const std::string k2 = std::string("{") + testing::kKeras2Base +
                         R"(, "axis": [3], "epsilon": 1e-06, "center": true, "scale": true,
      "beta_initializer": {"class_name": "Zeros", "config": {}},
      "gamma_initializer": {"class_name": "Ones", "config": {}}, "beta_regularizer": null,
      "gamma_regularizer": null, "beta_constraint": null, "gamma_constraint": null})";
  const std::string k3 = std::string("{") + testing::kKeras3Base +
                         R"(, "axis": [3], "epsilon": 1e-06, "center": true, "scale": true,
      "rms_scaling": false, "beta_initializer": {"module": "keras.initializers",
      "class_name": "Zeros", "config": {}, "registered_name": null}, "gamma_initializer":
      {"module": "keras.initializers", "class_name": "Ones", "config": {}, "registered_name": null},
      "beta_regularizer": null, "gamma_regularizer": null, "beta_constraint": null,
      "gamma_constraint": null})";
  for (const std::string& config : {k2, k3}) {
    testing::BuiltLayer b = keras_layer("LayerNormalization", config, {{2, 3, 4, 8}});
    EXPECT_EQ(b.output_shape, (Shape{-1, 3, 4, 8}));
    ASSERT_EQ(b.layer->weights().size(), 2u);
    EXPECT_EQ(b.layer->weights()[0].name, "gamma");
    EXPECT_EQ(b.layer->weights()[1].name, "beta");
    testing::set_weights(*b.layer, {gamma, beta});
    EXPECT_TENSOR_NEAR(testing::run(*b.layer, {x}), naive(x, gamma, beta, 1e-6), 2e-6f);
  }
}

TEST(LayerNormalization, WithoutScaleOrCenterAndGradients) {
  const Tensor x = random_tensor({2, 5, 6}, 4, -0.05f, 0.05f);  // variance near epsilon
  testing::BuiltLayer b =
      keras_layer("LayerNormalization", R"({"axis": -1, "scale": false})", {{2, 5, 6}});
  ASSERT_EQ(b.layer->weights().size(), 1u);
  EXPECT_EQ(b.layer->weights()[0].name, "beta");
  const Tensor beta = random_tensor({6}, 5);
  testing::set_weights(*b.layer, {beta});
  EXPECT_TENSOR_NEAR(testing::run(*b.layer, {x}), naive(x, Tensor(), beta, 1e-3), 2e-6f);
  testing::check_layer_gradients(*b.layer, {random_tensor({2, 2, 6}, 6, -2.0f, 2.0f)});
  testing::BuiltLayer plain =
      keras_layer("LayerNormalization", R"({"center": false, "scale": false})", {{2, 3}});
  EXPECT_TRUE(plain.layer->weights().empty());
}

TEST(LayerNormalization, Errors) {
  const std::string axis =
      testing::config_error("LayerNormalization", R"({"axis": [1, 2, 3]})", {{1, 2, 2, 4}});
  EXPECT_NE(axis.find("layer 'l': unsupported axis [1,2,3] (only the last axis)"),
            std::string::npos)
      << axis;
  const std::string not_last =
      testing::config_error("LayerNormalization", R"({"axis": 1})", {{1, 2, 2, 4}});
  EXPECT_NE(not_last.find("LayerNormalization 'l': axis 1 is not the last axis"), std::string::npos)
      << not_last;
  EXPECT_NE(testing::config_error("LayerNormalization", R"({"rms_scaling": true})", {{1, 4}})
                .find("unsupported rms_scaling"),
            std::string::npos);
  EXPECT_NE(testing::config_error("LayerNormalization", R"({"epsilon": 0})", {{1, 4}})
                .find("epsilon must be positive"),
            std::string::npos);
}

}  // namespace
}  // namespace gaze
