// The report page in a real browser: Debian's Chromium, headless, loads a generated report with a
// view in its URL hash, runs its scripts, and dumps the DOM (--dump-dom), which is checked here:
// the cards, a filter, a sort, the search, the pager, the summary's counts, the failures, and
// that a hostile file name stays text. Skipped (a failure under GAZE_NO_SKIP=1 or CI=true) only
// where Chromium is not installed (tools/setup.sh installs it).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cam/image.h"
#include "tests/support/fixtures.h"
#include "tests/tools/collection_support.h"
#include "tests/tools/report_support.h"
#include "tests/tools/run_gaze.h"
#include "tests/tools/tiny_model.h"

namespace gaze {
namespace {

using testing::RunResult;
using testing::TempDir;
namespace fs = std::filesystem;

const std::vector<std::string> kClasses = {"Drawing", "Hentai", "Neutral", "Porn", "Sexy"};
const std::string kHostile =
    "x\"'&<img src=q onerror=document.body.setAttribute('data-pwned',1)>.jpg";

std::string chromium() {
  for (const char* path : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
    if (fs::exists(path)) return path;
  }
  return "";
}

// The DOM after the page's scripts ran, as Chromium serializes it.
std::string dump_dom(const std::string& browser, const std::string& page, const std::string& hash,
                     const TempDir& dir) {
  // The URL and the paths are quoted for the shell; none of them holds a single quote.
  const std::string command = "'" + browser +
                              "' --headless --no-sandbox --disable-gpu --user-data-dir='" +
                              (dir / "profile") + "' --dump-dom 'file://" + page + "#" + hash +
                              "' 2>'" + (dir / "chromium.log") + "'";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), &::pclose);
  if (!pipe) {
    ADD_FAILURE() << "cannot run " << command;
    return "";
  }
  std::string dom;
  char buffer[65536];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe.get())) > 0;) dom.append(buffer, n);
  if (dom.find("</html>") == std::string::npos) {
    ADD_FAILURE() << command << "\nprinted no page; its log:\n"
                  << testing::read_whole_file(dir / "chromium.log");
  }
  return dom;
}

std::string html_unescape(std::string s) {
  const std::pair<std::string, std::string> entities[] = {
      {"&quot;", "\""}, {"&#39;", "'"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}};
  for (const auto& [entity, text] : entities) {
    for (size_t at = 0; (at = s.find(entity, at)) != std::string::npos; at += text.size())
      s.replace(at, entity.size(), text);
  }
  return s;
}

// The values of attribute `attribute` on the elements whose start tag begins with `tag_start`,
// in document order.
std::vector<std::string> attribute_values(const std::string& dom, const std::string& tag_start,
                                          const std::string& attribute) {
  std::vector<std::string> values;
  for (size_t at = 0; (at = dom.find(tag_start, at)) != std::string::npos; at += tag_start.size()) {
    // The attribute must be in this start tag, which ends at the first '"' followed by '>'
    // (Chromium quotes every value and escapes '"' and '>' inside them).
    const size_t name = dom.find(" " + attribute + "=\"", at);
    if (name == std::string::npos || name > dom.find("\">", at)) continue;
    const size_t value = name + attribute.size() + 3;
    values.push_back(html_unescape(dom.substr(value, dom.find('"', value) - value)));
  }
  return values;
}

std::vector<std::string> cards(const std::string& dom) {
  return attribute_values(dom, "<article class=\"card\"", "data-input");
}

// The summary's count of inputs predicted as `cls` ("(failed)" for the failures).
std::string summary_count(const std::string& dom, const std::string& cls) {
  const size_t row = dom.find("<tr data-class=\"" + cls + "\">");
  if (row == std::string::npos) return "no row";
  const std::string cell = "<td class=\"count\">";
  const size_t at = dom.find(cell, row) + cell.size();
  return dom.substr(at, dom.find('<', at) - at);
}

std::string matched(const std::string& dom) {
  const std::vector<std::string> v = attribute_values(dom, "<main id=\"cards\"", "data-matched");
  return v.empty() ? "none" : v[0];
}

