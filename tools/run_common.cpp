// What the model-running commands share (tools/run_common.h).
#include "tools/run_common.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tensor/error.h"
#include "tools/model_path.h"

namespace gaze {

namespace {

constexpr int64_t kImageNetClasses = 1000;

// Valid UTF-8 (names end up in JSON output, which must be UTF-8): no stray continuation bytes,
// no truncated or overlong sequences, no surrogates, nothing above U+10FFFF.
bool valid_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t extra = 0;
    uint32_t code = 0, min = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1, code = c & 0x1Fu, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2, code = c & 0x0Fu, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3, code = c & 0x07u, min = 0x10000;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;  // truncated at the end
    for (size_t k = 1; k <= extra; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      code = (code << 6) | (d & 0x3Fu);
    }
    if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

// One class name per line; `expected` is the model's number of outputs.
std::vector<std::string> read_class_names(const std::string& path, int64_t expected,
                                          const std::string& model) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(path + ": no such file (--labels wants a text file)");
  if (fs::is_directory(path, ec)) throw Error(path + ": is a folder, not a file of class names");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open the class names file");
  std::vector<std::string> names;
  for (std::string line; std::getline(in, line);) {
    if (names.empty() && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // a UTF-8 BOM
    if (!line.empty() && line.back() == '\r') line.pop_back();
    names.push_back(std::move(line));
  }
  if (in.bad()) throw Error(path + ": cannot read the class names file");
  while (!names.empty() && names.back().empty()) names.pop_back();
  if (static_cast<int64_t>(names.size()) != expected) {
    throw Error(path + ": " + std::to_string(names.size()) + " class name" +
                (names.size() == 1 ? "" : "s") + ", but the model " + model + " has " +
                std::to_string(expected) + " output" + (expected == 1 ? "" : "s") +
                " (one name per line)");
  }
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string where = path + ": line " + std::to_string(i + 1);
    if (names[i].empty()) throw Error(where + " is empty (one class name per line)");
    if (names[i].find('\0') != std::string::npos) throw Error(where + " holds a NUL byte");
    if (!valid_utf8(names[i])) throw Error(where + " is not valid UTF-8");
  }
  return names;
}

}  // namespace

std::vector<std::string> class_names_for(const cli::Parser& p, const LoadedModel& loaded) {
  const Model& model = loaded.model;
  const int64_t outputs = model.output_shape(model.output_index()).back();
  if (p.has("labels")) return read_class_names(p.get("labels"), outputs, loaded.path);
  if (!loaded.class_names.empty() || outputs != kImageNetClasses) return loaded.class_names;
  const std::string imagenet = default_imagenet_classes_path();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(imagenet, ec)) return {};
  return read_class_names(imagenet, outputs, loaded.path);
}

std::string json_string(const std::string& text) {
  return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string predictions_json(const std::vector<Prediction>& predictions) {
  std::string s = "[";
  for (const Prediction& p : predictions) {
    char prob[32];
    std::snprintf(prob, sizeof prob, "%.9g", static_cast<double>(p.probability));
    if (s.size() > 1) s += ", ";
    s += "{\"index\": " + std::to_string(p.index) + ", \"class\": " + json_string(p.label) +
         ", \"prob\": " + prob + "}";
  }
  return s + "]";
}

std::string progress_line(const std::string& input, double milliseconds) {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  const double mib =
      static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1 << 20);
  char line[64];
  std::snprintf(line, sizeof line, ": %.1f ms, RSS %.1f MiB\n", milliseconds, mib);
  return "gaze: " + input + line;
}

std::string predictions_text(const std::vector<Prediction>& predictions) {
  std::string text;
  for (const Prediction& p : predictions) {
    char line[256];
    std::snprintf(line, sizeof line, "  %-16s %9.6f\n", p.label.c_str(),
                  static_cast<double>(p.probability));
    text += line;
  }
  return text;
}

std::string format_number(const char* format, double value) {
  char text[64];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

namespace {
// Cleared, so that the next input's results are tried (and checked) afresh.
[[noreturn]] void fail_stdout(bool known, int error) {
  std::clearerr(stdout);
  std::cout.clear();
  throw Error(std::string("stdout: cannot write") +
              (known ? std::string(" (") + std::strerror(error) + ")" : ""));
}
}  // namespace

void print_stdout(const std::string& text) {
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size()) fail_stdout(true, errno);
}

void check_stdout() {
  const bool flushed = std::fflush(stdout) == 0;
  const int error = errno;
  // An earlier failure whose reason is gone (glibc drops the buffer of a failed write) shows as
  // the error flag only.
  if (!flushed || std::ferror(stdout) || !std::cout.good()) fail_stdout(!flushed, error);
}

Preprocessing model_preprocessing(const cli::Parser& p, const LoadedModel& loaded) {
  if (p.has("preprocessing")) return parse_preprocessing(p.get("preprocessing"));
  if (loaded.preprocessing.empty()) {
    throw Error(loaded.path +
                ": the model does not say how to preprocess images; pass --preprocessing");
  }
  return parse_preprocessing(loaded.preprocessing);
}

int class_index(const std::string& spec, const std::vector<std::string>& classes, int64_t count) {
  const auto it = std::find(classes.begin(), classes.end(), spec);
  if (it != classes.end()) return static_cast<int>(it - classes.begin());
  char* end = nullptr;
  const long i = std::strtol(spec.c_str(), &end, 10);
  if (end && *end == '\0' && !spec.empty() && i >= 0 && i < count) return static_cast<int>(i);
  std::string known;
  for (const std::string& c : classes) known += (known.empty() ? "" : ", ") + c;
  throw Error("--class: unknown class '" + spec + "' (give a name" +
              (known.empty() ? "" : " (" + known + ")") + " or an index from 0 to " +
              std::to_string(count - 1) + ")");
}

std::vector<int> chosen_classes(const std::vector<std::string>& class_specs, int top,
                                const Tensor& probs, const std::vector<std::string>& class_names) {
  std::vector<int> classes;
  for (const std::string& c : class_specs)
    classes.push_back(class_index(c, class_names, probs.size()));
  if (classes.empty()) {
    for (const Prediction& pr : rank_predictions(probs, class_names, std::max(top, 1)))
      classes.push_back(pr.index);
  }
  return classes;
}

std::string label_of(int k, const std::vector<std::string>& classes) {
  return static_cast<size_t>(k) < classes.size() ? classes[static_cast<size_t>(k)]
                                                 : "class_" + std::to_string(k);
}

}  // namespace gaze
