// Results as JSON Lines (--jsonl FILE): one object per input and line, appended and flushed line
// by line, so that a run stopped at any moment leaves a valid file that --resume continues.
#pragma once

#include <set>
#include <string>

namespace gaze {

class JsonlWriter {
 public:
  // Opens `path` for appending, creating it. A last line without its '\n' (a run killed in the
  // middle of a write) is cut off first, so appended lines never join it. Throws Error naming
  // the file.
  explicit JsonlWriter(const std::string& path);
  ~JsonlWriter();
  JsonlWriter(const JsonlWriter&) = delete;
  JsonlWriter& operator=(const JsonlWriter&) = delete;

  // Appends `object` (one line of JSON, without the '\n') and the '\n' in one write, then
  // fsyncs. A failed or short write (a full disk) is cut back off, so the file still ends with
  // a whole line, and throws Error("<path>: cannot write (<reason>)").
  void append(const std::string& object);

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

// The "input" of every line of `path` that parses as a JSON object without an "error": what
// --resume skips. An absent file holds none; lines that do not parse are ignored (they are not
// successes). Throws Error naming the file when it exists but cannot be read.
std::set<std::string> succeeded_inputs(const std::string& path);

// {"input": <input>, "error": <message>}: the line of a failed input.
std::string error_line(const std::string& input, const std::string& message);

}  // namespace gaze
