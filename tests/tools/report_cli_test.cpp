// 'gaze report' as a user meets it: real 'gaze cam --json' output in, a page out; bad lines and
// files reported with their place, the rest still used, exit code 1; atomic writes.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/fixtures.h"
#include "tests/tools/report_support.h"
#include "tests/tools/run_gaze.h"
#include "tests/tools/tiny_model.h"

namespace gaze {
namespace {

using nlohmann::json;
using testing::RunResult;
using testing::TempDir;
namespace fs = std::filesystem;

const std::vector<std::string> kClasses = {"A", "B"};

std::string good(const std::string& input) {
  return testing::cam_line(input, kClasses, {0.7, 0.3}, 5.0, "p.png");
}

// The names left in a folder (no temporaries).
std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(ReportCli, RealCamResultsBecomeAPage) {
  TempDir dir;
  const std::string inputs[] = {testing::fixture_path("npy/chelsea_mobilenet_v2.npy"),
                                testing::fixture_path("npy/coffee_mobilenet_v2.npy")};
  const RunResult cam =
      testing::run_gaze({"cam", "--model", testing::tiny_model(), "--json", "--rating",
                         "cat=10,dog=5", "--out-dir", dir / "panels", inputs[0], inputs[1]});
  ASSERT_EQ(cam.exit_code, 0) << cam.err;
  std::vector<std::string> lines = cam.out_lines();
  ASSERT_EQ(lines.size(), 2u);
  lines.push_back(testing::error_line(dir / "broken.jpg", "broken.jpg: not an image"));
  testing::write_lines(dir / "results.jsonl", lines);
  fs::create_directories(dir / "site");

  const RunResult r = testing::run_gaze(
      {"report", dir / "results.jsonl", "--out", dir / "site/report.html", "--title", "tiny"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out, dir / "site/report.html" + ": 2 results, 1 failed inputs, from 1 files\n");
  EXPECT_EQ(names_in(dir / "site"), std::vector<std::string>{"report.html"});
  const json data = testing::report_data(testing::read_whole_file(dir / "site/report.html"));
  EXPECT_EQ(data["title"], "tiny");
  EXPECT_EQ(data["classes"], json(testing::tiny_classes()));
  ASSERT_EQ(data["results"].size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    SCOPED_TRACE(inputs[i]);
    const json cam_result = json::parse(lines[i]);
    const json& card = data["results"][i];
    EXPECT_EQ(card["f"], inputs[i]);
    // The panel cam wrote, linked from the report's folder.
    const std::string panel = cam_result["outputs"]["panel"];
    EXPECT_TRUE(fs::exists(panel));
    EXPECT_EQ(card["s"], "../panels/" + fs::path(panel).filename().string());
    EXPECT_NEAR(card["r"].get<double>(), cam_result["rating"].get<double>(), 1e-5);
    ASSERT_EQ(card["p"].size(), cam_result["predictions"].size());
    for (size_t k = 0; k < card["p"].size(); ++k) {
      const json& recorded = cam_result["predictions"][k];
      EXPECT_EQ(data["classes"][card["p"][k][0].get<size_t>()], recorded["class"]);
      const double prob = recorded["prob"];
      EXPECT_NEAR(card["p"][k][1].get<double>(), prob, 5e-6 * prob);  // 6 significant digits
    }
  }
  ASSERT_EQ(data["errors"].size(), 1u);
  EXPECT_EQ(data["errors"][0]["e"], "broken.jpg: not an image");
}

TEST(ReportCli, BadLinesAreReportedWithTheirPlaceSkippedAndExitOne) {
  TempDir dir;
  const std::string results = dir / "r.jsonl";
  testing::write_lines(results,
                       {good("a.jpg"), "{\"input\": \"b.jpg\", \"predi", good("c.jpg"), "[]", ""});
  const RunResult r = testing::run_gaze({"report", results, "--out", dir / "report.html"});
  EXPECT_EQ(r.exit_code, 1);
  const std::vector<std::string> err = r.err_lines();
  ASSERT_EQ(err.size(), 2u) << r.err;
  EXPECT_EQ(err[0].rfind("gaze: error: " + results + ":2: not JSON", 0), 0u) << err[0];
  EXPECT_EQ(err[1], "gaze: error: " + results + ":4: not a JSON object");
  // The rest is still in the report.
  const json data = testing::report_data(testing::read_whole_file(dir / "report.html"));
  ASSERT_EQ(data["results"].size(), 2u);
  EXPECT_EQ(data["results"][1]["f"], "c.jpg");
  EXPECT_EQ(data["badLines"], 2);
}

TEST(ReportCli, AFileOfGarbageGivesTenLinesAndACount) {
  TempDir dir;
  std::vector<std::string> lines(25, "garbage");
  lines[3] = good("a.jpg");
  testing::write_lines(dir / "r.jsonl", lines);
  const RunResult r = testing::run_gaze({"report", dir / "r.jsonl", "--out", dir / "report.html"});
  EXPECT_EQ(r.exit_code, 1);
  const std::vector<std::string> err = r.err_lines();
  ASSERT_EQ(err.size(), 11u) << r.err;
  EXPECT_EQ(err[9].rfind("gaze: error: " + dir / "r.jsonl" + ":11: ", 0), 0u) << err[9];
  EXPECT_EQ(err[10], "gaze: error: " + dir / "r.jsonl" + ": 14 more malformed lines skipped");
  EXPECT_TRUE(fs::exists(dir / "report.html"));
}

TEST(ReportCli, UnreadableFilesAreSkippedAndNoFileMeansNoReport) {
  TempDir dir;
  testing::write_lines(dir / "r.jsonl", {good("a.jpg")});
  RunResult r = testing::run_gaze(
      {"report", dir / "absent.jsonl", dir / "r.jsonl", dir.path(), "--out", dir / "report.html"});
  EXPECT_EQ(r.exit_code, 1);
  ASSERT_EQ(r.err_lines().size(), 2u) << r.err;
  EXPECT_EQ(r.err_lines()[0],
            "gaze: error: " + dir / "absent.jsonl" + ": cannot open (No such file or directory)");
  EXPECT_EQ(r.err_lines()[1],
            "gaze: error: " + dir.path() + ": is a folder, not a JSON Lines file");
  EXPECT_TRUE(fs::exists(dir / "report.html"));

  r = testing::run_gaze({"report", dir / "absent.jsonl", "--out", dir / "none.html"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err_lines().size(), 1u) << r.err;
  EXPECT_FALSE(fs::exists(dir / "none.html"));
}

TEST(ReportCli, ReplacesAnOldReportWholeAndRefusesBadOptions) {
  TempDir dir;
  testing::write_lines(dir / "r.jsonl", {good("a.jpg")});
  testing::write_lines(dir / "report.html", {"old"});
  RunResult r = testing::run_gaze({"report", dir / "r.jsonl", "--out", dir / "report.html"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(testing::read_whole_file(dir / "report.html").find("<!DOCTYPE html>"),
            std::string::npos);
  EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{"r.jsonl", "report.html"}));

  // A folder that does not exist: one line naming the report; nothing left behind.
  r = testing::run_gaze({"report", dir / "r.jsonl", "--out", dir / "missing/report.html"});
  EXPECT_EQ(r.exit_code, 1);
  ASSERT_EQ(r.err_lines().size(), 1u) << r.err;
  EXPECT_NE(r.err_lines()[0].find(dir / "missing/report.html"), std::string::npos);

  for (const char* bad : {"0", "-3", "many"}) {
    r = testing::run_gaze({"report", "--per-page", bad, dir / "r.jsonl"});
    EXPECT_EQ(r.exit_code, 1);
    ASSERT_EQ(r.err_lines().size(), 1u) << r.err;
    EXPECT_NE(r.err_lines()[0].find("--per-page"), std::string::npos);
  }
  r = testing::run_gaze({"report"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err_lines().size(), 1u);
  EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{"r.jsonl", "report.html"}));
}

}  // namespace
}  // namespace gaze
