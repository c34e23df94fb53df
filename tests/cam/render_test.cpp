// The picture side of `gaze cam`: resizing, normalization, colormaps, blending, text and panels.
// Reference values come from outside the code under test: hand computation, a naive formula
// written here, PIL, matplotlib, and the font as dumped from its PCF file.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <ostream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "cam/image.h"
#include "cam/render.h"

namespace gaze {
namespace {

// ---- helpers ----

Image solid(int width, int height, uint8_t r, uint8_t g, uint8_t b) {
  Image image;
  image.width = width;
  image.height = height;
  for (int i = 0; i < width * height; ++i) image.rgb.insert(image.rgb.end(), {r, g, b});
  return image;
}

struct Rgb {
  int r, g, b;
  bool operator==(const Rgb&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Rgb& c) {
  return os << "(" << c.r << ", " << c.g << ", " << c.b << ")";
}

Rgb pixel(const Image& image, int x, int y) {
  const size_t o = (static_cast<size_t>(y) * static_cast<size_t>(image.width) + x) * 3;
  return {image.rgb.at(o), image.rgb.at(o + 1), image.rgb.at(o + 2)};
}

Tensor random_map(int64_t h, int64_t w, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-3.0f, 5.0f);
  Tensor t({h, w});
  for (float& v : t.values()) v = dist(rng);
  return t;
}

// Naive bilinear resize written from tf.image.resize's description (half_pixel_centers):
// in = (out + 0.5) * scale - 0.5; lower = max(floor(in), 0); upper = min(ceil(in), size - 1);
// lerp = in - floor(in). A different formulation from the code's clamp-then-floor.
double naive_bilinear(const Tensor& m, int64_t oy, int64_t ox, int64_t out_h, int64_t out_w) {
  const auto axis = [](int64_t o, int64_t in, int64_t out, int64_t& lo, int64_t& hi, double& t) {
    const double s = (o + 0.5) * static_cast<double>(in) / static_cast<double>(out) - 0.5;
    lo = std::max<int64_t>(static_cast<int64_t>(std::floor(s)), 0);
    hi = std::min<int64_t>(static_cast<int64_t>(std::ceil(s)), in - 1);
    t = s - std::floor(s);
    if (s < 0) t = 0;  // both neighbours are cell 0
  };
  int64_t y0, y1, x0, x1;
  double ty, tx;
  axis(oy, m.dim(0), out_h, y0, y1, ty);
  axis(ox, m.dim(1), out_w, x0, x1, tx);
  const double top = m.at(y0, x0) * (1 - tx) + m.at(y0, x1) * tx;
  const double bottom = m.at(y1, x0) * (1 - tx) + m.at(y1, x1) * tx;
  return top * (1 - ty) + bottom * ty;
}

void expect_error_containing(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no Error thrown; expected one containing '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

// ---- upsample_bilinear ----

TEST(RenderUpsample, ConstantMapStaysConstant) {
  const Tensor out = upsample_bilinear(Tensor::full({3, 5}, 0.7f), 17, 11);
  ASSERT_EQ(out.shape(), (Shape{17, 11}));
  for (const float v : out.values()) EXPECT_FLOAT_EQ(v, 0.7f);
}

TEST(RenderUpsample, OneByOneFillsTheOutput) {
  const Tensor out = upsample_bilinear(Tensor::full({1, 1}, -2.5f), 4, 6);
  ASSERT_EQ(out.shape(), (Shape{4, 6}));
  for (const float v : out.values()) EXPECT_EQ(v, -2.5f);
}

TEST(RenderUpsample, TwoByTwoToFourByFourByHand) {
  // Per axis, scale 1/2: dst 0..3 -> src -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1),
  // so the weights of cell 1 are 0, .25, .75, 1. With map [[0, 4], [8, 12]] the value is
  // 8 * wy + 4 * wx.
  const Tensor out = upsample_bilinear(Tensor::from({2, 2}, {0, 4, 8, 12}), 4, 4);
  const std::vector<float> want = {0, 1, 3, 4,  2, 3, 5,  6,  //
                                   6, 7, 9, 10, 8, 9, 11, 12};
  ASSERT_EQ(out.shape(), (Shape{4, 4}));
  for (size_t i = 0; i < want.size(); ++i) EXPECT_FLOAT_EQ(out.data()[i], want[i]) << i;
}

TEST(RenderUpsample, MatchesPilBilinear) {
  // PIL 9.4: Image.fromarray(m, 'F').resize((5, 3), Image.BILINEAR), which for upscaling is
  // a unit triangle filter around (dst + 0.5) * scale: the same half-pixel bilinear rule.
  const Tensor map = Tensor::from({2, 3}, {1, 5, -2, 4, 0, 3});
  const std::vector<float> pil = {1.0f, 2.6f, 5.0f, 0.8f, -2.0f,  //
                                  2.5f, 2.5f, 2.5f, 1.3f, 0.5f,   //
                                  4.0f, 2.4f, 0.0f, 1.8f, 3.0f};
  const Tensor out = upsample_bilinear(map, 3, 5);
  for (size_t i = 0; i < pil.size(); ++i) EXPECT_NEAR(out.data()[i], pil[i], 1e-5) << i;
}

TEST(RenderUpsample, MatchesNaiveFormula) {
  // Up, down, mixed and identity sizes, including the 8x8 -> photo case.
  const std::vector<std::array<int64_t, 4>> cases = {
      {3, 5, 7, 4}, {8, 8, 299, 211}, {9, 6, 4, 2}, {5, 5, 5, 5}, {1, 4, 3, 9}};
  unsigned seed = 1;
  for (const auto& [h, w, oh, ow] : cases) {
    const Tensor map = random_map(h, w, seed++);
    const Tensor out = upsample_bilinear(map, oh, ow);
    ASSERT_EQ(out.shape(), (Shape{oh, ow}));
    for (int64_t y = 0; y < oh; ++y) {
      for (int64_t x = 0; x < ow; ++x) {
        ASSERT_NEAR(out.at(y, x), naive_bilinear(map, y, x, oh, ow), 1e-5)
            << h << "x" << w << " -> " << oh << "x" << ow << " at " << y << "," << x;
      }
    }
  }
}

TEST(RenderUpsample, SameSizeIsIdentity) {
  const Tensor map = random_map(4, 7, 9);
  const Tensor out = upsample_bilinear(map, 4, 7);
  for (int64_t i = 0; i < map.size(); ++i) EXPECT_EQ(out.data()[i], map.data()[i]);
}

TEST(RenderUpsample, RejectsBadInput) {
  expect_error_containing([] { upsample_bilinear(Tensor::zeros({4}), 2, 2); }, "[h, w]");
  expect_error_containing([] { upsample_bilinear(Tensor::zeros({1, 2, 2, 1}), 2, 2); }, "[h, w]");
  expect_error_containing([] { upsample_bilinear(Tensor::zeros({0, 3}), 2, 2); }, "[h, w]");
  expect_error_containing([] { upsample_bilinear(Tensor::zeros({2, 2}), 0, 2); }, "positive");
}

// ---- normalize_map ----

void expect_values(const Tensor& t, const std::vector<float>& want) {
  ASSERT_EQ(static_cast<size_t>(t.size()), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_FLOAT_EQ(t.data()[i], want[i]) << i;
}

TEST(RenderNormalize, MinMaxStretchesToUnitRange) {
  // min -2, max 6, range 8
  const Tensor map = Tensor::from({2, 2}, {-2, 0, 6, 2});
  expect_values(normalize_map(map, MapNorm::kMinMax), {0, 0.25f, 1, 0.5f});
  EXPECT_EQ(map.data()[0], -2) << "the input must not be modified";
}

TEST(RenderNormalize, MinMaxOfConstantIsZero) {
  expect_values(normalize_map(Tensor::full({2, 3}, 4.5f), MapNorm::kMinMax), {0, 0, 0, 0, 0, 0});
}

TEST(RenderNormalize, MaxClipsNegativesAndDividesByMax) {
  // keras.io: heatmap = maximum(heatmap, 0) / max(heatmap), max 4
  expect_values(normalize_map(Tensor::from({2, 2}, {-2, 1, 4, 3}), MapNorm::kMax),
                {0, 0.25f, 1, 0.75f});
}

TEST(RenderNormalize, MaxOfNonPositiveMapIsZero) {
  expect_values(normalize_map(Tensor::zeros({2, 2}), MapNorm::kMax), {0, 0, 0, 0});
  expect_values(normalize_map(Tensor::from({1, 3}, {-3, -1, -2}), MapNorm::kMax), {0, 0, 0});
}

TEST(RenderNormalize, RejectsNonFiniteAndEmpty) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  expect_error_containing(
      [&] {
        normalize_map(Tensor::from({1, 2}, {1, nan}), MapNorm::kMax);
      },
      "NaN");
  expect_error_containing(
      [&] {
        normalize_map(Tensor::from({1, 2}, {inf, 1}), MapNorm::kMinMax);
      },
      "infinite");
  expect_error_containing([] { normalize_map(Tensor(), MapNorm::kMax); }, "empty");
}

// ---- colormaps ----

TEST(RenderColormap, ParsesTheFourNames) {
  EXPECT_EQ(parse_colormap("jet"), Colormap::kJet);
  EXPECT_EQ(parse_colormap("turbo"), Colormap::kTurbo);
  EXPECT_EQ(parse_colormap("viridis"), Colormap::kViridis);
  EXPECT_EQ(parse_colormap("inferno"), Colormap::kInferno);
}

TEST(RenderColormap, UnknownNameListsTheChoices) {
  for (const std::string needle : {"'hot'", "jet", "turbo", "viridis", "inferno"}) {
    expect_error_containing([] { parse_colormap("hot"); }, needle);
  }
  EXPECT_THROW(parse_colormap("Jet"), Error);
  EXPECT_THROW(parse_colormap(""), Error);
}

Rgb colour_of(float v, Colormap colormap) {
  return pixel(colorize(Tensor::from({1, 1}, {v}), colormap), 0, 0);
}

// Independent reference values: matplotlib 3.6.3's colormaps[name](x) for x = 0, 0.5, 1,
// printed as floats and rounded here by hand to round(c * 255). E.g. viridis(0.5) =
// (0.127568, 0.566949, 0.550556) -> (32.53, 144.57, 140.39) -> (33, 145, 140).
struct Reference {
  Colormap colormap;
  Rgb at0, at_half, at1;
};

TEST(RenderColormap, MatchesMatplotlibAtEndsAndMiddle) {
  const std::vector<Reference> refs = {
      {Colormap::kJet, {0, 0, 128}, {125, 255, 122}, {128, 0, 0}},
      {Colormap::kTurbo, {48, 18, 59}, {164, 252, 60}, {122, 4, 3}},
      {Colormap::kViridis, {68, 1, 84}, {33, 145, 140}, {253, 231, 37}},
      {Colormap::kInferno, {0, 0, 4}, {188, 55, 84}, {252, 255, 164}},
  };
  for (const Reference& ref : refs) {
    SCOPED_TRACE(static_cast<int>(ref.colormap));
    EXPECT_EQ(colour_of(0.0f, ref.colormap), ref.at0);
    EXPECT_EQ(colour_of(0.5f, ref.colormap), ref.at_half);
    EXPECT_EQ(colour_of(1.0f, ref.colormap), ref.at1);
  }
}

TEST(RenderColormap, JetRunsFromDarkBlueToDarkRed) {
  const Rgb low = colour_of(0.0f, Colormap::kJet);
  const Rgb high = colour_of(1.0f, Colormap::kJet);
  EXPECT_TRUE(low.r == 0 && low.g == 0 && low.b > 100 && low.b < 200) << low;
  EXPECT_TRUE(high.r > 100 && high.r < 200 && high.g == 0 && high.b == 0) << high;
}

TEST(RenderColormap, OutOfRangeValuesTakeTheEndColours) {
  for (const Colormap c : {Colormap::kJet, Colormap::kTurbo, Colormap::kViridis}) {
    EXPECT_EQ(colour_of(-0.3f, c), colour_of(0.0f, c));
    EXPECT_EQ(colour_of(std::numeric_limits<float>::quiet_NaN(), c), colour_of(0.0f, c));
    EXPECT_EQ(colour_of(7.0f, c), colour_of(1.0f, c));
  }
}

TEST(RenderColormap, LookupFollowsMatplotlibsFloorRule) {
  // matplotlib: index floor(v * 256), so v just below 0.5 is entry 127, not 128. matplotlib's
  // jet(0.499) = jet(127/255) = (0.477546, 1.0, 0.490196) -> (122, 255, 125).
  EXPECT_EQ(colour_of(0.499f, Colormap::kJet), (Rgb{122, 255, 125}));
  EXPECT_EQ(colour_of(0.5f, Colormap::kJet), (Rgb{125, 255, 122}));
  // Where floor(v * 256) and round(v * 255) part: matplotlib's jet(0.003) is still entry 0,
  // (0, 0, 0.5), and jet(0.998) is entry 255, (0.5, 0, 0).
  EXPECT_EQ(colour_of(0.003f, Colormap::kJet), (Rgb{0, 0, 128}));
  EXPECT_EQ(colour_of(0.998f, Colormap::kJet), (Rgb{128, 0, 0}));
}

TEST(RenderColormap, ImageIsWidthByHeightInRowMajorOrder) {
  // 2 rows, 3 columns; only cell (row 1, col 2) is hot.
  const Image image = colorize(Tensor::from({2, 3}, {0, 0, 0, 0, 0, 1}), Colormap::kJet);
  ASSERT_EQ(image.width, 3);
  ASSERT_EQ(image.height, 2);
  EXPECT_EQ(pixel(image, 2, 1), (Rgb{128, 0, 0}));
  EXPECT_EQ(pixel(image, 0, 0), (Rgb{0, 0, 128}));
  EXPECT_EQ(pixel(image, 2, 0), (Rgb{0, 0, 128}));
  EXPECT_THROW(colorize(Tensor::zeros({6}), Colormap::kJet), Error);
}

// ---- blend ----

TEST(RenderBlend, MixesChannelsAndRounds) {
  const Image base = solid(2, 1, 0, 10, 200);
  const Image overlay = solid(2, 1, 255, 20, 100);
  // alpha .5: 127.5 -> 128, 15, 150; alpha .25: 63.75 -> 64, 12.5 -> 13, 175
  EXPECT_EQ(pixel(blend(base, overlay, 0.5f), 1, 0), (Rgb{128, 15, 150}));
  EXPECT_EQ(pixel(blend(base, overlay, 0.25f), 0, 0), (Rgb{64, 13, 175}));
  EXPECT_EQ(blend(base, overlay, 0.0f).rgb, base.rgb);
  EXPECT_EQ(blend(base, overlay, 1.0f).rgb, overlay.rgb);
}

// Large images go through a table of the formula's results: every byte equals the formula's.
TEST(RenderBlend, LargeImagesEqualTheFormulaByteForByte) {
  std::mt19937 random(7);
  Image base{640, 480, std::vector<uint8_t>(640 * 480 * 3)};
  Image overlay = base;
  for (uint8_t& v : base.rgb) v = static_cast<uint8_t>(random());
  for (uint8_t& v : overlay.rgb) v = static_cast<uint8_t>(random());
  for (float alpha : {0.0f, 0.4f, 0.5f, 0.77f, 1.0f}) {
    const Image mixed = blend(base, overlay, alpha);
    size_t differ = 0;
    for (size_t i = 0; i < base.rgb.size(); ++i) {
      const double exact =
          (1.0 - alpha) * base.rgb[i] + static_cast<double>(alpha) * overlay.rgb[i];
      differ += mixed.rgb[i] != static_cast<uint8_t>(std::lround(exact));
    }
    EXPECT_EQ(differ, 0u) << "alpha " << alpha;
  }
}

TEST(RenderBlend, RejectsMismatchedSizesAndBadAlpha) {
  const Image a = solid(2, 3, 1, 2, 3);
  expect_error_containing([&] { blend(a, solid(3, 2, 0, 0, 0), 0.5f); }, "sizes differ");
  expect_error_containing([&] { blend(a, a, -0.1f); }, "alpha");
  expect_error_containing([&] { blend(a, a, 1.01f); }, "alpha");
  expect_error_containing([&] { blend(a, a, std::numeric_limits<float>::quiet_NaN()); }, "alpha");
  Image broken = a;
  broken.rgb.pop_back();
  EXPECT_THROW(blend(broken, a, 0.5f), Error);
}

// ---- heatmap_overlay ----

TEST(RenderOverlay, HotCornerIsRedColdCornerIsBlue) {
  // kMax of [[0, 0], [0, 1]] is itself; upsampled to 6x8 the clamped corners stay exactly 0
  // and 1: jet(0) = (0, 0, 128), jet(1) = (128, 0, 0), blended 50/50 over grey 100.
  const Image grey = solid(8, 6, 100, 100, 100);
  const Image out = heatmap_overlay(grey, Tensor::from({2, 2}, {0, 0, 0, 1}), MapNorm::kMax,
                                    Colormap::kJet, 0.5f);
  ASSERT_EQ(out.width, 8);
  ASSERT_EQ(out.height, 6);
  EXPECT_EQ(pixel(out, 0, 0), (Rgb{50, 50, 114}));
  EXPECT_EQ(pixel(out, 7, 5), (Rgb{114, 50, 50}));
  EXPECT_EQ(pixel(out, 7, 0), (Rgb{50, 50, 114}));
}

TEST(RenderOverlay, NormalizationChoiceMatters) {
  // Map [1, 3]: kMinMax -> [0, 1], kMax -> [1/3, 1]. alpha 1 shows the colours alone.
  const Image black = solid(2, 1, 0, 0, 0);
  const Tensor map = Tensor::from({1, 2}, {1, 3});
  const Image minmax = heatmap_overlay(black, map, MapNorm::kMinMax, Colormap::kJet, 1.0f);
  const Image max = heatmap_overlay(black, map, MapNorm::kMax, Colormap::kJet, 1.0f);
  EXPECT_EQ(pixel(minmax, 0, 0), colour_of(0.0f, Colormap::kJet));
  EXPECT_EQ(pixel(max, 0, 0), colour_of(1.0f / 3.0f, Colormap::kJet));
  EXPECT_NE(pixel(minmax, 0, 0), pixel(max, 0, 0));
  EXPECT_EQ(pixel(max, 1, 0), colour_of(1.0f, Colormap::kJet));
}

// ---- resize_image ----

TEST(RenderResizeImage, MatchesNaiveFormulaPerChannel) {
  Image image = solid(5, 3, 0, 0, 0);
  std::mt19937 rng(7);
  for (uint8_t& v : image.rgb) v = static_cast<uint8_t>(rng() % 256);
  for (const auto& [w, h] : std::vector<std::pair<int, int>>{{9, 4}, {2, 2}, {5, 3}, {13, 7}}) {
    const Image out = resize_image(image, w, h);
    ASSERT_EQ(out.width, w);
    ASSERT_EQ(out.height, h);
    for (int c = 0; c < 3; ++c) {
      Tensor channel({3, 5});
      for (int i = 0; i < 15; ++i) channel.data()[i] = image.rgb[static_cast<size_t>(i * 3 + c)];
      for (int y = 0; y < h; ++y) {
        for (int x = 0; x < w; ++x) {
          const double want = naive_bilinear(channel, y, x, h, w);
          const int got = out.rgb[static_cast<size_t>((y * w + x) * 3 + c)];
          ASSERT_LE(std::abs(got - want), 0.5 + 1e-9) << w << "x" << h << " " << x << "," << y;
        }
      }
    }
  }
}

TEST(RenderResizeImage, TwoPixelsToFourByHand) {
  // One row [0, 200] -> 4 wide: weights of pixel 1 are 0, .25, .75, 1 -> 0, 50, 150, 200.
  Image row = solid(2, 1, 0, 0, 0);
  row.rgb[3] = 200;
  const Image out = resize_image(row, 4, 1);
  EXPECT_EQ(out.rgb[0], 0);
  EXPECT_EQ(out.rgb[3], 50);
  EXPECT_EQ(out.rgb[6], 150);
  EXPECT_EQ(out.rgb[9], 200);
  EXPECT_THROW(resize_image(row, 0, 1), Error);
}

// ---- text ----

// 'A' of misc-fixed 6x13, as dumped from 6x13-ISO8859-1.pcf.gz with PIL's PcfFontFile.
const std::vector<std::string> kGlyphA = {
    "......", "......", "..#...", ".#.#..", "#...#.", "#...#.", "#...#.",
    "#####.", "#...#.", "#...#.", "#...#.", "......", "......",
};

bool is_white(const Image& image, int x, int y) {
  return pixel(image, x, y) == Rgb{255, 255, 255};
}

TEST(RenderText, Metrics) {
  EXPECT_EQ(text_width("abc", 1), 18);
  EXPECT_EQ(text_width("abc", 2), 36);
  EXPECT_EQ(text_width("", 3), 0);
  EXPECT_EQ(text_height(1), 13);
  EXPECT_EQ(text_height(2), 26);
  EXPECT_THROW(text_height(0), Error);
}

TEST(RenderText, DrawsTheGlyphPixelForPixel) {
  Image image = solid(8, 15, 0, 0, 0);
  draw_text(image, 1, 2, "A", 255, 255, 255);
  for (int y = 0; y < 15; ++y) {
    for (int x = 0; x < 8; ++x) {
      const int gx = x - 1, gy = y - 2;
      const bool ink = gx >= 0 && gx < 6 && gy >= 0 && gy < 13 && kGlyphA[gy][gx] == '#';
      EXPECT_EQ(is_white(image, x, y), ink) << x << "," << y;
    }
  }
}

TEST(RenderText, ScaleMakesSquares) {
  Image image = solid(12, 26, 0, 0, 0);
  draw_text(image, 0, 0, "A", 10, 20, 30, 2);
  for (int y = 0; y < 26; ++y) {
    for (int x = 0; x < 12; ++x) {
      const bool ink = kGlyphA[y / 2][x / 2] == '#';
      EXPECT_EQ(pixel(image, x, y), ink ? (Rgb{10, 20, 30}) : (Rgb{0, 0, 0})) << x << "," << y;
    }
  }
}

TEST(RenderText, ClipsAtEveryBorder) {
  // Drawn partly off each edge, the visible part must equal the same glyph cut by the edge;
  // ASan/UBSan builds catch any write past the buffer.
  for (const auto& [x0, y0] :
       std::vector<std::pair<int, int>>{{-3, -5}, {4, 9}, {-2, 8}, {5, -12}, {-100, 0}}) {
    Image image = solid(7, 14, 0, 0, 0);
    draw_text(image, x0, y0, "A", 255, 255, 255);
    for (int y = 0; y < 14; ++y) {
      for (int x = 0; x < 7; ++x) {
        const int gx = x - x0, gy = y - y0;
        const bool ink = gx >= 0 && gx < 6 && gy >= 0 && gy < 13 && kGlyphA[gy][gx] == '#';
        ASSERT_EQ(is_white(image, x, y), ink)
            << "origin " << x0 << "," << y0 << " at " << x << "," << y;
      }
    }
  }
  Image image = solid(3, 3, 0, 0, 0);
  draw_text(image, 1, 1, std::string(1000, 'W'), 255, 255, 255, 50);
  draw_text(image, std::numeric_limits<int>::max() - 5, 0, "AAAA", 255, 255, 255, 3);
  draw_text(image, std::numeric_limits<int>::min(), std::numeric_limits<int>::min(), "A", 1, 1, 1,
            7);
}

TEST(RenderText, NonPrintableCharactersDrawAsQuestionMark) {
  Image question = solid(6, 13, 0, 0, 0);
  draw_text(question, 0, 0, "?", 255, 255, 255);
  ASSERT_NE(question.rgb, solid(6, 13, 0, 0, 0).rgb) << "'?' must have ink";
  for (const std::string& odd :
       std::vector<std::string>{"\n", "\x7f", "\x80", "\xc3", std::string(1, '\0')}) {
    Image image = solid(6, 13, 0, 0, 0);
    draw_text(image, 0, 0, odd, 255, 255, 255);
    EXPECT_EQ(image.rgb, question.rgb) << static_cast<int>(static_cast<unsigned char>(odd[0]));
  }
}

TEST(RenderText, CharactersAdvanceBySix) {
  Image pair = solid(12, 13, 0, 0, 0);
  draw_text(pair, 0, 0, "AA", 255, 255, 255);
  Image single = solid(12, 13, 0, 0, 0);
  draw_text(single, 6, 0, "A", 255, 255, 255);
  draw_text(single, 0, 0, "A", 255, 255, 255);
  EXPECT_EQ(pair.rgb, single.rgb);
}

// ---- compose_panel ----

// Bounding box of the pixels of colour `want` inside [x_begin, x_end) x [y_begin, y_end).
struct Box {
  int x0 = 1 << 30, y0 = 1 << 30, x1 = -1, y1 = -1;
  bool empty() const { return x1 < 0; }
};

Box ink_box(const Image& image, int x_begin, int y_begin, int x_end, int y_end, Rgb want) {
  Box box;
  for (int y = y_begin; y < y_end; ++y) {
    for (int x = x_begin; x < x_end; ++x) {
      if (pixel(image, x, y) != want) continue;
      box.x0 = std::min(box.x0, x);
      box.y0 = std::min(box.y0, y);
      box.x1 = std::max(box.x1, x);
      box.y1 = std::max(box.y1, y);
    }
  }
  return box;
}

const Rgb kBlack{0, 0, 0};

TEST(RenderPanel, TilesSideBySideWithCaptionsBelow) {
  const Image red = solid(30, 20, 200, 0, 0);
  const Image blue = solid(25, 20, 0, 0, 200);
  const Image panel = compose_panel({{red, "one"}, {blue, "two"}});
  const Box r = ink_box(panel, 0, 0, panel.width, panel.height, {200, 0, 0});
  const Box b = ink_box(panel, 0, 0, panel.width, panel.height, {0, 0, 200});
  // Each tile copied whole, unscaled, in one row, in order, with white between them.
  EXPECT_EQ(r.x1 - r.x0 + 1, 30);
  EXPECT_EQ(r.y1 - r.y0 + 1, 20);
  EXPECT_EQ(b.x1 - b.x0 + 1, 25);
  EXPECT_EQ(b.y0, r.y0);
  EXPECT_GT(b.x0, r.x1 + 1) << "a white margin between tiles";
  for (int y = 0; y < panel.height; ++y) EXPECT_TRUE(is_white(panel, r.x1 + 1, y)) << y;
  EXPECT_LE(panel.width - 30 - 25, 20) << "a few pixels of margin, not more";
  EXPECT_LE(panel.height - 20, 40) << "a caption band of one line and small margins";
  // Black caption text under each tile, within its columns, nothing black above.
  const Box cap_r = ink_box(panel, r.x0, r.y1 + 1, r.x1 + 1, panel.height, kBlack);
  const Box cap_b = ink_box(panel, b.x0, b.y1 + 1, b.x1 + 1, panel.height, kBlack);
  ASSERT_FALSE(cap_r.empty());
  ASSERT_FALSE(cap_b.empty());
  EXPECT_LE(cap_r.y1 - cap_r.y0 + 1, text_height(1));
  EXPECT_LE(cap_r.x1 - cap_r.x0 + 1, text_width("one", 1));
  const Box all_black = ink_box(panel, 0, 0, panel.width, panel.height, kBlack);
  EXPECT_GT(all_black.y0, r.y1);
  EXPECT_GE(all_black.x0, r.x0);
  EXPECT_LE(all_black.x1, b.x1);
}

TEST(RenderPanel, ScalesTilesToTheFirstHeight) {
  const Image tall = solid(30, 40, 200, 0, 0);
  const Image small = solid(10, 20, 0, 150, 0);
  const Image panel = compose_panel({{tall, "a"}, {small, "b"}});
  const Box g = ink_box(panel, 0, 0, panel.width, panel.height, {0, 150, 0});
  EXPECT_EQ(g.y1 - g.y0 + 1, 40);
  EXPECT_EQ(g.x1 - g.x0 + 1, 20);
}

TEST(RenderPanel, LongCaptionStaysUnderItsTile) {
  const Image tile = solid(60, 20, 200, 0, 0);  // 10 characters a line
  const std::string caption = "a very long caption that cannot possibly fit in two lines";
  const Image panel = compose_panel({{tile, caption}, {tile, ""}});
  const Box r = ink_box(panel, 0, 0, panel.width, panel.height, {200, 0, 0});
  const Box text = ink_box(panel, 0, 0, panel.width, panel.height, kBlack);
  ASSERT_FALSE(text.empty());
  EXPECT_GE(text.x0, r.x0);
  EXPECT_LE(text.x1, r.x0 + 59);
  // Two lines at most: the text fits in two line heights plus a small gap.
  EXPECT_LE(text.y1 - text.y0 + 1, 2 * text_height(1) + 4);
  EXPECT_GT(text.y1 - text.y0 + 1, text_height(1)) << "the caption wraps to a second line";
}

TEST(RenderPanel, LargeTilesGetDoubleSizeText) {
  const Image tile = solid(300, 450, 200, 0, 0);
  const Image panel = compose_panel({{tile, "|"}});  // '|' spans 9 rows of the 13-row cell
  const Box text = ink_box(panel, 0, 0, panel.width, panel.height, kBlack);
  EXPECT_EQ(text.y1 - text.y0 + 1, 18);
  EXPECT_EQ(text.x1 - text.x0 + 1, 2);
  const Image small_panel = compose_panel({{solid(300, 200, 200, 0, 0), "|"}});
  const Box small_text = ink_box(small_panel, 0, 0, small_panel.width, small_panel.height, kBlack);
  EXPECT_EQ(small_text.y1 - small_text.y0 + 1, 9);
}

TEST(RenderPanel, FooterGoesUnderTheCaptions) {
  const Image tile = solid(120, 30, 200, 0, 0);
  const Image without = compose_panel({{tile, "x"}});
  const Image with = compose_panel({{tile, "x"}}, "rating 7.4/10");
  EXPECT_EQ(with.width, without.width);
  EXPECT_GT(with.height, without.height + text_height(1));
  // The rows the footer adds hold black ink; everything above them (all but the 4-pixel
  // bottom margin of the footer-less panel) is the same.
  const Box footer = ink_box(with, 0, without.height - 4, with.width, with.height, kBlack);
  ASSERT_FALSE(footer.empty());
  EXPECT_GE(footer.x1 - footer.x0 + 1, text_width("rating 7.4/10", 1) - 6);
  const size_t above = static_cast<size_t>(without.height - 4) * without.width * 3;
  EXPECT_TRUE(std::equal(without.rgb.begin(), without.rgb.begin() + static_cast<long>(above),
                         with.rgb.begin()));
}

TEST(RenderPanel, RejectsNoTilesAndEmptyTiles) {
  EXPECT_THROW(compose_panel({}), Error);
  EXPECT_THROW(compose_panel({{Image{}, "x"}}), Error);
}

// The example panel of `gaze cam`: a gradient photo and a blob heatmap over it. Written to
// TempDir()/panel_example.png for a human to look at, and read back to check the PNG path.
TEST(RenderPanel, ExampleRoundTripsThroughPng) {
  Image photo = solid(299, 299, 0, 0, 0);
  for (int y = 0; y < 299; ++y) {
    for (int x = 0; x < 299; ++x) {
      const size_t o = (static_cast<size_t>(y) * 299 + x) * 3;
      photo.rgb[o] = static_cast<uint8_t>(x * 255 / 298);
      photo.rgb[o + 1] = static_cast<uint8_t>(y * 255 / 298);
      photo.rgb[o + 2] = 128;
    }
  }
  Tensor blob({8, 8});
  for (int64_t i = 0; i < 8; ++i) {
    for (int64_t j = 0; j < 8; ++j) {
      blob.at(i, j) =
          static_cast<float>(std::exp(-((i - 2.5) * (i - 2.5) + (j - 5) * (j - 5)) / 4));
    }
  }
  const Image overlay = heatmap_overlay(photo, blob, MapNorm::kMax, Colormap::kJet, 0.5f);
  const Image panel = compose_panel({{photo, "original"}, {overlay, "Porn 0.123 gradcam mixed10"}},
                                    "rating 7.4/10");
  const std::string path = ::testing::TempDir() + "panel_example.png";
  save_image(path, panel);
  const Image back = load_image(path);
  EXPECT_EQ(back.width, panel.width);
  EXPECT_EQ(back.height, panel.height);
  EXPECT_EQ(back.rgb, panel.rgb);
}

}  // namespace
}  // namespace gaze
