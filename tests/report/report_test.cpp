// The report library: reading results (cam, classify and error lines; malformed lines), merging
// them (last success wins), the panels' links, and the page's safety against hostile file names.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "report/page.h"
#include "report/results.h"
#include "tensor/atomic_write.h"
#include "tensor/error.h"
#include "tests/support/test_util.h"

namespace gaze {
namespace {

using nlohmann::json;
using testing::error_of;
namespace fs = std::filesystem;

// A 'gaze cam --json' line as cmd_cam.cpp prints it (predictions, rating, maps, outputs).
const char* const kCamLine =
    R"({"input": "photos/a.jpg", "model": "m.h5", "predictions": [{"index": 3, "class": "Porn",)"
    R"( "prob": 0.75}, {"index": 4, "class": "Sexy", "prob": 0.25}], "rating": 8.5, "maps":)"
    R"( [{"method": "gradcam", "layer": "mixed10", "class": "Porn", "index": 3, "prob": 0.75,)"
    R"( "map": [[0.5, 1.0], [0.0, 0.25]]}], "outputs": {"panel": "out/a_gradcam.png", "raw":)"
    R"( ["a.npy"]}})";

std::string success(const std::string& input, const std::string& cls, double prob) {
  return json({{"input", input},
               {"model", "m.h5"},
               {"predictions", {{{"index", 0}, {"class", cls}, {"prob", prob}}}}})
      .dump();
}
std::string failure(const std::string& input, const std::string& error) {
  return json({{"input", input}, {"error", error}}).dump();
}

Result parsed(const std::string& line) {
  std::optional<Result> r = parse_result_line(line);
  EXPECT_TRUE(r.has_value()) << line;
  return r.value_or(Result{});
}

TEST(ReportResults, ReadsCamLinesWithoutTheirMaps) {
  const Result r = parsed(kCamLine);
  EXPECT_EQ(r.input, "photos/a.jpg");
  ASSERT_EQ(r.predictions.size(), 2u);
  EXPECT_EQ(r.predictions[0].index, 3);
  EXPECT_EQ(r.predictions[0].name, "Porn");
  EXPECT_DOUBLE_EQ(r.predictions[0].prob, 0.75);
  EXPECT_EQ(r.predictions[1].name, "Sexy");
  ASSERT_TRUE(r.rating.has_value());
  EXPECT_DOUBLE_EQ(*r.rating, 8.5);
  EXPECT_EQ(r.panel, "out/a_gradcam.png");
  EXPECT_FALSE(r.failed());
}

TEST(ReportResults, ReadsClassifyAndErrorLines) {
  const Result c = parsed(success("x.png", "Neutral", 0.5));
  EXPECT_EQ(c.panel, "");
  EXPECT_FALSE(c.rating.has_value());
  ASSERT_EQ(c.predictions.size(), 1u);
  const Result e = parsed(failure("y.png", "y.png: not an image"));
  EXPECT_TRUE(e.failed());
  EXPECT_EQ(e.error, "y.png: not an image");
  EXPECT_FALSE(parse_result_line("").has_value());
  EXPECT_FALSE(parse_result_line("  \r").has_value());
}

TEST(ReportResults, MalformedLinesSayWhatIsWrong) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"input": "a.jpg", "predictions": [)", "not JSON"},
      {"[1, 2]", "not a JSON object"},
      {R"({"predictions": []})", "\"input\""},
      {R"({"input": 7, "predictions": []})", "\"input\""},
      {R"({"input": "a.jpg"})", "neither \"error\""},
      {R"({"input": "a.jpg", "error": 3})", "\"error\" is not a string"},
      {R"({"input": "a.jpg", "predictions": [{"class": "A", "prob": 0.5}]})", "\"index\""},
      {R"({"input": "a.jpg", "predictions": [{"index": 0, "prob": 0.5}]})", "\"class\""},
      {R"({"input": "a.jpg", "predictions": [{"index": 0, "class": "A", "prob": 1.5}]})",
       "\"prob\""},
      {R"({"input": "a.jpg", "predictions": [], "rating": "high"})", "\"rating\""},
      {R"({"input": "a.jpg", "predictions": [], "outputs": {"panel": 1}})", "\"panel\""},
      {R"({"input": "a.jpg", "x": )" + std::string(101, '[') + std::string(101, ']') + "}",
       "the line nests arrays and objects deeper than the limit of 100 levels"},
  };
  for (const auto& [line, expected] : cases) {
    SCOPED_TRACE(line);
    const std::string message = error_of([&] { parse_result_line(line); });
    EXPECT_NE(message.find(expected), std::string::npos) << message;
  }
}

