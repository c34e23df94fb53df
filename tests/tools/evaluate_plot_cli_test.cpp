// `gaze evaluate --plot FILE.png` from the command line, on the committed tiny model: a PNG of
// the stated size whose curves pass through the mean curves of the JSON the same run printed;
// bad --plot names are one error line and write nothing.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cam/evaluate_plot.h"
#include "cam/image.h"
#include "cam/plot.h"
#include "tests/support/fixtures.h"
#include "tests/tools/run_gaze.h"
#include "tests/tools/tiny_model.h"

namespace gaze {
namespace {

using testing::fixture_path;
using testing::RunResult;
using testing::TempDir;
using testing::tiny_model;

TEST(EvaluatePlotCli, ThePngShowsTheMeanCurvesOfTheRun) {
  const TempDir dir;
  const std::string png = dir / "curves.png";
  const RunResult r = testing::run_gaze(
      {"evaluate", "--model", tiny_model(), "--method", "gradcam,random,center", "--layer",
       "top_conv", "--steps", "6", "--json", "--plot", png,
       fixture_path("npy/chelsea_mobilenet_v2.npy"), fixture_path("npy/coffee_mobilenet_v2.npy")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The mean curves from the JSON lines.
  std::vector<EvaluatedCurves> curves;
  for (const std::string& line : r.out_lines()) {
    const nlohmann::json object = nlohmann::json::parse(line);
    for (const auto& e : object["evaluations"]) {
      EvaluatedCurves c{e["method"].get<std::string>(), e["layer"].get<std::string>(), {}, {}};
      for (auto [name, curve] :
           {std::pair{"deletion", &c.deletion}, std::pair{"insertion", &c.insertion}}) {
        curve->fraction = e[name]["fraction"].get<std::vector<double>>();
        curve->score = e[name]["score"].get<std::vector<double>>();
        curve->auc = e[name]["auc"];
      }
      curves.push_back(c);
    }
  }
  ASSERT_EQ(curves.size(), 6u);  // 2 inputs x 3 methods
  const std::vector<PlotPanel> panels = evaluation_panels(curves);
  ASSERT_EQ(panels[0].series.size(), 3u);
  EXPECT_EQ(panels[0].series[0].name.rfind("gradcam  AUC ", 0), 0u);
  EXPECT_NE(panels[0].series[2].name.find("(n=2)"), std::string::npos);

  const Image img = load_image(png);
  const int width = 480, height = 384 + 16 * 3;
  ASSERT_EQ(img.width, 2 * width);
  ASSERT_EQ(img.height, height);
  // The last series (center) is drawn on top: its colour at each of its points, in both panels.
  for (size_t k = 0; k < 2; ++k) {
    const PlotPanel& panel = panels[k];
    const PlotArea a = plot_area(panel, width, height);
    const PlotSeries& s = panel.series[2];
    for (size_t i = 0; i < s.x.size(); ++i) {
      const int x = static_cast<int>(k) * width + plot_px(panel, a, s.x[i]);
      const int y = plot_py(panel, a, s.y[i]);
      const uint8_t* p = img.rgb.data() + (static_cast<size_t>(y) * img.width + x) * 3;
      EXPECT_EQ((std::array<uint8_t, 3>{p[0], p[1], p[2]}), plot_color(2))
          << panel.title << " point " << i;
    }
  }
}

TEST(EvaluatePlotCli, BadPlotNamesAreOneErrorLine) {
  const TempDir dir;
  for (const std::string& name : {dir / "curves.jpg", dir / "no/such/folder/curves.png"}) {
    SCOPED_TRACE(name);
    const RunResult r =
        testing::run_gaze({"evaluate", "--model", tiny_model(), "--steps", "2", "--plot", name,
                           fixture_path("npy/chelsea_mobilenet_v2.npy")});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    const std::vector<std::string> lines = r.err_lines();
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(lines.back().rfind("gaze: error: ", 0), 0u) << r.err;
    EXPECT_NE(lines.back().find(name), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(name));
  }
  // Every input failing: no plot either.
  const std::string png = dir / "none.png";
  const RunResult r = testing::run_gaze(
      {"evaluate", "--model", tiny_model(), "--steps", "2", "--plot", png, dir / "missing.npy"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_FALSE(std::filesystem::exists(png));
}

}  // namespace
}  // namespace gaze
