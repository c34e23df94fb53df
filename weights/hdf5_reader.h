// HDF5 files are read in a child process (internal to weights/hdf5_file.cpp).
//
// Why: Debian 12's libhdf5 (1.10.8) trusts sizes and indexes it decodes from the file in places
// gaze cannot check before calling it: the fuzzer found a corrupt attribute message that makes it
// copy past its buffer (docs/fuzzing.md), beside the crashes that have guards. So every file
// opened for reading is opened by a child forked for it, and the parent asks it for names,
// strings and datasets over a socket. A crash or a corrupted heap in the child is the child's:
// the parent reports one error ("the HDF5 library crashed reading the file") and goes on, as a
// batch does with a bad image. Files gaze writes stay in process (it wrote what it reads).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace gaze::hdf5 {

class File;

// What the parent asks; each names a group by its path in the file and, but for kChildNames and
// kAttributeNames, a name in it: a child path, an attribute or a dataset.
enum class Query : uint8_t {
  kChildNames,
  kHasChild,
  kOpenGroup,
  kAttributeNames,
  kHasAttribute,
  kHasStringAttribute,
  kStringArrayAttribute,
  kFloatDataset,
};

// The answer to a query: names or strings, a yes or no, or a dataset's values.
struct Answer {
  std::vector<std::string> strings;
  bool yes = false;
  Tensor tensor;
};

// A child process serving one file. The child runs `open` (it throws gaze::Error for a file it
// refuses), then answers queries with the File it opened until the parent closes the socket.
class ReaderProcess {
 public:
  // Throws the child's Error when `open` fails, or Error("<label>: ...") when the child dies.
  ReaderProcess(std::string label, const std::function<File()>& open);
  // Kills and reaps the child: it holds nothing to save.
  ~ReaderProcess();
  ReaderProcess(const ReaderProcess&) = delete;
  ReaderProcess& operator=(const ReaderProcess&) = delete;

  // The answer, or the Error the child threw answering (or Error("<label>: ...") when it died).
  Answer ask(Query query, const std::string& group, const std::string& name);

 private:
  void send_request(Query query, const std::string& group, const std::string& name);
  // Reads the status of an answer; throws the child's Error or the child's death.
  void expect_success();
  [[noreturn]] void fail_child_died();
  // Closes the socket, then kills and reaps the child.
  void stop();

  std::string label_;
  int socket_ = -1;
  pid_t child_ = -1;
  std::string death_;  // once the child died, what the parent reports from then on
};

}  // namespace gaze::hdf5
