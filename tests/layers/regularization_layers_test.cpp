// SpatialDropout2D, GaussianNoise, GaussianDropout and ActivityRegularization from Keras 2 and
// Keras 3 configs: the identity at inference, forward and backward.
#include <gtest/gtest.h>

#include "tests/support/keras_layer.h"

namespace gaze {
namespace {

using testing::keras_layer;

TEST(RegularizationLayers, AreTheIdentityAtInference) {
  const Tensor x = testing::random_tensor({2, 3, 4, 5}, 1);
  const char* configs[][2] = {
      {"SpatialDropout2D",
       R"("rate": 0.2, "seed": null, "noise_shape": null, "data_format": "channels_last")"},
      {"GaussianNoise", R"("stddev": 0.1, "seed": null)"},
      {"GaussianDropout", R"("rate": 0.3, "seed": null)"},
      {"ActivityRegularization", R"("l1": 0.01, "l2": 0.0)"}};
  for (const auto& [cls, fields] : configs) {
    for (const char* base : {testing::kKeras2Base, testing::kKeras3Base}) {
      testing::BuiltLayer b =
          keras_layer(cls, std::string("{") + base + ", " + fields + "}", {{2, 3, 4, 5}});
      EXPECT_EQ(b.layer->class_name(), std::string(cls));
      EXPECT_EQ(b.output_shape, (Shape{-1, 3, 4, 5}));
      EXPECT_TRUE(b.layer->weights().empty());
      EXPECT_EQ(testing::max_abs_diff(testing::run(*b.layer, {x}), x), 0.0f) << cls;
      testing::check_layer_gradients(*b.layer, {testing::random_tensor({1, 2, 2, 3}, 2)});
    }
  }
}

TEST(RegularizationLayers, Errors) {
  EXPECT_NE(testing::config_error("SpatialDropout2D", R"({"rate": 0.1})", {{1, 4}})
                .find("SpatialDropout2D 'l': expects input [batch, height, width, channels]"),
            std::string::npos);
  EXPECT_NE(testing::config_error("GaussianNoise", R"({"stddev": "big"})", {{1, 4}})
                .find("layer 'l': config field 'stddev' should be a number"),
            std::string::npos);
}

}  // namespace
}  // namespace gaze
