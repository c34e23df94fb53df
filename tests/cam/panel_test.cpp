// cam/panel.h: the parts of a `gaze cam` panel that are not the network (the CLI tests check
// whole panels byte for byte: tests/tools/cam_options_test.cpp).
#include "cam/panel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace gaze {
namespace {

const std::vector<std::string> kClasses = {"Drawing", "Hentai", "Neutral", "Porn", "Sexy"};

TEST(Panel, RatingWeightsByClassName) {
  const std::vector<double> w = parse_rating("Sexy=10,Porn=10,Neutral=5,Drawing=2.5", kClasses);
  EXPECT_EQ(w, (std::vector<double>{2.5, 0.0, 5.0, 10.0, 10.0}));
  const Tensor probs = Tensor::from({1, 5}, {0.1f, 0.2f, 0.3f, 0.25f, 0.15f});
  EXPECT_NEAR(rating_of(w, probs), 2.5 * 0.1 + 5 * 0.3 + 10 * 0.25 + 10 * 0.15, 1e-6);
  EXPECT_EQ(rating_footer(4.25), "rating 4.2/10");
  EXPECT_TRUE(parse_rating("", kClasses) == std::vector<double>(5, 0.0));
}

TEST(Panel, BadRatingsAreNamedErrors) {
  auto message = [](const std::string& spec) {
    try {
      parse_rating(spec, kClasses);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message("Sexy"), "--rating: 'Sexy' is not CLASS=WEIGHT");
  EXPECT_EQ(message("Cat=1"), "--rating: unknown class 'Cat'");
  EXPECT_EQ(message("Sexy=lots"), "--rating: 'lots' is not a number");
  EXPECT_EQ(message("Sexy=10abc"), "--rating: '10abc' is not a number");  // no partial numbers
  EXPECT_EQ(message("Sexy=nan"), "--rating: 'nan' is not a number");
  EXPECT_EQ(message("Sexy=inf"), "--rating: 'inf' is not a number");
  EXPECT_EQ(message("Sexy="), "--rating: '' is not a number");
}

TEST(Panel, RatingRefusesWeightsForAnotherNumberOfClasses) {
  const std::vector<double> w = parse_rating("Sexy=10", kClasses);
  EXPECT_THROW(rating_of(w, Tensor::from({1, 3}, {0.2f, 0.3f, 0.5f})), Error);
}

TEST(Panel, CaptionsNameClassMethodAndLayers) {
  EXPECT_EQ(tile_caption("Porn", 0.98765, "gradcam", false, {"mixed10"}),
            "Porn 0.988 gradcam mixed10");
  EXPECT_EQ(tile_caption("Sexy", 0.5, "gradcam++", true, {"mixed7", "mixed10"}),
            "Sexy 0.5 gradcam++ (counterfactual) layers averaged");
  EXPECT_EQ(tile_caption("Sexy", 0.5, "guided-backprop", false, {}), "Sexy 0.5 guided-backprop ");
}

// The gradient picture against the formula, computed here in double: (g - mean) / std * 0.1 + 0.5.
TEST(Panel, GradientImageIsTheStandardizedGradient) {
  const Tensor g = Tensor::from({1, 1, 2, 3}, {1, 2, 3, 4, 5, 6});
  const Image img = gradient_image(g, 2, 1);  // same size: no resampling
  ASSERT_EQ(img.rgb.size(), 6u);
  const double mean = 3.5, sd = std::sqrt(17.5 / 6.0);
  for (int i = 0; i < 6; ++i) {
    const double v = std::clamp(((i + 1) - mean) / sd * 0.1 + 0.5, 0.0, 1.0) * 255.0;
    EXPECT_EQ(img.rgb[static_cast<size_t>(i)], std::lround(v)) << i;
  }
}

TEST(Panel, ATileWithoutMapsOrGradientIsAnError) {
  const Image photo{2, 2, std::vector<uint8_t>(12, 100)};
  EXPECT_THROW(class_tile_image(ClassTile{}, photo, PanelStyle{}), Error);
  // One map: the heatmap overlay of render.h, exactly.
  ClassTile t;
  t.maps = {Tensor::from({2, 2}, {0, 1, 2, 3})};
  PanelStyle style;
  style.alpha = 0.25f;
  EXPECT_EQ(class_tile_image(t, photo, style).rgb,
            heatmap_overlay(photo, t.maps[0], style.norm, style.colormap, style.alpha).rgb);
  // Two maps: their normalized mean, so a map and its double give the same tile.
  t.maps.push_back(Tensor::from({2, 2}, {0, 2, 4, 6}));
  EXPECT_EQ(class_tile_image(t, photo, style).rgb,
            heatmap_overlay(photo, t.maps[0], style.norm, style.colormap, style.alpha).rgb);
}

}  // namespace
}  // namespace gaze
