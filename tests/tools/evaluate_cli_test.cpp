// `gaze evaluate` from the command line, on the committed tiny model (tiny_model.h): the table's
// columns line up under their headers whatever the cells' lengths ("±" is one character), and
// bad methods, layers, classes and steps are one error line each.
// The metrics themselves are checked against oracles in tests/cam/evaluate_test.cpp.
#include <gtest/gtest.h>

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

const std::string& tiny() {
  static const TempDir dir;
  static const std::string model = testing::convert_tiny("tiny", dir);
  return model;
}

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
  const RunResult r = run({"evaluate", "--model", tiny(), "--method", "gradcam,random,center",
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

TEST(EvaluateCli, BadMethodLayerAndClassAreOneErrorLine) {
  const std::string input = fixture_path("npy/chelsea_mobilenet_v2.npy");
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--method", "gradcam,nosuchcam"}, "nosuchcam"},
      {{"--layer", "no_such_layer"}, "no_such_layer"},
      {{"--class", "unicorn"}, "unicorn"},
      {{"--steps", "0"}, "--steps"},
  };
  for (const auto& [options, mention] : cases) {
    SCOPED_TRACE(mention);
    std::vector<std::string> args = {"evaluate", "--model", tiny()};
    args.insert(args.end(), options.begin(), options.end());
    args.push_back(input);
    const RunResult r = run(args);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    const std::vector<std::string> lines = r.err_lines();
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(lines.back().rfind("gaze: error: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(mention), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace gaze