json embedded_data(const std::string& page);  // the page's inline data, below

// A 'gaze evaluate --json' line as cmd_evaluate.cpp prints it, with `extra` inside its one
// evaluation (to break it).
std::string evaluate_line(const std::string& input, double deletion, double insertion,
                          const std::string& method = "gradcam", const std::string& extra = "") {
  return R"({"input": ")" + input +
         R"(", "model": "m.h5", "predictions": [{"index": 0, "class": "A", "prob": 0.5}],)"
         R"( "evaluations": [{"method": ")" +
         method +
         R"(", "layer": "mixed10", "class": "A", "index": 0, "prob": 0.5, "deletion":)"
         R"( {"auc": )" +
         std::to_string(deletion) +
         R"(, "fraction": [0, 0.5, 1], "score": [0.5, 0.2, 0.1]},)"
         R"( "insertion": {"auc": )" +
         std::to_string(insertion) +
         R"(, "fraction": [0, 0.5, 1], "score": [0.1, 0.4, 0.5]},)"
         R"( "average_drop": 12.5, "masked_prob": 0.4375,)"
         R"( "increase": false)" +
         extra + "}]}";
}

TEST(ReportResults, ReadsEvaluateLines) {
  const Result r = parsed(evaluate_line("a.jpg", 0.25, 0.35));
  ASSERT_EQ(r.evaluations.size(), 1u);
  const Evaluation& e = r.evaluations[0];
  EXPECT_EQ(e.method, "gradcam");
  EXPECT_EQ(e.layer, "mixed10");
  EXPECT_EQ(e.class_name, "A");
  EXPECT_DOUBLE_EQ(e.deletion.auc, 0.25);
  EXPECT_EQ(e.deletion.fraction, (std::vector<double>{0, 0.5, 1}));
  EXPECT_EQ(e.insertion.score, (std::vector<double>{0.1, 0.4, 0.5}));
  EXPECT_DOUBLE_EQ(e.average_drop, 12.5);
  EXPECT_FALSE(e.increase);
  EXPECT_TRUE(parsed(kCamLine).evaluations.empty());
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"input": "a", "predictions": [], "evaluations": {}})", "\"evaluations\" is not"},
      {R"({"input": "a", "predictions": [], "evaluations": [3]})", "evaluations[0] is not"},
      {R"({"input": "a", "predictions": [], "evaluations": [{"layer": "l"}]})", "\"method\""},
  };
  for (const auto& [line, expected] : bad) {
    SCOPED_TRACE(line);
    const std::string message = error_of([&] { parse_result_line(line); });
    EXPECT_NE(message.find(expected), std::string::npos) << message;
  }
  // Duplicate keys: nlohmann keeps the last, so a broken value after the good one breaks it.
  for (const auto& [extra, expected] : std::vector<std::pair<std::string, std::string>>{
           {R"(, "increase": 1)", "\"increase\""},
           {R"(, "average_drop": "x")", "\"average_drop\""},
           {R"(, "deletion": {"auc": 0.1, "fraction": [0, 1], "score": [1]})", "2 fractions"},
           {R"(, "insertion": {"fraction": [], "score": []})", "insertion has no \"auc\""},
           {R"(, "deletion": {"auc": 0.1, "fraction": [0, "1"], "score": [1, 0]})", "number"}}) {
    SCOPED_TRACE(extra);
    const std::string message =
        error_of([&] { parse_result_line(evaluate_line("a.jpg", 0.2, 0.3, "gradcam", extra)); });
    EXPECT_NE(message.find(expected), std::string::npos) << message;
  }
}