class ReportBrowser : public ::testing::Test {
 protected:
  void SetUp() override {
    browser_ = chromium();
    if (browser_.empty()) {
      GAZE_CANNOT_RUN("Chromium is not installed (tools/setup.sh installs Debian's chromium)");
    }
    // Real panels: small PNG files, one per successful input.
    fs::create_directories(dir_ / "panels");
    fs::create_directories(dir_ / "site");
    const std::vector<std::pair<std::string, std::vector<double>>> probs = {
        {kHostile, {0.8, 0.2, 0, 0, 0}},    {"e.jpg", {0.01, 0.01, 0.02, 0.95, 0.01}},
        {"a.jpg", {0, 0, 0.1, 0.7, 0.2}},   {"b.jpg", {0, 0, 0.1, 0.3, 0.6}},
        {"c.jpg", {0.05, 0, 0.9, 0, 0.05}}, {"cat_d.jpg", {0, 0, 0.05, 0.55, 0.4}},
    };
    const std::vector<double> ratings = {2, 9.6, 8.5, 9.5, 5, 9.7};
    std::vector<std::string> shard0;
    for (size_t i = 0; i < probs.size(); ++i) {
      const std::string panel = dir_ / ("panels/panel" + std::to_string(i) + ".png");
      save_image(panel, Image{8, 4, std::vector<uint8_t>(8 * 4 * 3, static_cast<uint8_t>(40 * i))});
      shard0.push_back(
          testing::cam_line(probs[i].first, kClasses, probs[i].second, ratings[i], panel));
    }
    shard0.push_back(testing::error_line("bad.jpg", "bad.jpg: not an image (</li><b>x</b>)"));
    // The second shard re-ran c.jpg (its last success wins) and failed on a.jpg (a failure
    // never replaces a success).
    const std::vector<std::string> shard1 = {
        testing::cam_line("c.jpg", kClasses, {0.05, 0, 0.8, 0, 0.15}, 5,
                          dir_ / "panels/panel4.png"),
        testing::error_line("a.jpg", "a.jpg: cannot read")};
    testing::write_lines(dir_ / "shard0.jsonl", shard0);
    testing::write_lines(dir_ / "shard1.jsonl", shard1);
    page_ = dir_ / "site/report.html";
    const RunResult r = testing::run_gaze({"report", dir_ / "shard0.jsonl", dir_ / "shard1.jsonl",
                                           "--per-page", "4", "--out", page_});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  std::string dom(const std::string& hash) { return dump_dom(browser_, page_, hash, dir_); }

  TempDir dir_;
  std::string browser_, page_;
};

TEST_F(ReportBrowser, ShowsCardsSummaryAndFailures) {
  const std::string d = dom("");
  // 6 results on pages of 4, in file order; the hostile name is the first card, as text.
  EXPECT_EQ(matched(d), "6");
  EXPECT_EQ(cards(d), (std::vector<std::string>{kHostile, "e.jpg", "a.jpg", "b.jpg"}));
  // Had the name become markup, its onerror would have marked the body.
  const size_t body = d.find("<body");
  EXPECT_EQ(d.substr(body, d.find('>', body) - body).find("data-pwned"), std::string::npos);
  EXPECT_EQ(d.find("<img src=\"q\""), std::string::npos);
  EXPECT_EQ(d.find("<b>x</b>"), std::string::npos);
  // Every card's thumbnail is a lazy image of a panel that exists, linked relatively.
  const std::vector<std::string> sources = attribute_values(d, "<img loading=\"lazy\"", "src");
  ASSERT_EQ(sources.size(), 4u);
  for (const std::string& src : sources) {
    EXPECT_EQ(src.rfind("../panels/panel", 0), 0u) << src;
    EXPECT_TRUE(fs::exists(dir_ / ("site/" + src))) << src;
  }
  // The summary counts each input once, by its merged result.
  EXPECT_EQ(summary_count(d, "Porn"), "3");
  EXPECT_EQ(summary_count(d, "Sexy"), "1");
  EXPECT_EQ(summary_count(d, "Neutral"), "1");
  EXPECT_EQ(summary_count(d, "Drawing"), "1");
  EXPECT_EQ(summary_count(d, "Hentai"), "0");
  EXPECT_EQ(summary_count(d, "(failed)"), "1");
  // One histogram per class and one of the rating, each an inline SVG with 10 bins.
  EXPECT_EQ(attribute_values(d, "<figure class=\"histogram\"", "data-name").size(), 6u);
  EXPECT_EQ(attribute_values(d, "<rect class=\"bin\"", "data-count").size(), 60u);
  // The failures, with their errors; a.jpg's failure in shard 1 did not replace its success.
  EXPECT_EQ(attribute_values(d, "<li class=\"error\"", "data-input"),
            std::vector<std::string>{"bad.jpg"});
  EXPECT_NE(d.find("bad.jpg: not an image (&lt;/li&gt;&lt;b&gt;x&lt;/b&gt;)"), std::string::npos);
}

TEST_F(ReportBrowser, FiltersAndSortsFromTheHash) {
  // Predicted Porn with a Porn probability of at least 0.6, sorted by Sexy, high to low.
  std::string d = dom("class=Porn&min=0.6&sort=Sexy");
  EXPECT_EQ(matched(d), "2");
  EXPECT_EQ(cards(d), (std::vector<std::string>{"a.jpg", "e.jpg"}));
  // The controls show the view.
  EXPECT_NE(d.find("<select id=\"f-class\">"), std::string::npos);
  // By rating, low to high, second page: the two highest.
  d = dom("sort=rating&order=asc&page=2");
  EXPECT_EQ(matched(d), "6");
  EXPECT_EQ(cards(d), (std::vector<std::string>{"e.jpg", "cat_d.jpg"}));
  d = dom("sort=rating&order=asc");
  EXPECT_EQ(cards(d), (std::vector<std::string>{kHostile, "c.jpg", "a.jpg", "b.jpg"}));
  // The search ignores case; the re-run c.jpg shows its last result (Neutral 0.800).
  d = dom("q=CAT");
  EXPECT_EQ(cards(d), std::vector<std::string>{"cat_d.jpg"});
  d = dom("q=c.jpg");
  EXPECT_EQ(cards(d), std::vector<std::string>{"c.jpg"});
  EXPECT_NE(d.find("<span class=\"prob\">0.800</span>"), std::string::npos);
  // The rating's range: 9.5 to 10.
  d = dom("of=rating&min=9.5&max=10&sort=file");
  EXPECT_EQ(cards(d), (std::vector<std::string>{"b.jpg", "cat_d.jpg", "e.jpg"}));
}

// The collection's whole path: a folder with nested subfolders, duplicate names and a corrupt
// file, through 3 shards run as 3 concurrent processes, their JSONL files merged into one report,
// read in the browser: one card per good input, each with its panel, and the failure listed.
TEST(ReportOfShards, ThreeConcurrentShardsMergeIntoOneReport) {
  const std::string browser = chromium();
  if (browser.empty()) {
    GAZE_CANNOT_RUN("Chromium is not installed (tools/setup.sh installs Debian's chromium)");
  }
  TempDir dir;
  const std::string photos = testing::make_collection(dir);
  std::vector<std::future<RunResult>> shards;
  std::vector<std::string> report = {"report", "--out", dir / "site/report.html"};
  for (int i = 0; i < 3; ++i) {
    const std::string jsonl = dir / ("s" + std::to_string(i) + ".jsonl");
    report.push_back(jsonl);
    const std::vector<std::string> args = {"cam",          "--model", testing::tiny_model(),
                                           "--quiet",      "--shard", std::to_string(i) + "/3",
                                           "--jsonl",      jsonl,     "--out-dir",
                                           dir / "panels", photos};
    shards.push_back(std::async(std::launch::async, [args] { return testing::run_gaze(args); }));
  }
  for (auto& s : shards) EXPECT_LE(s.get().exit_code, 1);
  fs::create_directories(dir / "site");
  const RunResult r = testing::run_gaze(report);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string d = dump_dom(browser, dir / "site/report.html", "sort=file", dir);
  EXPECT_EQ(matched(d), "4");
  std::vector<std::string> shown = cards(d);
  std::sort(shown.begin(), shown.end());
  EXPECT_EQ(shown, (std::vector<std::string>{photos + "/a/deep/y.npy", photos + "/a/x.npy",
                                             photos + "/b/x.npy", photos + "/top.npy"}));
  for (const std::string& src : attribute_values(d, "<img loading=\"lazy\"", "src")) {
    EXPECT_TRUE(fs::exists(dir / ("site/" + src))) << src;
  }
  EXPECT_EQ(attribute_values(d, "<li class=\"error\"", "data-input"),
            std::vector<std::string>{photos + "/b/corrupt.jpg"});
}

// `gaze evaluate --jsonl` merged into the report: the evaluation section is shown, with the
// method x layer table, the mean deletion and insertion curves as inline SVG (one polyline per
// method), and each input's AUCs on its card, as the JSONL recorded them.
TEST(ReportOfEvaluation, ShowsTheTableTheCurvesAndTheAucsOnTheCards) {
  const std::string browser = chromium();
  if (browser.empty()) {
    GAZE_CANNOT_RUN("Chromium is not installed (tools/setup.sh installs Debian's chromium)");
  }
  TempDir dir;
  const std::string jsonl = dir / "evaluate.jsonl";
  const std::vector<std::string> inputs = {testing::fixture_path("npy/chelsea_mobilenet_v2.npy"),
                                           testing::fixture_path("npy/coffee_mobilenet_v2.npy")};
  std::vector<std::string> args = {"evaluate", "--model",        testing::tiny_model(),
                                   "--method", "gradcam,random", "--steps",
                                   "4",        "--quiet",        "--jsonl",
                                   jsonl};
  args.insert(args.end(), inputs.begin(), inputs.end());
  const RunResult e = testing::run_gaze(args);
  ASSERT_EQ(e.exit_code, 0) << e.err;
  const RunResult r = testing::run_gaze({"report", jsonl, "--out", dir / "report.html"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string d = dump_dom(browser, dir / "report.html", "", dir);
  // The section is shown (not hidden) with one table row per method.
  const size_t section = d.find("<section id=\"evaluation\"");
  ASSERT_NE(section, std::string::npos);
  EXPECT_EQ(d.substr(section, d.find('>', section) - section).find("hidden"), std::string::npos);
  const std::vector<std::string> rows = attribute_values(d, "<tr data-method=", "data-method");
  ASSERT_EQ(rows.size(), 2u + 2u * 2u) << "the table's 2 rows, then 2 per card";
  EXPECT_EQ(rows[0], "gradcam");
  EXPECT_EQ(rows[1], "random");
  // Two figures of curves, each with a polyline per method.
  EXPECT_EQ(attribute_values(d, "<figure class=\"curves\"", "data-name"),
            (std::vector<std::string>{"d", "i"}));
  EXPECT_EQ(attribute_values(d, "<polyline points=", "data-method"),
            (std::vector<std::string>{"gradcam", "random", "gradcam", "random"}));
  // Each card's AUCs are the JSONL's, with 4 decimals (of the 6 significant digits the page keeps).
  const auto shown = [](double v) {
    char text[32];
    std::snprintf(text, sizeof text, "%.6g", v);
    return std::strtod(text, nullptr);
  };
  const std::string lines = testing::read_whole_file(jsonl);
  size_t at = 0;
  for (const std::string& line : RunResult::split_lines(lines)) {
    const nlohmann::json j = nlohmann::json::parse(line);
    for (const auto& ev : j["evaluations"]) {
      char cell[64];
      std::snprintf(cell, sizeof cell, "<td class=\"auc-deletion\">%.4f</td>",
                    shown(ev["deletion"]["auc"].get<double>()));
      at = d.find(cell, at);
      EXPECT_NE(at, std::string::npos) << cell;
      std::snprintf(cell, sizeof cell, "<td class=\"auc-insertion\">%.4f</td>",
                    shown(ev["insertion"]["auc"].get<double>()));
      EXPECT_NE(d.find(cell, at), std::string::npos) << cell;
      if (at == std::string::npos) at = 0;
    }
  }
}

}  // namespace
}  // namespace gaze
