// cam/plot.h and cam/evaluate_plot.h: the pixels of drawn lines at the coordinates the axes give,
// the layout, errors, and the evaluation picture written as a PNG of the stated size.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "cam/evaluate_plot.h"
#include "cam/image.h"
#include "cam/plot.h"
#include "tensor/error.h"

namespace gaze {
namespace {

std::array<uint8_t, 3> at(const Image& img, int x, int y) {
  const uint8_t* p = img.rgb.data() + (static_cast<size_t>(y) * img.width + x) * 3;
  return {p[0], p[1], p[2]};
}

const std::array<uint8_t, 3> kWhite = {255, 255, 255};

PlotPanel two_lines() {
  PlotPanel p;
  p.title = "t";
  p.x_label = "x";
  p.y_label = "y";
  p.series.push_back({"flat", {0.0, 1.0}, {0.5, 0.5}});    // a horizontal line at y = 0.5
  p.series.push_back({"rising", {0.0, 1.0}, {0.0, 1.0}});  // the diagonal
  return p;
}

TEST(Plot, AreaAndPixelMapping) {
  const PlotPanel p = two_lines();
  const PlotArea a = plot_area(p, 400, 300);
  EXPECT_GT(a.width, 300);
  EXPECT_GT(a.height, 150);
  EXPECT_EQ(plot_px(p, a, 0.0), a.left);
  EXPECT_EQ(plot_px(p, a, 1.0), a.left + a.width);
  EXPECT_EQ(plot_py(p, a, 0.0), a.top + a.height);
  EXPECT_EQ(plot_py(p, a, 1.0), a.top);
  EXPECT_EQ(plot_px(p, a, 2.0), a.left + a.width);  // clamped
  EXPECT_EQ(plot_py(p, a, -1.0), a.top + a.height);
  // Every legend line takes 16 px of the area's height.
  PlotPanel more = p;
  more.series.push_back({"third", {}, {}});
  EXPECT_EQ(plot_area(more, 400, 300).height, a.height - 16);
}

TEST(Plot, LinesArePaintedInTheirColourWhereTheAxesSay) {
  const PlotPanel p = two_lines();
  // 400 x 454 px makes the area square, so that the diagonal is Bresenham's exact 45 degrees.
  const Image img = draw_plot(p, 400, 454);
  ASSERT_EQ(img.width, 400);
  ASSERT_EQ(img.height, 454);
  const PlotArea a = plot_area(p, 400, 454);
  ASSERT_EQ(a.width, a.height);
  // The flat line (series 0) across, at y = 0.5, away from the crossing with the diagonal.
  for (double x : {0.1, 0.3, 0.7, 0.9}) {
    EXPECT_EQ(at(img, plot_px(p, a, x), plot_py(p, a, 0.5)), plot_color(0)) << x;
    // Four pixels above it nothing is drawn but maybe a grid line: not the series' colour.
    EXPECT_NE(at(img, plot_px(p, a, x), plot_py(p, a, 0.5) - 4), plot_color(0)) << x;
  }
  // The diagonal (series 1), drawn after: on top at the crossing too.
  for (double t : {0.15, 0.35, 0.5, 0.85}) {
    EXPECT_EQ(at(img, plot_px(p, a, t), plot_py(p, a, t)), plot_color(1)) << t;
  }
  // Axes: black along the left and bottom edges of the area.
  EXPECT_EQ(at(img, a.left, a.top + a.height / 3), (std::array<uint8_t, 3>{0, 0, 0}));
  EXPECT_EQ(at(img, a.left + a.width / 3, a.top + a.height), (std::array<uint8_t, 3>{0, 0, 0}));
  // A tick below the x axis at x = 0.2 (ticks = 5).
  EXPECT_EQ(at(img, plot_px(p, a, 0.2), a.top + a.height + 3), (std::array<uint8_t, 3>{0, 0, 0}));
  EXPECT_EQ(at(img, plot_px(p, a, 0.3), a.top + a.height + 3), kWhite);
  // The legend's swatches below the x label, in the series' colours, one line apart.
  int swatches = 0;
  for (int y = a.top + a.height; y + 16 < img.height; ++y) {
    if (at(img, a.left + 8, y) != plot_color(0)) continue;
    ++swatches;
    EXPECT_EQ(at(img, a.left + 8, y + 16), plot_color(1));
  }
  EXPECT_EQ(swatches, 3);  // 3 px high
  // The white outside the area's right edge.
  EXPECT_EQ(at(img, 399, a.top + a.height / 2), kWhite);
}

TEST(Plot, ANonFiniteValueIsAGapInTheLine) {
  PlotPanel p = two_lines();
  p.series.pop_back();  // the flat line at y = 0.5, with its middle point not a number
  p.series[0] = {"gappy", {0.0, 0.5, 1.0}, {0.5, std::nan(""), 0.5}};
  const Image img = draw_plot(p, 400, 454);
  const PlotArea a = plot_area(p, 400, 454);
  const int y = plot_py(p, a, 0.5);
  // Both ends are drawn (a dot each), nothing between them at any height.
  EXPECT_EQ(at(img, plot_px(p, a, 0.0), y), plot_color(0));
  EXPECT_EQ(at(img, plot_px(p, a, 1.0), y), plot_color(0));
  for (int x = plot_px(p, a, 0.05); x < plot_px(p, a, 0.95); ++x)
    for (int yy = a.top; yy <= a.top + a.height; ++yy)
      ASSERT_NE(at(img, x, yy), plot_color(0)) << x << "," << yy;
}

TEST(Plot, PanelsSideBySide) {
  PlotPanel left = two_lines(), right = two_lines();
  right.series.pop_back();  // only the flat line
  const Image img = draw_plots({left, right}, 300, 250);
  ASSERT_EQ(img.width, 600);
  ASSERT_EQ(img.height, 250);
  const PlotArea a = plot_area(right, 300, 250);
  EXPECT_EQ(at(img, 300 + plot_px(right, a, 0.25), plot_py(right, a, 0.5)), plot_color(0));
  EXPECT_NE(a.height, plot_area(left, 300, 250).height);  // one legend line less
  const PlotArea b = plot_area(left, 300, 250);
  EXPECT_EQ(at(img, plot_px(left, b, 0.25), plot_py(left, b, 0.5)), plot_color(0));
}

TEST(Plot, Errors) {
  PlotPanel p = two_lines();
  EXPECT_THROW(draw_plot(p, 100, 80), Error);  // too small
  p.x_max = p.x_min;
  EXPECT_THROW(draw_plot(p, 400, 300), Error);
  p = two_lines();
  p.series[0].y.pop_back();
  EXPECT_THROW(draw_plot(p, 400, 300), Error);
  EXPECT_THROW(draw_plots({}, 400, 300), Error);
}

Curve curve(std::vector<double> score) {
  Curve c;
  for (size_t i = 0; i < score.size(); ++i)
    c.fraction.push_back(static_cast<double>(i) / static_cast<double>(score.size() - 1));
  c.score = std::move(score);
  c.auc = trapezoid_auc(c.fraction, c.score);
  return c;
}

TEST(EvaluatePlot, MeanCurvesPerMethodAndThePng) {
  const Curve a = curve({1.0, 0.5, 0.0}), b = curve({0.6, 0.3, 0.2});
  const Curve m = mean_curve({&a, &b});
  ASSERT_EQ(m.score.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_NEAR(m.score[i], (std::vector{0.8, 0.4, 0.1})[i], 1e-15);
  EXPECT_DOUBLE_EQ(m.auc, trapezoid_auc(m.fraction, m.score));
  const Curve other = curve({1.0, 0.0});
  EXPECT_THROW(mean_curve({&a, &other}), Error);
  EXPECT_THROW(mean_curve({}), Error);

  const std::vector<EvaluatedCurves> curves = {
      {"gradcam", "mixed10", a, b}, {"random", "mixed10", b, a}, {"gradcam", "mixed10", b, a}};
  const std::vector<PlotPanel> panels = evaluation_panels(curves);
  ASSERT_EQ(panels.size(), 2u);
  ASSERT_EQ(panels[0].series.size(), 2u);
  EXPECT_EQ(panels[0].series[0].name, "gradcam  AUC 0.4250 (n=2)");
  EXPECT_EQ(panels[0].series[0].y, m.score);
  EXPECT_EQ(panels[0].series[1].name, "random  AUC 0.3500 (n=1)");
  EXPECT_EQ(panels[1].series[1].y, a.score);
  // Several layers: the layer joins the name.
  const std::vector<PlotPanel> two =
      evaluation_panels({{"gradcam", "mixed10", a, b}, {"gradcam", "mixed7", a, b}});
  EXPECT_EQ(two[1].series[1].name, "gradcam mixed7  AUC 0.3500 (n=1)");
  EXPECT_THROW(evaluation_panels({}), Error);

  const Image img = evaluation_plot(curves);
  EXPECT_EQ(img.width, 960);
  EXPECT_EQ(img.height, 384 + 2 * 16);
  const std::string path =
      (std::filesystem::temp_directory_path() / "gaze_evaluate_plot_test.png").string();
  save_image(path, img);
  // A PNG: the signature, then IHDR with the width and height.
  std::ifstream in(path, std::ios::binary);
  std::vector<unsigned char> head(24);
  in.read(reinterpret_cast<char*>(head.data()), 24);
  ASSERT_TRUE(in);
  EXPECT_EQ(std::vector<unsigned char>(head.begin(), head.begin() + 8),
            (std::vector<unsigned char>{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}));
  EXPECT_EQ(std::string(head.begin() + 12, head.begin() + 16), "IHDR");
  EXPECT_EQ((head[16] << 24) | (head[17] << 16) | (head[18] << 8) | head[19], 960);
  EXPECT_EQ((head[20] << 24) | (head[21] << 16) | (head[22] << 8) | head[23], 416);
  const Image back = load_image(path);
  EXPECT_EQ(back.width, img.width);
  EXPECT_EQ(back.height, img.height);
  EXPECT_EQ(back.rgb, img.rgb);
  std::filesystem::remove(path);
}

// The sanity check's picture (cam/sanity.h's curves).
TEST(SanityPlot, TheCascadeAsTheShareOfLayersAndTheMeansInTheLegend) {
  SanityCurve gradcam{"gradcam", "mixed10", {2, 4}, {"a", "b"}, {0.5, -0.23}, {0.8, 0.4}, 3};
  gradcam.mean_spearman = 0.135;
  gradcam.mean_ssim = 0.6;
  SanityCurve edges{"edges", "mixed10", {2, 4}, {"a", "b"}, {1.0, 1.0}, {1.0, 1.0}, 3};
  edges.mean_spearman = edges.mean_ssim = 1.0;
  edges.flagged = true;
  const std::vector<PlotPanel> panels = sanity_panels({gradcam, edges}, 8);
  ASSERT_EQ(panels.size(), 2u);
  ASSERT_EQ(panels[0].series.size(), 2u);
  EXPECT_EQ(panels[0].series[0].x, (std::vector{0.25, 0.5}));
  EXPECT_EQ(panels[0].series[0].y, gradcam.spearman);
  EXPECT_EQ(panels[1].series[0].y, gradcam.ssim);
  EXPECT_EQ(panels[0].series[0].name, "gradcam  mean 0.135 (n=3)");
  EXPECT_EQ(panels[1].series[1].name, "edges  mean 1.000 (n=3)  flagged");
  // y from the lowest value rounded down to 0.1 (-0.23 -> -0.3), in both panels, up to 1.
  EXPECT_DOUBLE_EQ(panels[0].y_min, -0.3);
  EXPECT_DOUBLE_EQ(panels[1].y_min, -0.3);
  EXPECT_DOUBLE_EQ(panels[0].y_max, 1.0);
  EXPECT_THROW(sanity_panels({}, 8), Error);
  EXPECT_THROW(sanity_panels({gradcam}, 0), Error);

  // The edges line at y = 1 is drawn in its colour at the top of the area.
  const Image img = sanity_plot({gradcam, edges}, 8);
  EXPECT_EQ(img.width, 960);
  EXPECT_EQ(img.height, 384 + 2 * 16);
  const PlotArea area = plot_area(panels[0], 480, img.height);
  const int x = plot_px(panels[0], area, 0.375), y = plot_py(panels[0], area, 1.0);
  EXPECT_EQ(at(img, x, y), plot_color(1));
  EXPECT_NE(at(img, x, y + 6), plot_color(1));
}

}  // namespace
}  // namespace gaze
