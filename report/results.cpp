#include "report/results.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tensor/error.h"
#include "tensor/json_limits.h"

namespace gaze {
namespace {

using nlohmann::json;

// Drops the "maps" member of the top-level object while parsing, so a cam line's large map arrays
// are never built.
bool skip_maps(int depth, json::parse_event_t event, json& parsed) {
  return !(depth == 1 && event == json::parse_event_t::key && parsed == "maps");
}

ClassProbability parse_prediction(const json& p, size_t i) {
  const std::string where = "predictions[" + std::to_string(i) + "]";
  if (!p.is_object()) throw Error(where + " is not an object");
  const auto index = p.find("index");
  const auto name = p.find("class");
  const auto prob = p.find("prob");
  if (index == p.end() || !index->is_number_integer() || index->get<long long>() < 0)
    throw Error(where + " has no \"index\" (an integer, 0 or more)");
  if (name == p.end() || !name->is_string()) throw Error(where + " has no \"class\" (a string)");
  if (prob == p.end() || !prob->is_number() || !(prob->get<double>() >= 0.0) ||
      !(prob->get<double>() <= 1.0))
    throw Error(where + " has no \"prob\" (a number from 0 to 1)");
  return {static_cast<int>(index->get<long long>()), name->get<std::string>(), prob->get<double>()};
}

std::string string_member(const json& j, const char* key, const std::string& where) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_string()) throw Error(where + " has no \"" + key + "\" (a string)");
  return it->get<std::string>();
}

double number_member(const json& j, const char* key, const std::string& where) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number() || !std::isfinite(it->get<double>()))
    throw Error(where + " has no \"" + key + "\" (a number)");
  return it->get<double>();
}

std::vector<double> numbers_member(const json& j, const char* key, const std::string& where) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_array())
    throw Error(where + " has no \"" + key + "\" (an array of numbers)");
  std::vector<double> out;
  for (const json& v : *it) {
    if (!v.is_number() || !std::isfinite(v.get<double>()))
      throw Error(where + "." + key + " holds something other than a number");
    out.push_back(v.get<double>());
  }
  return out;
}

EvaluationCurve parse_curve(const json& e, const char* key, const std::string& where) {
  const auto it = e.find(key);
  const std::string here = where + "." + key;
  if (it == e.end() || !it->is_object()) throw Error(where + " has no \"" + key + "\" (an object)");
  EvaluationCurve c;
  c.auc = number_member(*it, "auc", here);
  c.fraction = numbers_member(*it, "fraction", here);
  c.score = numbers_member(*it, "score", here);
  if (c.fraction.size() != c.score.size())
    throw Error(here + " has " + std::to_string(c.fraction.size()) + " fractions and " +
                std::to_string(c.score.size()) + " scores");
  return c;
}

Evaluation parse_evaluation(const json& e, size_t i) {
  const std::string where = "evaluations[" + std::to_string(i) + "]";
  if (!e.is_object()) throw Error(where + " is not an object");
  Evaluation v;
  v.method = string_member(e, "method", where);
  v.layer = string_member(e, "layer", where);
  v.class_name = string_member(e, "class", where);
  v.deletion = parse_curve(e, "deletion", where);
  v.insertion = parse_curve(e, "insertion", where);
  v.average_drop = number_member(e, "average_drop", where);
  const auto increase = e.find("increase");
  if (increase == e.end() || !increase->is_boolean())
    throw Error(where + " has no \"increase\" (true or false)");
  v.increase = increase->get<bool>();
  return v;
}

