// A small command-line parser shared by gaze's subcommands: options with values, flags,
// repeatable options and positional arguments, with --help generated from the declarations.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace gaze::cli {

struct OptionSpec {
  std::string name;   // long name without dashes: "top"
  std::string value;  // placeholder shown in help ("K"); empty for a flag
  std::string help;
  bool repeatable = false;
};

class Parser {
 public:
  Parser(std::string command, std::string usage, std::string description);
  Parser& option(std::string name, std::string value, std::string help);
  Parser& repeated(std::string name, std::string value, std::string help);
  Parser& flag(std::string name, std::string help);
  // Text after the option list (examples, notes).
  Parser& epilog(std::string text);

  // Throws gaze::Error on an unknown option or a missing value. Returns false when --help was
  // printed (the command should then exit 0).
  bool parse(const std::vector<std::string>& args);

  bool has(const std::string& name) const;
  std::string get(const std::string& name, const std::string& fallback = "") const;
  std::vector<std::string> all(const std::string& name) const;
  // Parses the value as an integer/float; throws Error naming the option on bad text.
  long get_int(const std::string& name, long fallback) const;
  double get_double(const std::string& name, double fallback) const;
  const std::vector<std::string>& positional() const { return positional_; }

  std::string help() const;

 private:
  const OptionSpec* find(const std::string& name) const;

  std::string command_, usage_, description_, epilog_;
  std::vector<OptionSpec> specs_;
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
};

// "a,b,,c" -> {"a", "b", "", "c"}: every item between commas, the empty ones too (each caller
// decides what an empty item means); "" -> {""}.
std::vector<std::string> split_commas(const std::string& text);

// `items` joined by ", " for a help text, broken before an item that would pass column `width`.
// For lists generated from a table (the methods).
std::string join_wrapped(const std::vector<std::string>& items, size_t width = 78);

// Prints "gaze: error: <message>" on one line to stderr; returns 1 (the exit code).
int report_error(const std::string& message);

}  // namespace gaze::cli
