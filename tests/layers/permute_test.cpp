// Permute from Keras 2 and Keras 3 configs: dims counted from 1, values against explicit
// indices, gradients, and the errors.
#include <gtest/gtest.h>

#include "tests/support/keras_layer.h"

namespace gaze {
namespace {

using testing::keras_layer;
using testing::random_tensor;

TEST(Permute, MovesTheChannelsFirst) {
  const Tensor x = random_tensor({2, 3, 4, 5}, 1);
  for (const char* base : {testing::kKeras2Base, testing::kKeras3Base}) {
    testing::BuiltLayer b =
        keras_layer("Permute", std::string("{") + base + R"(, "dims": [3, 1, 2]})", {{2, 3, 4, 5}});
    EXPECT_EQ(b.output_shape, (Shape{-1, 5, 3, 4}));
    const Tensor y = testing::run(*b.layer, {x});
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t i = 0; i < 3; ++i)
        for (int64_t j = 0; j < 4; ++j)
          for (int64_t c = 0; c < 5; ++c) EXPECT_EQ(y.at(n, c, i, j), x.at(n, i, j, c));
  }
  testing::BuiltLayer swap = keras_layer("Permute", R"({"dims": [2, 1]})", {{2, 3, 4}});
  EXPECT_EQ(swap.output_shape, (Shape{-1, 4, 3}));
  testing::check_layer_gradients(*swap.layer, {random_tensor({2, 3, 4}, 2)});
}

TEST(Permute, Errors) {
  EXPECT_NE(testing::config_error("Permute", R"({"dims": [0, 1]})", {{1, 2, 3}})
                .find("Permute 'l': dims must be a permutation of 1..2"),
            std::string::npos);
  EXPECT_NE(
      testing::config_error("Permute", R"({"dims": [1, 1]})", {{1, 2, 3}}).find("permutation"),
      std::string::npos);
  const std::string rank = testing::config_error("Permute", R"({"dims": [2, 1]})", {{1, 2, 3, 4}});
  EXPECT_NE(rank.find("do not fit input [-1, 2, 3, 4]"), std::string::npos) << rank;
  EXPECT_NE(testing::config_error("Permute", R"({})", {{1, 2}}).find("'dims'"), std::string::npos);
}

}  // namespace
}  // namespace gaze