TEST(ReportPage, EvaluationMeansAndMeanCurves) {
  ResultSet set;
  set.add(parsed(evaluate_line("a.jpg", 0.25, 0.35)));
  set.add(parsed(evaluate_line("b.jpg", 0.75, 0.45)));
  set.add(parsed(success("c.jpg", "A", 0.5)));  // no evaluations: no card entries
  const std::string page = build_report_page(set, ReadStatistics{}, "r.html", "/", {});
  const json data = embedded_data(page);
  const json& e = data["evaluation"];
  ASSERT_EQ(e["rows"].size(), 1u);
  EXPECT_EQ(e["rows"][0]["m"], "gradcam");
  EXPECT_EQ(e["rows"][0]["n"], 2);
  EXPECT_DOUBLE_EQ(e["rows"][0]["d"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(e["rows"][0]["i"].get<double>(), 0.4);
  EXPECT_DOUBLE_EQ(e["rows"][0]["a"].get<double>(), 12.5);
  EXPECT_DOUBLE_EQ(e["rows"][0]["c"].get<double>(), 0.0);
  ASSERT_EQ(e["curves"].size(), 1u);
  EXPECT_EQ(e["curves"][0]["x"], json::parse("[0, 0.5, 1]"));
  EXPECT_EQ(e["curves"][0]["d"], json::parse("[0.5, 0.2, 0.1]"));
  const json& cards = data["results"];
  ASSERT_EQ(cards.size(), 3u);
  EXPECT_EQ(cards[1]["v"], json::parse(R"([["gradcam", "mixed10", "A", 0.75, 0.45, 12.5]])"));
  EXPECT_FALSE(cards[2].contains("v"));
  // No evaluate line: empty.
  ResultSet plain;
  plain.add(parsed(success("c.jpg", "A", 0.5)));
  const json none = embedded_data(build_report_page(plain, ReadStatistics{}, "r.html", "/", {}));
  EXPECT_EQ(none["evaluation"]["rows"], json::array());
}

TEST(ReportResults, LastSuccessWinsAndAFailureNeverReplacesASuccess) {
  ResultSet set;
  set.add(parsed(success("a.jpg", "A", 0.1)));
  set.add(parsed(failure("b.jpg", "first failure")));
  set.add(parsed(success("c.jpg", "C", 0.3)));
  set.add(parsed(success("a.jpg", "A", 0.9)));          // re-run: replaces
  set.add(parsed(failure("c.jpg", "later failure")));   // never replaces the success
  set.add(parsed(failure("b.jpg", "second failure")));  // replaces the earlier failure
  ASSERT_EQ(set.results().size(), 3u);
  // Order of first appearance.
  EXPECT_EQ(set.results()[0].input, "a.jpg");
  EXPECT_EQ(set.results()[1].input, "b.jpg");
  EXPECT_EQ(set.results()[2].input, "c.jpg");
  EXPECT_DOUBLE_EQ(set.results()[0].predictions[0].prob, 0.9);
  EXPECT_EQ(set.results()[1].error, "second failure");
  EXPECT_FALSE(set.results()[2].failed());
  EXPECT_EQ(set.superseded(), 3u);
  // A failure followed by a success: the success.
  set.add(parsed(success("b.jpg", "B", 0.5)));
  EXPECT_FALSE(set.results()[1].failed());
}

void write_lines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream out(path);
  for (const std::string& l : lines) out << l << "\n";
}

TEST(ReportResults, FilesMergeAndBadLinesAreReportedWithFileAndLine) {
  const std::string shard0 = testing::test_temp_path("shard0.jsonl");
  const std::string shard1 = testing::test_temp_path("shard1.jsonl");
  const std::string absent = testing::test_temp_path("absent.jsonl");
  write_lines(shard0, {success("a.jpg", "A", 0.2), "not json", "", failure("b.jpg", "bad")});
  write_lines(shard1,
              {success("c.jpg", "C", 0.3), R"({"input": "d.jpg"})", success("a.jpg", "A", 0.4)});
  ResultSet set;
  std::vector<std::string> problems;
  const ReadStatistics stats = read_results(
      {shard0, absent, shard1}, set, [&](const ReadProblem& p) { problems.push_back(p.text()); });
  EXPECT_EQ(stats.files_read, 2u);
  EXPECT_EQ(stats.bad_files, 1u);
  EXPECT_EQ(stats.bad_lines, 2u);
  EXPECT_EQ(stats.lines, 4u);
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_EQ(problems[0].rfind(shard0 + ":2: not JSON", 0), 0u) << problems[0];
  EXPECT_EQ(problems[1].rfind(absent + ": cannot open (No such file or directory)", 0), 0u)
      << problems[1];
  EXPECT_EQ(problems[2].rfind(shard1 + ":2: neither", 0), 0u) << problems[2];
  ASSERT_EQ(set.results().size(), 3u);
  EXPECT_DOUBLE_EQ(set.results()[0].predictions[0].prob, 0.4);
  EXPECT_EQ(set.results()[0].origin, shard1 + ":3");
  fs::remove(shard0);
  fs::remove(shard1);
}

TEST(ReportPage, PanelsAreLinkedFromTheReportsFolder) {
  // Relative panels are relative to where gaze ran (cwd); the link goes from the report's folder.
  EXPECT_EQ(panel_link("out/a.png", "/data/run", "/data/run/reports"), "../out/a.png");
  EXPECT_EQ(panel_link("out/a.png", "/data/run", "reports"), "../out/a.png");
  EXPECT_EQ(panel_link("./out/../out/a.png", "/data/run", "."), "out/a.png");
  EXPECT_EQ(panel_link("/srv/panels/a.png", "/data/run", "/data/run"), "../../srv/panels/a.png");
  EXPECT_EQ(panel_link("a.png", "/data/run", "/elsewhere/r"), "../../data/run/a.png");
  // Characters that would change what the URL means are percent-encoded: a file name cannot
  // become a fragment, a query, an escape or a scheme.
  EXPECT_EQ(panel_link("a b#c?d%e.png", "/r", "/r"), "a%20b%23c%3Fd%25e.png");
  EXPECT_EQ(panel_link("javascript:alert(1)", "/r", "/r"), "javascript%3Aalert%281%29");
  EXPECT_EQ(panel_link("\"'<>&.png", "/r", "/r"), "%22%27%3C%3E%26.png");
  EXPECT_EQ(panel_link("caf\xc3\xa9.png", "/r", "/r"), "caf%C3%A9.png");
}

TEST(ReportPage, EscapesHtmlAndScriptText) {
  EXPECT_EQ(html_escape(R"(<a href="x">&'</a>)"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
  const std::string hostile = json({{"f", "</script><script>alert(1)</script>&"}}).dump();
  const std::string safe = json_for_script(hostile);
  EXPECT_EQ(safe.find('<'), std::string::npos);
  EXPECT_EQ(safe.find('>'), std::string::npos);
  EXPECT_EQ(safe.find('&'), std::string::npos);
  EXPECT_EQ(json::parse(safe), json::parse(hostile));  // the same data once parsed
}

// The page's embedded data, as the script will read it.
json embedded_data(const std::string& page) {
  const std::string open = "<script type=\"application/json\" id=\"gaze-data\">";
  const size_t start = page.find(open);
  const size_t end = page.find("</script>", start);
  EXPECT_NE(start, std::string::npos);
  EXPECT_NE(end, std::string::npos);
  if (start == std::string::npos || end == std::string::npos) return {};
  return json::parse(page.substr(start + open.size(), end - start - open.size()));
}

TEST(ReportPage, AHostileFileNameStaysData) {
  const std::string name = R"(x"'&<img src=q onerror=alert(1)></script><b>.jpg)";
  ResultSet set;
  Result ok;
  ok.input = name;
  ok.predictions = {{0, "A<b>", 0.5}};
  ok.panel = "out/" + name + ".png";
  set.add(ok);
  set.add(parsed(failure("y<i>.jpg", "y<i>.jpg: </script> broken")));
  ReportOptions options;
  options.title = "<script>alert('title')</script>";
  const std::string page = build_report_page(set, {}, "/r/report.html", "/r", options);
  EXPECT_EQ(page.find("<img src=q"), std::string::npos);
  EXPECT_EQ(page.find("<b>"), std::string::npos);
  EXPECT_EQ(page.find("<i>"), std::string::npos);
  EXPECT_EQ(page.find("<script>alert"), std::string::npos);
  EXPECT_NE(page.find("<title>&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;</title>"),
            std::string::npos);
  const json data = embedded_data(page);
  ASSERT_EQ(data["results"].size(), 1u);
  EXPECT_EQ(data["results"][0]["f"], name);
  EXPECT_EQ(data["classes"], json({"A<b>"}));
  EXPECT_EQ(data["results"][0]["s"], panel_link(ok.panel, "/r", "/r"));
  EXPECT_EQ(data["errors"][0]["e"], "y<i>.jpg: </script> broken");
}

TEST(ReportPage, ThePageIsSelfContained) {
  ResultSet set;
  set.add(parsed(kCamLine));
  const std::string page = build_report_page(set, {}, "report.html", "/r", {});
  // No stylesheet, script or image is fetched: nothing names another origin. The one URL is the
  // SVG namespace, an identifier that createElementNS needs.
  std::string rest = page;
  const std::string svg_namespace = "http://www.w3.org/2000/svg";
  for (size_t at; (at = rest.find(svg_namespace)) != std::string::npos;)
    rest.erase(at, svg_namespace.size());
  EXPECT_EQ(rest.find("://"), std::string::npos);
  EXPECT_EQ(rest.find("<link"), std::string::npos);
  EXPECT_EQ(rest.find("<script src"), std::string::npos);
  EXPECT_EQ(rest.find("@CSS@"), std::string::npos);
  EXPECT_EQ(rest.find("@JS@"), std::string::npos);
  EXPECT_EQ(rest.find("@DATA@"), std::string::npos);
  EXPECT_NE(page.find("loading: 'lazy'"), std::string::npos);
  // The maps are not embedded (they are large); the rest is.
  const json data = embedded_data(page);
  EXPECT_EQ(page.find("mixed10"), std::string::npos);
  ASSERT_EQ(data["results"].size(), 1u);
  EXPECT_EQ(data["results"][0]["f"], "photos/a.jpg");
  EXPECT_EQ(data["results"][0]["r"], 8.5);
  EXPECT_EQ(data["results"][0]["s"], "out/a_gradcam.png");
  EXPECT_EQ(data["classes"], json({"Porn", "Sexy"}));
  EXPECT_EQ(data["results"][0]["p"], json({{0, 0.75}, {1, 0.25}}));
}

TEST(ReportPage, WritesAtomicallyAndNamesTheFileOnFailure) {
  const std::string path = testing::test_temp_path("report.html");
  write_report(path, "<p>one</p>");
  std::ifstream in(path);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "<p>one</p>");
  const std::string bad = testing::test_temp_path("no-such-folder/report.html");
  const std::string message = error_of([&] { write_report(bad, "x"); });
  EXPECT_NE(message.find(bad), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(temporary_path_for(bad, ::getpid())));
  fs::remove(path);
}

}  // namespace
}  // namespace gaze
