// The results a report is made of: the JSON Lines that 'gaze cam --json' and 'gaze classify
// --json' print (and that --jsonl appends), read leniently line by line and merged across files.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace gaze {

struct ClassProbability {
  int index = 0;  // the class's output index in the model
  std::string name;
  double prob = 0.0;
};

// A 'gaze evaluate' curve: the class probability after each step, over the fraction changed.
struct EvaluationCurve {
  double auc = 0.0;
  std::vector<double> fraction, score;
};

// One entry of a 'gaze evaluate' line's "evaluations": a method's map at a layer for a class.
struct Evaluation {
  std::string method, layer, class_name;
  EvaluationCurve deletion, insertion;
  double average_drop = 0.0;  // %
  bool increase = false;
};

// One input's line. Of a 'gaze cam' line the map arrays ("maps") are dropped while parsing: they
// are the bulk of the line and the report does not show them.
struct Result {
  std::string input;
  std::vector<ClassProbability> predictions;  // as recorded: most probable first
  std::optional<double> rating;
  std::string panel;  // outputs.panel as recorded, "" when there is none (classify)
  std::vector<Evaluation> evaluations;  // a 'gaze evaluate' line's, else empty
  std::string error;   // the input failed when not empty (then nothing else is set)
  std::string origin;  // "<file>:<line>" it came from

  bool failed() const { return !error.empty(); }
};

// One line's result. A blank line gives nullopt. Anything else that is not one of the objects
// above throws Error with the problem (without the file and line, which the caller knows):
// not JSON, not an object, no string "input", neither a string "error" nor an array
// "predictions", a prediction without an integer "index", a string "class" and a "prob" in
// [0, 1], a "rating" that is not a number, an "outputs.panel" that is not a string, an
// "evaluations" that is not an array of objects with strings "method", "layer" and "class",
// numbers "average_drop" and a boolean "increase", and "deletion" and "insertion" objects of a
// number "auc" and number arrays "fraction" and "score" of one length.
std::optional<Result> parse_result_line(const std::string& line);

// Results merged by input (the "input" string exactly as recorded), in the order inputs first
// appear. The last successful line of an input wins (a resumed or re-run input: its latest
// result); a failure replaces an earlier failure but never a success.
class ResultSet {
 public:
  void add(Result result);
  const std::vector<Result>& results() const { return results_; }
  // Lines that an input's later line replaced or that lost to an earlier success.
  size_t superseded() const { return superseded_; }

 private:
  std::vector<Result> results_;
  std::unordered_map<std::string, size_t> position_;  // input -> its place in results_
  size_t superseded_ = 0;
};

// A malformed line (line > 0) or an unreadable file (line 0).
struct ReadProblem {
  std::string file;
  size_t line = 0;
  std::string message;

  // "<file>:<line>: <message>", or "<file>: <message>" for a file.
  std::string text() const;
};

struct ReadStatistics {
  size_t files_read = 0;  // files that could be opened
  size_t lines = 0;       // results read (blank and malformed lines excluded)
  size_t bad_lines = 0;   // malformed lines, skipped
  size_t bad_files = 0;   // files that could not be read
};

// Reads every file in order into `into`. A malformed line or an unreadable file is skipped and
// reported to `problem`; the rest is still read.
ReadStatistics read_results(const std::vector<std::string>& files, ResultSet& into,
                            const std::function<void(const ReadProblem&)>& problem);

}  // namespace gaze
