// GlobalMaxPooling2D and GlobalAveragePooling2D from Keras 2 and Keras 3 configs, with and
// without keepdims: values against loops, gradients, ties, and the errors.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/support/keras_layer.h"

namespace gaze {
namespace {

using testing::keras_layer;

TEST(GlobalPooling, MaxAndAverageWithAndWithoutKeepdims) {
  const Tensor x = testing::distinct_tensor({2, 3, 4, 5}, 1);
  for (const char* base : {testing::kKeras2Base, testing::kKeras3Base}) {
    for (bool keepdims : {false, true}) {
      for (const char* cls : {"GlobalMaxPooling2D", "GlobalAveragePooling2D"}) {
        const std::string config = std::string("{") + base +
                                   R"(, "data_format": "channels_last", "keepdims": )" +
                                   (keepdims ? "true}" : "false}");
        testing::BuiltLayer b = keras_layer(cls, config, {{2, 3, 4, 5}});
        EXPECT_EQ(b.output_shape, keepdims ? (Shape{-1, 1, 1, 5}) : (Shape{-1, 5})) << cls;
        const Tensor y = testing::run(*b.layer, {x});
        ASSERT_EQ(y.shape(), keepdims ? (Shape{2, 1, 1, 5}) : (Shape{2, 5}));
        const bool max = std::string(cls) == "GlobalMaxPooling2D";
        for (int64_t n = 0; n < 2; ++n)
          for (int64_t c = 0; c < 5; ++c) {
            double best = -1e30, sum = 0.0;
            for (int64_t i = 0; i < 3; ++i)
              for (int64_t j = 0; j < 4; ++j) {
                best = std::max<double>(best, x.at(n, i, j, c));
                sum += x.at(n, i, j, c);
              }
            EXPECT_NEAR(y.data()[n * 5 + c], max ? best : sum / 12.0, 1e-6) << cls;
          }
        testing::check_layer_gradients(*b.layer, {x});
      }
    }
  }
}

TEST(GlobalPooling, Errors) {
  const std::string first = testing::config_error(
      "GlobalMaxPooling2D", R"({"data_format": "channels_first"})", {{1, 3, 4, 4}});
  EXPECT_NE(first.find("layer 'l': unsupported data_format 'channels_first'"), std::string::npos)
      << first;
  const std::string rank = testing::config_error("GlobalMaxPooling2D", "{}", {{1, 4, 4}});
  EXPECT_NE(rank.find("GlobalMaxPooling2D 'l': expects input [batch, height, width, channels]"),
            std::string::npos)
      << rank;
  EXPECT_NE(testing::config_error("GlobalAveragePooling2D", R"({"keepdims": 1})", {{1, 4, 4, 2}})
                .find("'keepdims' should be true or false"),
            std::string::npos);
}

}  // namespace
}  // namespace gaze
