// CenterCrop (docs/adding-a-layer.md's worked example): the window Keras takes, from
// Keras 2 and Keras 3 configs; its gradient; and the input it refuses.
#include <gtest/gtest.h>

#include "tests/support/keras_layer.h"

namespace gaze {
namespace {

using testing::keras_layer;
using testing::random_tensor;

TEST(CenterCrop, TakesTheWindowStartingAtHalfTheSurplus) {
  const Tensor x = random_tensor({2, 7, 6, 3}, 1);
  for (const char* base : {testing::kKeras2Base, testing::kKeras3Base}) {
    testing::BuiltLayer b = keras_layer(
        "CenterCrop", std::string("{") + base + R"(, "height": 4, "width": 3})", {{2, 7, 6, 3}});
    EXPECT_EQ(b.output_shape, (Shape{-1, 4, 3, 3}));
    const Tensor y = testing::run(*b.layer, {x});
    // Keras: start = (input - target) // 2, so rows 1..4 of 7 and columns 1..3 of 6.
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t i = 0; i < 4; ++i)
        for (int64_t j = 0; j < 3; ++j)
          for (int64_t c = 0; c < 3; ++c) EXPECT_EQ(y.at(n, i, j, c), x.at(n, i + 1, j + 1, c));
  }
  testing::BuiltLayer b = keras_layer("CenterCrop", R"({"height": 2, "width": 2})", {{1, 5, 4, 2}});
  testing::check_layer_gradients(*b.layer, {random_tensor({1, 5, 4, 2}, 2)});
}

TEST(CenterCrop, AnInputSmallerThanTheCropIsAnError) {
  const std::string e =
      testing::config_error("CenterCrop", R"({"height": 8, "width": 3})", {{1, 7, 6, 3}});
  EXPECT_NE(e.find("smaller than the crop 8x3"), std::string::npos) << e;
  EXPECT_NE(testing::config_error("CenterCrop", R"({"width": 3})", {{1, 7, 6, 3}}).find("height"),
            std::string::npos);
}

}  // namespace
}  // namespace gaze
