// Cropping2D from Keras 2 and Keras 3 configs, in its three forms of `cropping`: values against
// explicit indices, gradients, and the errors.
#include <gtest/gtest.h>

#include "tests/support/keras_layer.h"

namespace gaze {
namespace {

using testing::keras_layer;
using testing::random_tensor;

TEST(Cropping2D, RemovesTheBorders) {
  const Tensor x = random_tensor({2, 6, 7, 3}, 1);
  struct Case {
    const char* cropping;
    int64_t top, bottom, left, right;
  };
  for (const Case& c : {Case{"[[1, 2], [0, 3]]", 1, 2, 0, 3}, Case{"[1, 2]", 1, 1, 2, 2},
                        Case{"2", 2, 2, 2, 2}, Case{"[[1, 0], 2]", 1, 0, 2, 2}}) {
    for (const char* base : {testing::kKeras2Base, testing::kKeras3Base}) {
      testing::BuiltLayer b =
          keras_layer("Cropping2D",
                      std::string("{") + base +
                          R"(, "data_format": "channels_last", "cropping": )" + c.cropping + "}",
                      {{2, 6, 7, 3}});
      const int64_t h = 6 - c.top - c.bottom, w = 7 - c.left - c.right;
      EXPECT_EQ(b.output_shape, (Shape{-1, h, w, 3})) << c.cropping;
      const Tensor y = testing::run(*b.layer, {x});
      for (int64_t n = 0; n < 2; ++n)
        for (int64_t i = 0; i < h; ++i)
          for (int64_t j = 0; j < w; ++j)
            for (int64_t ch = 0; ch < 3; ++ch)
              EXPECT_EQ(y.at(n, i, j, ch), x.at(n, i + c.top, j + c.left, ch));
    }
  }
  testing::BuiltLayer b =
      keras_layer("Cropping2D", R"({"cropping": [[1, 0], [2, 1]]})", {{1, 4, 5, 2}});
  testing::check_layer_gradients(*b.layer, {random_tensor({1, 4, 5, 2}, 2)});
}

TEST(Cropping2D, Errors) {
  const std::string all = testing::config_error("Cropping2D", R"({"cropping": 3})", {{1, 6, 8, 1}});
  EXPECT_NE(all.find("Cropping2D 'l': cropping leaves nothing of input [-1, 6, 8, 1]"),
            std::string::npos)
      << all;
  EXPECT_NE(
      testing::config_error("Cropping2D", R"({"cropping": [[1, -1], [0, 0]]})", {{1, 6, 6, 1}})
          .find("'cropping' should be non-negative"),
      std::string::npos);
  EXPECT_NE(testing::config_error("Cropping2D", R"({"cropping": [1, 2, 3]})", {{1, 6, 6, 1}})
                .find("'cropping' should be an integer, [h, w] or [[top, bottom], [left, right]]"),
            std::string::npos);
}

}  // namespace
}  // namespace gaze