Result parse_success(const json& j, Result r) {
  const auto predictions = j.find("predictions");
  if (predictions == j.end() || !predictions->is_array())
    throw Error("neither \"error\" (a string) nor \"predictions\" (an array)");
  for (size_t i = 0; i < predictions->size(); ++i)
    r.predictions.push_back(parse_prediction((*predictions)[i], i));
  if (const auto rating = j.find("rating"); rating != j.end()) {
    if (!rating->is_number() || !std::isfinite(rating->get<double>()))
      throw Error("\"rating\" is not a number");
    r.rating = rating->get<double>();
  }
  if (const auto evaluations = j.find("evaluations"); evaluations != j.end()) {
    if (!evaluations->is_array()) throw Error("\"evaluations\" is not an array");
    for (size_t i = 0; i < evaluations->size(); ++i)
      r.evaluations.push_back(parse_evaluation((*evaluations)[i], i));
  }
  if (const auto outputs = j.find("outputs"); outputs != j.end()) {
    if (!outputs->is_object()) throw Error("\"outputs\" is not an object");
    if (const auto panel = outputs->find("panel"); panel != outputs->end()) {
      if (!panel->is_string()) throw Error("\"outputs\".\"panel\" is not a string");
      r.panel = panel->get<std::string>();
    }
  }
  return r;
}

bool is_blank(const std::string& line) {
  return line.find_first_not_of(" \t\r\n") == std::string::npos;
}

}  // namespace

std::optional<Result> parse_result_line(const std::string& line) {
  if (is_blank(line)) return std::nullopt;
  check_json_limits(line, "", "the line");
  json j;
  try {
    j = json::parse(line, skip_maps);
  } catch (const json::exception& e) {
    // A parse_error, or an out_of_range for a number beyond double (found by fuzz/jsonl_fuzz:
    // "2222222222e2222"). nlohmann's message names the byte; it is already a sentence fragment.
    std::string message = e.what();  // "[json.exception.parse_error.101] parse error at ..."
    if (const size_t end = message.find("] "); end != std::string::npos) message.erase(0, end + 2);
    throw Error("not JSON (" + message + ")");
  }
  if (!j.is_object()) throw Error("not a JSON object");
  const auto input = j.find("input");
  if (input == j.end() || !input->is_string() || input->get<std::string>().empty())
    throw Error("no \"input\" (a non-empty string)");
  Result r;
  r.input = input->get<std::string>();
  if (const auto error = j.find("error"); error != j.end()) {
    if (!error->is_string()) throw Error("\"error\" is not a string");
    r.error = error->get<std::string>();
    if (r.error.empty()) r.error = "failed (no message)";
    return r;
  }
  return parse_success(j, std::move(r));
}

void ResultSet::add(Result result) {
  const auto [it, inserted] = position_.try_emplace(result.input, results_.size());
  if (inserted) {
    results_.push_back(std::move(result));
    return;
  }
  ++superseded_;
  Result& kept = results_[it->second];
  if (result.failed() && !kept.failed()) return;  // a success is never undone by a failure
  kept = std::move(result);
}

std::string ReadProblem::text() const {
  return file + (line > 0 ? ":" + std::to_string(line) : "") + ": " + message;
}

ReadStatistics read_results(const std::vector<std::string>& files, ResultSet& into,
                            const std::function<void(const ReadProblem&)>& problem) {
  ReadStatistics stats;
  for (const std::string& file : files) {
    std::error_code ignored;
    if (std::filesystem::is_directory(file, ignored)) {
      problem({file, 0, "is a folder, not a JSON Lines file"});
      ++stats.bad_files;
      continue;
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      problem({file, 0, std::string("cannot open (") + std::strerror(errno) + ")"});
      ++stats.bad_files;
      continue;
    }
    ++stats.files_read;
    size_t number = 0;
    for (std::string line; std::getline(in, line);) {
      ++number;
      try {
        std::optional<Result> r = parse_result_line(line);
        if (!r) continue;
        r->origin = file + ":" + std::to_string(number);
        into.add(std::move(*r));
        ++stats.lines;
      } catch (const Error& e) {
        problem({file, number, e.what()});
        ++stats.bad_lines;
      }
    }
    if (in.bad()) {
      problem({file, 0, std::string("cannot read (") + std::strerror(errno) + ")"});
      ++stats.bad_files;
    }
  }
  return stats;
}

}  // namespace gaze
