#include "report/page.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "report/page_assets.h"
#include "tensor/atomic_write.h"
#include "tensor/error.h"

namespace gaze {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~' || c == '/';
}

std::string percent_encode(const std::string& path) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : path) {
    if (is_unreserved(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// Probabilities with 6 significant digits: the page shows 3, and 10,000 results with full
// doubles would double its size.
double rounded(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", value);
  return std::strtod(text, nullptr);
}

// The classes in the order of their output index (names seen at one index sorted by name), so
// that the page lists them as the model does.
std::vector<std::string> class_order(const ResultSet& results) {
  std::map<std::string, int> lowest_index;
  for (const Result& r : results.results()) {
    for (const ClassProbability& p : r.predictions) {
      const auto [it, inserted] = lowest_index.try_emplace(p.name, p.index);
      if (!inserted) it->second = std::min(it->second, p.index);
    }
  }
  std::vector<std::pair<int, std::string>> order;
  for (const auto& [name, index] : lowest_index) order.emplace_back(index, name);
  std::sort(order.begin(), order.end());
  std::vector<std::string> names;
  for (auto& entry : order) names.push_back(std::move(entry.second));
  return names;
}

// The data the page's script reads: classes by position, and per result its file ("f"), its
// predictions as [class position, probability] pairs most probable first ("p"), its rating
// ("r") and its panel's link ("s"); failures as {"f", "e"}.
json page_data(const ResultSet& results, const ReadStatistics& stats, const std::string& cwd,
               const std::string& report_dir, const ReportOptions& options) {
  const std::vector<std::string> classes = class_order(results);
  std::map<std::string, size_t> position;
  for (size_t i = 0; i < classes.size(); ++i) position[classes[i]] = i;
  json cards = json::array(), failures = json::array();
  for (const Result& r : results.results()) {
    if (r.failed()) {
      failures.push_back({{"f", r.input}, {"e", r.error}});
      continue;
    }
    json card = {{"f", r.input}, {"p", json::array()}};
    for (const ClassProbability& p : r.predictions)
      card["p"].push_back({position.at(p.name), rounded(p.prob)});
    if (r.rating) card["r"] = rounded(*r.rating);
    if (!r.panel.empty()) card["s"] = panel_link(r.panel, cwd, report_dir);
    cards.push_back(std::move(card));
  }
  return {{"title", options.title},
          {"perPage", options.per_page},
          {"classes", classes},
          {"results", std::move(cards)},
          {"errors", std::move(failures)},
          {"badLines", stats.bad_lines},
          {"superseded", results.superseded()}};
}

// Replaces each @NAME@ marker of `text` with its value, in one pass: the values (the data, which
// may hold any text) are never scanned for markers themselves.
std::string fill_template(const std::string& text,
                          const std::map<std::string, std::string>& values) {
  std::string out;
  size_t at = 0;
  while (true) {
    const size_t start = text.find('@', at);
    const size_t end = start == std::string::npos ? start : text.find('@', start + 1);
    if (end == std::string::npos) break;
    const auto value = values.find(text.substr(start + 1, end - start - 1));
    if (value == values.end()) {  // a lone '@' (CSS's @media): keep it, look on from it
      out.append(text, at, start + 1 - at);
      at = start + 1;
      continue;
    }
    out.append(text, at, start - at);
    out += value->second;
    at = end + 1;
  }
  out.append(text, at, std::string::npos);
  return out;
}

}  // namespace

std::string panel_link(const std::string& panel, const std::string& cwd,
                       const std::string& report_dir) {
  const fs::path recorded(panel);
  const fs::path absolute = (recorded.is_absolute() ? recorded : fs::path(cwd) / recorded);
  const fs::path from =
      fs::path(report_dir).is_absolute() ? fs::path(report_dir) : fs::path(cwd) / report_dir;
  const fs::path link = absolute.lexically_normal().lexically_relative(from.lexically_normal());
  return percent_encode(link.empty() ? absolute.lexically_normal().string() : link.string());
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string json_for_script(const std::string& json_text) {
  std::string out;
  out.reserve(json_text.size());
  for (const char c : json_text) {
    switch (c) {
      case '<':
        out += "\\u003c";
        break;
      case '>':
        out += "\\u003e";
        break;
      case '&':
        out += "\\u0026";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string build_report_page(const ResultSet& results, const ReadStatistics& stats,
                              const std::string& report_path, const std::string& cwd,
                              const ReportOptions& options) {
  const std::string report_dir = fs::path(report_path).parent_path().string();
  // Invalid UTF-8 (a file name from a foreign file system) is replaced, not an exception.
  const std::string data =
      page_data(results, stats, cwd, report_dir.empty() ? "." : report_dir, options)
          .dump(-1, ' ', false, json::error_handler_t::replace);
  return fill_template(report_assets::kTemplateHtml, {{"TITLE", html_escape(options.title)},
                                                      {"CSS", report_assets::kStyleCss},
                                                      {"JS", report_assets::kAppJs},
                                                      {"DATA", json_for_script(data)}});
}

void write_report(const std::string& path, const std::string& page) {
  write_atomically(path, [&](const std::string& temporary) {
    CheckedFile file(temporary, path);
    file.write(page.data(), page.size());
    file.close();
  });
}

}  // namespace gaze
