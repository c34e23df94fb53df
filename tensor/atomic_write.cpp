#include "tensor/atomic_write.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "tensor/error.h"

namespace gaze {
namespace {

std::string cannot_write(const std::string& label, int error) {
  return label + ": cannot write (" + std::strerror(error) + ")";
}

// Forces the temporary's data to the disk before the rename makes it visible: without it a crash
// can leave a renamed but empty file, and some file systems (NFS, quotas on network storage)
// report a full disk only here or at close.
void sync_to_disk(const std::string& temporary, const std::string& label) {
  const int fd = ::open(temporary.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(cannot_write(label, errno));
  // EINVAL: a file that cannot be synchronized (a device): nothing is pending on a disk then.
  const int synced = ::fsync(fd) == 0 || errno == EINVAL ? 0 : errno;
  if (::close(fd) != 0 && synced == 0) throw Error(cannot_write(label, errno));
  if (synced != 0) throw Error(cannot_write(label, synced));
}

}  // namespace

std::string temporary_path_for(const std::string& path, long pid) {
  return path + ".tmp-" + std::to_string(pid) + std::filesystem::path(path).extension().string();
}

void write_atomically(const std::string& path,
                      const std::function<void(const std::string& temporary)>& write) {
  const std::string temporary = temporary_path_for(path, ::getpid());
  std::error_code ignored;
  try {
    write(temporary);
    sync_to_disk(temporary, path);
    std::error_code error;
    std::filesystem::rename(temporary, path, error);
    if (error) throw Error(path + ": cannot rename into place (" + error.message() + ")");
  } catch (...) {
    std::filesystem::remove(temporary, ignored);
    throw;
  }
}

CheckedFile::CheckedFile(const std::string& path, const std::string& label)
    : file_(std::fopen(path.c_str(), "wb"), &std::fclose), label_(label) {
  if (!file_) throw Error(label_ + ": cannot create the file (" + std::strerror(errno) + ")");
}

void CheckedFile::fail(int error) const {
  throw Error(cannot_write(label_, error));
}

void CheckedFile::write(const void* data, size_t bytes) {
  if (!file_) throw Error(label_ + ": write after close");
  if (bytes > 0 && std::fwrite(data, 1, bytes, file_.get()) != bytes) fail(errno);
}

void CheckedFile::close() {
  if (!file_) return;
  if (std::fflush(file_.get()) != 0) fail(errno);
  // fclose's own result counts too: some file systems report errors only when the file closes.
  if (std::fclose(file_.release()) != 0) fail(errno);
}

}  // namespace gaze
