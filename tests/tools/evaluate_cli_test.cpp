// `gaze evaluate` from the command line, on the committed tiny model (tiny_model.h): the table's
// columns line up under their headers whatever the cells' lengths ("±" is one character), and
// bad methods, layers, classes and steps are one error line each.
// The metrics themselves are checked against oracles in tests/cam/evaluate_test.cpp.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/fixtures.h"
#include "tests/tools/run_gaze.h"
#include "tests/tools/tiny_model.h"

namespace gaze {
namespace {

using testing::fixture_path;
using testing::RunResult;
using testing::TempDir;
using testing::tiny_model;

RunResult run(const std::vector<std::string>& args) {
  return testing::run_gaze(args);
}

// The cells of a table line: runs of characters separated by two or more spaces, with the
// character offset (UTF-8 code points) where each starts and ends.
struct Cell {
  size_t start, end;
};
std::vector<Cell> cells(const std::string& line) {
  std::vector<Cell> out;
  size_t chars = 0, spaces = 0;
  bool in_cell = false;
  for (size_t i = 0; i < line.size(); ++i) {
    if ((static_cast<unsigned char>(line[i]) & 0xC0) == 0x80) continue;  // inside a code point
    if (line[i] == ' ') {
      ++spaces;
    } else {
      if (!in_cell || spaces >= 2) out.push_back({chars, chars});
      in_cell = true;
      spaces = 0;
      out.back().end = chars + 1;
    }
    ++chars;
  }
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  size_t from = 0;
  for (size_t nl; (nl = text.find('\n', from)) != std::string::npos; from = nl + 1)
    lines.push_back(text.substr(from, nl - from));
  return lines;
}

TEST(EvaluateCli, TheTableColumnsStartUnderTheirHeaders) {
  // Two layers of different name lengths, and cells with "±" (two bytes, one character).
  const std::string input = fixture_path("npy/chelsea_mobilenet_v2.npy");
  const RunResult r = run({"evaluate", "--model", tiny_model(), "--method", "gradcam,random,center",
                           "--layer", "top_conv,pool2", "--steps", "4", "--quiet", input});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> table;
  for (const std::string& line : lines_of(r.out))
    if (line.rfind("method", 0) == 0 || !table.empty()) table.push_back(line);
  ASSERT_EQ(table.size(), 7u) << r.out;  // the header, 3 methods x 2 layers
  const std::vector<Cell> header = cells(table[0]);
  ASSERT_EQ(header.size(), 9u) << table[0];
  for (size_t row = 1; row < table.size(); ++row) {
    SCOPED_TRACE(table[row]);
    const std::vector<Cell> c = cells(table[row]);
    ASSERT_EQ(c.size(), header.size());
    for (size_t k = 0; k < c.size(); ++k) {
      if (k == 2) {
        EXPECT_EQ(c[k].end, header[k].end) << "n is right-aligned";
      } else {
        EXPECT_EQ(c[k].start, header[k].start) << "column " << k;
      }
    }
  }
}

// `gaze evaluate --model tiny OPTIONS INPUT` fails with exit 1, one "gaze: error:" line that
// mentions `mention`, and nothing on stdout.
void expect_one_error(const std::vector<std::string>& options, const std::string& input,
                      const std::string& mention) {
  std::vector<std::string> args = {"evaluate", "--model", tiny_model()};
  args.insert(args.end(), options.begin(), options.end());
  args.push_back(input);
  const RunResult r = run(args);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const std::vector<std::string> lines = r.err_lines();
  ASSERT_EQ(lines.size(), 1u) << r.err;
  EXPECT_EQ(lines.back().rfind("gaze: error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(mention), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(EvaluateCli, BadMethodLayerAndClassAreOneErrorLine) {
  const std::string input = fixture_path("npy/chelsea_mobilenet_v2.npy");
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--method", "gradcam,nosuchcam"}, "nosuchcam"},
      {{"--layer", "no_such_layer"}, "no_such_layer"},
      {{"--class", "unicorn"}, "unicorn"},
      {{"--steps", "0"}, "--steps"},
      // Repeats would be evaluated and counted twice.
      {{"--method", "gradcam,random", "--method", "gradcam"}, "gradcam is given twice"},
      {{"--method", "gradcam:aug:eigen,gradcam:eigen:aug"}, "gradcam:eigen:aug is given twice"},
      {{"--layer", "top_conv,pool2,top_conv"}, "top_conv is given twice"},
      {{"--class", "0", "--class", "0"}, "class 0 is given twice"},
  };
  for (const auto& [options, mention] : cases) {
    SCOPED_TRACE(mention);
    expect_one_error(options, input, mention);
  }
}

// --sanity on the tiny model: the two tables, edges exactly unchanged and flagged, the JSON lines
// (per input, then the summary), and the same numbers from the same seed.
TEST(EvaluateCli, SanityPrintsTheCurvesAndFlagsTheModelIndependentMaps) {
  const std::string input = fixture_path("npy/chelsea_mobilenet_v2.npy");
  const std::vector<std::string> base = {
      "evaluate",       "--model", tiny_model(), "--sanity", "--method", "gradcam,edges,center",
      "--sanity-steps", "2",       "--quiet",    input};
  const RunResult r = run(base);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Spearman rank correlation"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("SSIM (min-max normalized maps)"), std::string::npos) << r.out;
  std::vector<std::string> rows;
  for (const std::string& line : lines_of(r.out))
    if (line.rfind("edges ", 0) == 0 || line.rfind("gradcam ", 0) == 0) rows.push_back(line);
  ASSERT_EQ(rows.size(), 4u) << r.out;  // a row per method in each table
  // edges: two steps and their mean, all exactly 1, and the flag.
  const std::vector<Cell> edges = cells(rows[1]);
  ASSERT_EQ(edges.size(), 7u) << rows[1];
  for (size_t k = 3; k < 6; ++k)
    EXPECT_EQ(rows[1].substr(edges[k].start, edges[k].end - edges[k].start), "1.000") << rows[1];
  EXPECT_EQ(rows[1].substr(edges[6].start), "barely changes");
  EXPECT_EQ(rows[0].find("barely changes"), std::string::npos) << rows[0];

  std::vector<std::string> json_args = base;
  json_args.push_back("--json");
  const RunResult j = run(json_args);
  ASSERT_EQ(j.exit_code, 0) << j.err;
  const std::vector<std::string> lines = lines_of(j.out);
  ASSERT_EQ(lines.size(), 2u) << j.out;
  const nlohmann::json one = nlohmann::json::parse(lines[0]);
  const nlohmann::json& sanity = one.at("sanity");
  EXPECT_EQ(sanity.at("seed"), 1);
  ASSERT_EQ(sanity.at("steps").size(), 2u);
  EXPECT_EQ(sanity.at("maps").size(), 3u);
  for (const nlohmann::json& m : sanity.at("maps")) {
    ASSERT_EQ(m.at("spearman").size(), 2u);
    if (m.at("method") != "gradcam") {
      EXPECT_EQ(m.at("spearman"), nlohmann::json({1.0, 1.0})) << m.dump();
      EXPECT_EQ(m.at("ssim"), nlohmann::json({1.0, 1.0})) << m.dump();
    }
  }
  const nlohmann::json summary = nlohmann::json::parse(lines[1]).at("summary").at("sanity");
  ASSERT_EQ(summary.size(), 3u);
  EXPECT_EQ(summary[0].at("method"), "gradcam");
  EXPECT_EQ(summary[0].at("flagged"), false);
  EXPECT_EQ(summary[1].at("flagged"), true);

  EXPECT_EQ(run(json_args).out, j.out) << "the same seed gives the same numbers";
  std::vector<std::string> other = json_args;
  other.insert(other.end() - 1, {"--seed", "7"});
  const RunResult o = run(other);
  ASSERT_EQ(o.exit_code, 0) << o.err;
  const nlohmann::json gradcam_7 = nlohmann::json::parse(lines_of(o.out)[0])["sanity"]["maps"][0];
  EXPECT_NE(gradcam_7.at("spearman"), sanity.at("maps")[0].at("spearman"));
}

TEST(EvaluateCli, SanityPlotIsAPngWithALegendLinePerMethod) {
  const TempDir dir;
  const std::string plot = dir.path() + "/sanity.png";
  const RunResult r = run({"evaluate", "--model", tiny_model(), "--sanity", "--method",
                           "gradcam,edges,center", "--sanity-steps", "2", "--plot", plot, "--quiet",
                           fixture_path("npy/chelsea_mobilenet_v2.npy")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream in(plot, std::ios::binary);
  std::vector<unsigned char> head(24);
  in.read(reinterpret_cast<char*>(head.data()), 24);
  ASSERT_TRUE(in) << plot;
  EXPECT_EQ(std::string(head.begin() + 1, head.begin() + 4), "PNG");
  const auto be32 = [&](int at) {
    return (head[at] << 24) | (head[at + 1] << 16) | (head[at + 2] << 8) | head[at + 3];
  };
  EXPECT_EQ(be32(16), 960);           // two panels of 480 px
  EXPECT_EQ(be32(20), 384 + 3 * 16);  // and a legend line per method

  // Every input failing leaves nothing to draw: an error, and no file.
  const std::string none = dir.path() + "/none.png";
  const RunResult bad = run({"evaluate", "--model", tiny_model(), "--sanity", "--plot", none,
                             "--quiet", dir.path() + "/missing.npy"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find(none + ": no input was evaluated"), std::string::npos) << bad.err;
  EXPECT_FALSE(std::filesystem::exists(none));
}

TEST(EvaluateCli, BadSanityOptionsAreOneErrorLine) {
  const std::string input = fixture_path("npy/chelsea_mobilenet_v2.npy");
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--sanity", "--sanity-steps", "-1"}, "--sanity-steps"},
      {{"--sanity", "--sanity-steps", "many"}, "--sanity-steps"},
      {{"--sanity", "--seed", "-3"}, "--seed"},
      {{"--sanity-steps", "4"}, "--sanity-steps"},
      {{"--seed", "4"}, "--seed"},
      {{"--sanity", "--steps", "4"}, "--steps"},
      {{"--method", "guided-backprop"}, "guided-backprop"},
      {{"--sanity", "--method", "guided-gradcam"}, "guided-gradcam"},
  };
  for (const auto& [options, mention] : cases) {
    SCOPED_TRACE(options[options.size() - 2] + " " + options.back());
    expect_one_error(options, input, mention);
  }
}

TEST(EvaluateCli, SanityTakesGuidedBackpropAndEdgesIsAMethodOfTheTable) {
  const std::string input = fixture_path("npy/chelsea_mobilenet_v2.npy");
  const RunResult r = run({"evaluate", "--model", tiny_model(), "--sanity", "--method",
                           "guided-backprop", "--sanity-steps", "1", "--json", "--quiet", input});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json one = nlohmann::json::parse(lines_of(r.out).at(0));
  EXPECT_EQ(one["sanity"]["maps"][0]["method"], "guided-backprop");
  EXPECT_EQ(one["sanity"]["maps"][0]["spearman"].size(), 1u);
  // edges in the deletion and insertion table too.
  const RunResult e = run({"evaluate", "--model", tiny_model(), "--method", "edges,random",
                           "--steps", "2", "--quiet", input});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_NE(e.out.find("\nedges "), std::string::npos) << e.out;
  const RunResult help = run({"evaluate", "--help"});
  EXPECT_NE(help.out.find("edges: the Sobel gradient magnitude"), std::string::npos) << help.out;
}

}  // namespace
}  // namespace gaze
