// Every file gaze writes goes through a temporary beside it, renamed into place when complete,
// so no reader ever sees a half-written image, array or model, and a failed write (a full disk,
// a file size limit) is an Error naming the file the user asked for.
#pragma once

#include <cstdio>
#include <functional>
#include <memory>
#include <string>

namespace gaze {

// The temporary that process `pid` writes `path` through: "<path>.tmp-<pid><extension>", in the
// same folder (so the rename stays within one file system) and with the same extension (for
// writers that look at it). Tests rely on the name to put a full device under it.
std::string temporary_path_for(const std::string& path, long pid);

// Calls write(temporary) to create the file at temporary_path_for(path, getpid()), then flushes it
// to the disk (fsync) and renames it to `path`. If write throws, or the fsync or the rename fails,
// the temporary is removed, an existing file at `path` is left as it was, and the error propagates
// (the fsync's and the rename's as Error naming `path`).
void write_atomically(const std::string& path,
                      const std::function<void(const std::string& temporary)>& write);

// A file being written with every step checked. A failed open, write, flush or close throws
// Error("<label>: cannot write (<reason>)"), `label` being the name the user knows (the final
// path, not the temporary).
class CheckedFile {
 public:
  CheckedFile(const std::string& path, const std::string& label);
  void write(const void* data, size_t bytes);
  // Flushes and closes, checked. Without it the destructor closes without checking (an error
  // is already on its way then).
  void close();

 private:
  [[noreturn]] void fail(int error) const;

  std::unique_ptr<FILE, int (*)(FILE*)> file_;
  std::string label_;
};

}  // namespace gaze
