#include "tensor/atomic_write.h"

#include <unistd.h>

#include <filesystem>

#include "tensor/error.h"

namespace gaze {

void write_atomically(const std::string& path,
                      const std::function<void(const std::string& temporary)>& write) {
  // Same folder (a rename within one file system) and same extension (writers that look at it).
  const std::string temporary = path + ".tmp-" + std::to_string(::getpid()) +
                                std::filesystem::path(path).extension().string();
  std::error_code ignored;
  try {
    write(temporary);
    std::error_code error;
    std::filesystem::rename(temporary, path, error);
    if (error) throw Error(path + ": cannot rename into place (" + error.message() + ")");
  } catch (...) {
    std::filesystem::remove(temporary, ignored);
    throw;
  }
}

}  // namespace gaze
