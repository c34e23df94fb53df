// UpSampling2D from Keras 2 and Keras 3 configs: nearest repeats cells, bilinear samples with
// half-pixel centres (checked against the hand-derived 1-D weights here; TF.js in
// tfjs_layers_test.cpp), gradients, and the errors.
#include <gtest/gtest.h>

#include "tests/support/keras_layer.h"

namespace gaze {
namespace {

using testing::keras_layer;
using testing::random_tensor;

std::string config(const char* base, const char* interpolation) {
  return std::string("{") + base + R"(, "size": [2, 3], "data_format": "channels_last",
      "interpolation": ")" +
         interpolation + "\"}";
}

TEST(UpSampling2D, NearestRepeatsEachCell) {
  const Tensor x = random_tensor({2, 3, 4, 2}, 1);
  for (const char* base : {testing::kKeras2Base, testing::kKeras3Base}) {
    testing::BuiltLayer b = keras_layer("UpSampling2D", config(base, "nearest"), {{2, 3, 4, 2}});
    EXPECT_EQ(b.output_shape, (Shape{-1, 6, 12, 2}));
    const Tensor y = testing::run(*b.layer, {x});
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t i = 0; i < 6; ++i)
        for (int64_t j = 0; j < 12; ++j)
          for (int64_t c = 0; c < 2; ++c) EXPECT_EQ(y.at(n, i, j, c), x.at(n, i / 2, j / 3, c));
    testing::check_layer_gradients(*b.layer, {x});
  }
  // The default size is 2x2.
  EXPECT_EQ(keras_layer("UpSampling2D", "{}", {{1, 3, 4, 2}}).output_shape, (Shape{-1, 6, 8, 2}));
}

TEST(UpSampling2D, BilinearUsesHalfPixelCentres) {
  // Doubling [a, b] samples at -1/4, 1/4, 3/4, 5/4: a, (3a + b)/4, (a + 3b)/4, b. Without
  // half-pixel centres (TF.js's own UpSampling2D) it would be a, (a + b)/2, b, b.
  testing::BuiltLayer b = keras_layer(
      "UpSampling2D", R"({"size": [1, 2], "interpolation": "bilinear"})", {{1, 1, 2, 1}});
  const Tensor y = testing::run(*b.layer, {Tensor::from({1, 1, 2, 1}, {1.0f, 5.0f})});
  EXPECT_FLOAT_EQ(y.at(0, 0, 0, 0), 1.0f);
  EXPECT_FLOAT_EQ(y.at(0, 0, 1, 0), 2.0f);
  EXPECT_FLOAT_EQ(y.at(0, 0, 2, 0), 4.0f);
  EXPECT_FLOAT_EQ(y.at(0, 0, 3, 0), 5.0f);
  for (const char* base : {testing::kKeras2Base, testing::kKeras3Base}) {
    testing::BuiltLayer l = keras_layer("UpSampling2D", config(base, "bilinear"), {{1, 3, 2, 2}});
    EXPECT_EQ(l.output_shape, (Shape{-1, 6, 6, 2}));
    testing::check_layer_gradients(*l.layer, {random_tensor({1, 3, 2, 2}, 2)});
  }
}

TEST(UpSampling2D, Errors) {
  const std::string cubic =
      testing::config_error("UpSampling2D", R"({"interpolation": "bicubic"})", {{1, 2, 2, 1}});
  EXPECT_NE(
      cubic.find("layer 'l': unsupported interpolation 'bicubic' (supported: nearest, bilinear)"),
      std::string::npos)
      << cubic;
  EXPECT_NE(testing::config_error("UpSampling2D", R"({"size": [0, 2]})", {{1, 2, 2, 1}})
                .find("size must be positive"),
            std::string::npos);
  EXPECT_NE(
      testing::config_error("UpSampling2D", R"({"data_format": "channels_first"})", {{1, 2, 2, 1}})
          .find("data_format"),
      std::string::npos);
}

}  // namespace
}  // namespace gaze
