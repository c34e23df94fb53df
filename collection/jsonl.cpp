#include "collection/jsonl.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "tensor/error.h"
#include "tensor/json_limits.h"

namespace gaze {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what, int error) {
  throw Error(path + ": " + what + " (" + std::strerror(error) + ")");
}

// Cuts a last line that has no '\n' (its write never finished) off the open file.
void cut_unfinished_line(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail(path, "cannot read", errno);
  off_t end = st.st_size;
  char c = '\n';
  while (end > 0) {
    if (::pread(fd, &c, 1, end - 1) != 1) fail(path, "cannot read", errno);
    if (c == '\n') break;
    --end;
  }
  if (end != st.st_size && ::ftruncate(fd, end) != 0) fail(path, "cannot write", errno);
}

}  // namespace

JsonlWriter::JsonlWriter(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) fail(path, "cannot open the results file", errno);
  try {
    cut_unfinished_line(fd_, path);
  } catch (...) {
    ::close(fd_);
    throw;
  }
}

JsonlWriter::~JsonlWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void JsonlWriter::append(const std::string& object) {
  const std::string line = object + "\n";
  struct stat st {};
  if (::fstat(fd_, &st) != 0) fail(path_, "cannot write", errno);
  const ssize_t written = ::write(fd_, line.data(), line.size());
  const int error = written < 0 ? errno : ENOSPC;  // a short write is a full disk
  const bool whole = written == static_cast<ssize_t>(line.size());
  if (whole && (::fsync(fd_) == 0 || errno == EINVAL)) return;  // EINVAL: not a disk file
  const int sync_error = whole ? errno : error;
  // Take back what reached the file, so that it ends with a whole line.
  if (written > 0 && ::ftruncate(fd_, st.st_size) != 0) {
    // Nothing more to try: the next open cuts the unfinished line.
  }
  fail(path_, "cannot write", sync_error);
}

std::set<std::string> succeeded_inputs(const std::string& path) {
  std::set<std::string> inputs;
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return inputs;
    fail(path, "cannot read the results file", errno);
  }
  for (std::string line; std::getline(in, line);) {
    try {
      check_json_limits(line, path, "a line");
    } catch (const Error&) {
      continue;  // like a line that is not JSON: not a success, so its input runs again
    }
    const nlohmann::json o = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!o.is_object() || o.contains("error")) continue;
    const auto it = o.find("input");
    if (it != o.end() && it->is_string()) inputs.insert(it->get<std::string>());
  }
  if (in.bad()) fail(path, "cannot read the results file", EIO);
  return inputs;
}

std::string error_line(const std::string& input, const std::string& message) {
  // A path need not be UTF-8; JSON must be: invalid bytes become U+FFFD.
  return nlohmann::json{{"input", input}, {"error", message}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace gaze
