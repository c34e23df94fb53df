// The hand-written Inception-v3 against Keras' own: the nsfwjs config is keras.applications'
// InceptionV3 base (written by Keras 2.2.4) plus a head, so its base must match layer for layer.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "layers/inception_v3.h"
#include "layers/keras_config.h"
#include "tests/support/test_util.h"

namespace gaze {
namespace {

Model nsfwjs_config_model() {
  std::ifstream in(std::string(GAZE_SOURCE_DIR) +
                   "/tests/fixtures/nsfwjs_inception_v3_config.json");
  std::stringstream s;
  s << in.rdbuf();
  return model_from_keras_config(s.str());
}

TEST(InceptionV3, KnownShapesAndParameterCounts) {
  const Model top = inception_v3();
  EXPECT_EQ(top.output_shape(top.index_of("mixed10")), (Shape{-1, 8, 8, 2048}));
  EXPECT_EQ(top.output_shape(top.index_of("mixed2")), (Shape{-1, 35, 35, 288}));
  EXPECT_EQ(top.output_shape(top.index_of("mixed7")), (Shape{-1, 17, 17, 768}));
  EXPECT_EQ(top.output_shape(top.output_index()), (Shape{-1, 1000}));
  // Keras' model.summary() totals for InceptionV3 (weights='imagenet'), with and without top.
  EXPECT_EQ(top.parameter_count(), 23851784);
  EXPECT_EQ(inception_v3({false, 0, 299}).parameter_count(), 21802784);
}

TEST(InceptionV3, MatchesKerasLayerForLayerInKerasOrder) {
  const Model ours = inception_v3({.include_top = false});
  const Model keras = nsfwjs_config_model();
  // Keras lists the base first (by depth from mixed10, as `model.layers` orders them), then the
  // head.
  const std::vector<size_t> order = ours.keras_order();
  ASSERT_EQ(order.size(), 311u);
  for (size_t k = 0; k < order.size(); ++k) {
    const Layer& a = ours.layer(order[k]);
    const Layer& b = keras.layer(k);
    ASSERT_EQ(a.name(), b.name()) << "position " << k;
    EXPECT_STREQ(a.class_name(), b.class_name()) << a.name();
    EXPECT_EQ(ours.output_shape(order[k]), keras.output_shape(k)) << a.name();
    ASSERT_EQ(a.weights().size(), b.weights().size()) << a.name();
    for (size_t w = 0; w < a.weights().size(); ++w) {
      EXPECT_EQ(a.weights()[w].name, b.weights()[w].name);
      EXPECT_EQ(a.weights()[w].shape, b.weights()[w].shape) << a.name();
    }
  }
}

}  // namespace
}  // namespace gaze
