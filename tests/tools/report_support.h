// Shared by the 'gaze report' tests: writing JSON Lines and reading back the data a report page
// embeds.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/tools/run_gaze.h"

namespace gaze::testing {

inline void write_lines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream out(path, std::ios::binary);
  for (const std::string& line : lines) out << line << '\n';
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

// A result line as 'gaze cam --json' prints it, with hand-picked probabilities (the classes in
// index order) and no maps.
inline std::string cam_line(const std::string& input, const std::vector<std::string>& classes,
                            const std::vector<double>& probs, double rating,
                            const std::string& panel) {
  nlohmann::json predictions = nlohmann::json::array();
  std::vector<size_t> order(classes.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return probs[a] > probs[b]; });
  for (size_t i : order)
    predictions.push_back({{"index", i}, {"class", classes[i]}, {"prob", probs[i]}});
  return nlohmann::json({{"input", input},
                         {"model", "m.h5"},
                         {"predictions", predictions},
                         {"rating", rating},
                         {"maps", nlohmann::json::array()},
                         {"outputs", {{"panel", panel}}}})
      .dump();
}

inline std::string error_line(const std::string& input, const std::string& error) {
  return nlohmann::json({{"input", input}, {"error", error}}).dump();
}

// The JSON inside the page's <script type="application/json" id="gaze-data">.
inline nlohmann::json report_data(const std::string& page) {
  const std::string open = "<script type=\"application/json\" id=\"gaze-data\">";
  const size_t start = page.find(open);
  const size_t end = start == std::string::npos ? start : page.find("</script>", start);
  if (end == std::string::npos) {
    ADD_FAILURE() << "no #gaze-data in the page";
    return {};
  }
  return nlohmann::json::parse(page.substr(start + open.size(), end - start - open.size()));
}

}  // namespace gaze::testing
