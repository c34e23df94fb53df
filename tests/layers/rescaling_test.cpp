// Rescaling from Keras 2 and Keras 3 configs: scalar and per-channel scale and offset, against
// x * scale + offset computed here in float32, and the config errors.
#include <gtest/gtest.h>

#include "tests/support/keras_layer.h"

namespace gaze {
namespace {

using testing::keras_layer;
using testing::random_tensor;

TEST(Rescaling, ScalesAndOffsetsFromKeras2AndKeras3Configs) {
  const Tensor x = random_tensor({2, 3, 4, 3}, 1, 0.0f, 255.0f);
  for (const char* base : {testing::kKeras2Base, testing::kKeras3Base}) {
    // EfficientNetV2's "-1..1" stem: x / 128 - 1.
    testing::BuiltLayer b = keras_layer(
        "Rescaling", std::string("{") + base + R"(, "scale": 0.0078125, "offset": -1.0})",
        {{2, 3, 4, 3}});
    EXPECT_EQ(b.output_shape, (Shape{-1, 3, 4, 3}));
    EXPECT_TRUE(b.layer->weights().empty());
    const Tensor y = testing::run(*b.layer, {x});
    // FLOAT_EQ: the compiler may fuse this multiply-add, the layer runs two operations.
    for (int64_t i = 0; i < x.size(); ++i)
      EXPECT_FLOAT_EQ(y.data()[i], x.data()[i] * 0.0078125f - 1.0f);
  }
}

TEST(Rescaling, PerChannelScaleAsEfficientNetWritesIt) {
  // keras.applications' EfficientNet: Rescaling([1/sqrt(s) for s in IMAGENET_STDDEV_RGB]); the
  // list may also arrive in Keras 3's serialized numpy form.
  const float s[3] = {1.0f / std::sqrt(0.229f), 1.0f / std::sqrt(0.224f), 1.0f / std::sqrt(0.225f)};
  const std::string list =
      "[" + std::to_string(s[0]) + ", " + std::to_string(s[1]) + ", " + std::to_string(s[2]) + "]";
  const Tensor x = random_tensor({1, 2, 5, 3}, 2);
  for (const std::string& scale : {list, R"({"class_name": "__numpy__", "config": {"value": )" +
                                             list + R"(, "dtype": "float32"}})"}) {
    testing::BuiltLayer b = keras_layer(
        "Rescaling", R"({"scale": )" + scale + R"(, "offset": [0, 0.5, 1]})", {{1, 2, 5, 3}});
    const Tensor y = testing::run(*b.layer, {x});
    for (int64_t i = 0; i < x.size(); ++i) {
      const auto c = static_cast<size_t>(i % 3);
      // As written in the config and read back: a double, rounded to float.
      const float scale_c = static_cast<float>(std::stod(std::to_string(s[c])));
      EXPECT_FLOAT_EQ(y.data()[i], x.data()[i] * scale_c + 0.5f * static_cast<float>(c));
    }
    testing::check_layer_gradients(*b.layer, {x});
  }
}

TEST(Rescaling, ConfigErrors) {
  const std::string missing = testing::config_error("Rescaling", "{}", {{1, 2, 2, 3}});
  EXPECT_NE(missing.find("layer 'l': config field 'scale'"), std::string::npos) << missing;
  const std::string channels =
      testing::config_error("Rescaling", R"({"scale": [1, 2]})", {{1, 2, 2, 3}});
  EXPECT_NE(channels.find("Rescaling 'l': has 2 per-channel values for input [-1, 2, 2, 3]"),
            std::string::npos)
      << channels;
  EXPECT_NE(testing::config_error("Rescaling", R"({"scale": "x"})", {{1, 3}}).find("scale"),
            std::string::npos);
  EXPECT_NE(testing::config_error("Rescaling", R"({"scale": [[1, 2, 3]]})", {{1, 3}})
                .find("unsupported scale"),
            std::string::npos);
}

}  // namespace
}  // namespace gaze
