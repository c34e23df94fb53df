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

// The 'gaze evaluate' results over all inputs, per method and layer in the order first seen:
// "rows" of {"m" method, "l" layer, "n", the means "d" (deletion AUC), "i" (insertion AUC), "a"
// (average drop %) and "c" (the increase in confidence, % of the maps)}, and "curves" of {"m",
// "l", "x" the fractions, "d" and "i" the mean deletion and insertion curves} for the groups
// whose curves all share their fractions. Empty arrays when no line is an evaluation.
json evaluation_data(const ResultSet& results) {
  struct Group {
    std::string method, layer;
    size_t n = 0;
    double deletion = 0.0, insertion = 0.0, drop = 0.0, increase = 0.0;
    std::vector<double> fraction, del_curve, ins_curve;
    bool same_fractions = true;
  };
  std::vector<Group> groups;
  std::map<std::pair<std::string, std::string>, size_t> where;
  for (const Result& r : results.results()) {
    for (const Evaluation& e : r.evaluations) {
      const auto [it, inserted] = where.try_emplace({e.method, e.layer}, groups.size());
      if (inserted) {
        Group fresh;
        fresh.method = e.method;
        fresh.layer = e.layer;
        groups.push_back(std::move(fresh));
      }
      Group& g = groups[it->second];
      if (g.n == 0) {
        g.fraction = e.deletion.fraction;
        g.del_curve.assign(g.fraction.size(), 0.0);
        g.ins_curve.assign(g.fraction.size(), 0.0);
      }
      g.same_fractions = g.same_fractions && e.deletion.fraction == g.fraction &&
                         e.insertion.fraction == g.fraction;
      if (g.same_fractions) {
        for (size_t i = 0; i < g.fraction.size(); ++i) {
          g.del_curve[i] += e.deletion.score[i];
          g.ins_curve[i] += e.insertion.score[i];
        }
      }
      ++g.n;
      g.deletion += e.deletion.auc;
      g.insertion += e.insertion.auc;
      g.drop += e.average_drop;
      g.increase += e.increase ? 100.0 : 0.0;
    }
  }
  json rows = json::array(), curves = json::array();
  for (const Group& g : groups) {
    const double n = static_cast<double>(g.n);
    rows.push_back({{"m", g.method},
                    {"l", g.layer},
                    {"n", g.n},
                    {"d", rounded(g.deletion / n)},
                    {"i", rounded(g.insertion / n)},
                    {"a", rounded(g.drop / n)},
                    {"c", rounded(g.increase / n)}});
    if (!g.same_fractions || g.fraction.empty()) continue;
    json x = json::array(), d = json::array(), i = json::array();
    for (size_t k = 0; k < g.fraction.size(); ++k) {
      x.push_back(rounded(g.fraction[k]));
      d.push_back(rounded(g.del_curve[k] / n));
      i.push_back(rounded(g.ins_curve[k] / n));
    }
    curves.push_back({{"m", g.method}, {"l", g.layer}, {"x", x}, {"d", d}, {"i", i}});
  }
  return {{"rows", std::move(rows)}, {"curves", std::move(curves)}};
}

// The data the page's script reads: classes by position, and per result its file ("f"), its
// predictions as [class position, probability] pairs most probable first ("p"), its rating
// ("r"), its panel's link ("s") and its evaluations as [method, layer, class, deletion AUC,
// insertion AUC, average drop %] ("v", only on 'gaze evaluate' lines); failures as {"f", "e"};
// "evaluation" as evaluation_data says.
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
    for (const Evaluation& e : r.evaluations) {
      card["v"].push_back({e.method, e.layer, e.class_name, rounded(e.deletion.auc),
                           rounded(e.insertion.auc), rounded(e.average_drop)});
    }
    cards.push_back(std::move(card));
  }
  return {{"title", options.title},
          {"perPage", options.per_page},
          {"classes", classes},
          {"results", std::move(cards)},
          {"errors", std::move(failures)},
          {"evaluation", evaluation_data(results)},
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
