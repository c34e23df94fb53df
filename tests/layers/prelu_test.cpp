// PReLU: a learned slope per element, shared along shared_axes; values against the definition,
// gradients against finite differences.
#include <gtest/gtest.h>

#include "tests/support/keras_layer.h"

namespace gaze {
namespace {

using testing::keras_layer;
using testing::random_tensor;

TEST(PReLU, SlopesPerElementSharedAlongTheSharedAxes) {
  const Tensor x = random_tensor({2, 4, 3, 5}, 1, -2.0f, 2.0f);
  for (const char* base : {testing::kKeras2Base, testing::kKeras3Base}) {
    testing::BuiltLayer b = keras_layer(
        "PReLU", std::string("{") + base + R"(, "shared_axes": [1, 2]})", {{2, 4, 3, 5}});
    ASSERT_EQ(b.layer->weights().size(), 1u);
    EXPECT_EQ(b.layer->weights()[0].name, "alpha");
    EXPECT_EQ(b.layer->weights()[0].shape, (Shape{1, 1, 5}));  // one slope per channel
    const Tensor alpha = random_tensor({1, 1, 5}, 2, 0.1f, 0.9f);
    testing::set_weights(*b.layer, {alpha});
    const Tensor y = testing::run(*b.layer, {x});
    for (int64_t i = 0; i < x.size(); ++i) {
      const float v = x.data()[i];
      EXPECT_FLOAT_EQ(y.data()[i], v > 0 ? v : alpha.data()[i % 5] * v);
    }
  }
  testing::BuiltLayer full = keras_layer("PReLU", "{}", {{1, 2, 3, 2}});
  EXPECT_EQ(full.layer->weights()[0].shape, (Shape{2, 3, 2}));  // no sharing: every element
  testing::set_weights(*full.layer, {random_tensor({2, 3, 2}, 3, 0.1f, 0.9f)});
  Tensor away = random_tensor({1, 2, 3, 2}, 4, -2.0f, 2.0f);
  for (float& v : away.values()) {
    if (std::fabs(v) < 0.05f) v += 0.1f;  // finite differences must not straddle the kink
  }
  testing::check_layer_gradients(*full.layer, {away});
}

TEST(PReLU, ABadSharedAxisIsAnError) {
  const std::string e = testing::config_error("PReLU", R"({"shared_axes": [4]})", {{1, 2, 2, 3}});
  EXPECT_NE(e.find("shared axis 4"), std::string::npos) << e;
}

}  // namespace
}  // namespace gaze
