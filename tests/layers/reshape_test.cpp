// Reshape from Keras 2 and Keras 3 configs: target_shape with and without -1, the values in
// row-major order, gradients, and the errors.
#include <gtest/gtest.h>

#include "tests/support/keras_layer.h"

namespace gaze {
namespace {

using testing::keras_layer;
using testing::random_tensor;

TEST(Reshape, SqueezeExciteVectorToAMap) {
  // EfficientNet: Reshape((1, 1, filters)) on the pooled [N, C].
  const Tensor x = random_tensor({2, 6}, 1);
  for (const char* base : {testing::kKeras2Base, testing::kKeras3Base}) {
    testing::BuiltLayer b = keras_layer(
        "Reshape", std::string("{") + base + R"(, "target_shape": [1, 1, 6]})", {{2, 6}});
    EXPECT_EQ(b.output_shape, (Shape{-1, 1, 1, 6}));
    const Tensor y = testing::run(*b.layer, {x});
    ASSERT_EQ(y.shape(), (Shape{2, 1, 1, 6}));
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t c = 0; c < 6; ++c) EXPECT_EQ(y.at(n, 0, 0, c), x.at(n, c));
  }
}

TEST(Reshape, InfersTheMinusOneAndKeepsRowMajorOrder) {
  const Tensor x = random_tensor({2, 3, 4, 2}, 2);
  testing::BuiltLayer b = keras_layer("Reshape", R"({"target_shape": [-1, 6]})", {{2, 3, 4, 2}});
  EXPECT_EQ(b.output_shape, (Shape{-1, 4, 6}));
  const Tensor y = testing::run(*b.layer, {x});
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = 0; j < 4; ++j)
        for (int64_t c = 0; c < 2; ++c) {
          const int64_t flat = (i * 4 + j) * 2 + c;
          EXPECT_EQ(y.at(n, flat / 6, flat % 6), x.at(n, i, j, c));
        }
  testing::check_layer_gradients(*b.layer, {x});
  // Keras 3 may write the unknown size as null.
  EXPECT_EQ(keras_layer("Reshape", R"({"target_shape": [null, 2]})", {{2, 3, 4, 2}}).output_shape,
            (Shape{-1, 12, 2}));
}

TEST(Reshape, Errors) {
  const std::string count =
      testing::config_error("Reshape", R"({"target_shape": [5, -1]})", {{1, 12}});
  EXPECT_NE(count.find("Reshape 'l': cannot reshape input [-1, 12] (12 values per sample)"),
            std::string::npos)
      << count;
  EXPECT_NE(testing::config_error("Reshape", R"({"target_shape": [7]})", {{1, 12}})
                .find("cannot reshape"),
            std::string::npos);
  EXPECT_NE(testing::config_error("Reshape", R"({"target_shape": [-1, -1]})", {{1, 12}})
                .find("more than one -1"),
            std::string::npos);
  EXPECT_NE(testing::config_error("Reshape", R"({})", {{1, 12}}).find("'target_shape'"),
            std::string::npos);
}

}  // namespace
}  // namespace gaze
