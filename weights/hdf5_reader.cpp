// hdf5_reader.h. The messages are little-endian lengths, strings as length + bytes, and a
// dataset as its rank, dimensions and float32 values, over a Unix stream socket.
#include "weights/hdf5_reader.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <map>
#include <new>
#include <stdexcept>
#include <utility>

#include "tensor/error.h"
#include "weights/hdf5_file.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GAZE_ADDRESS_SANITIZER 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define GAZE_ADDRESS_SANITIZER 1
#endif
#if defined(GAZE_ADDRESS_SANITIZER)
#include <sanitizer/common_interface_defs.h>
#endif

namespace gaze::hdf5 {
namespace {

// A read or write that did not complete: the other side is gone.
struct Disconnected {};

void write_all(int socket, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    // MSG_NOSIGNAL: a dead peer is an error here, not a SIGPIPE that kills the writer.
    const ssize_t sent = ::send(socket, p, size, MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) throw Disconnected{};
    p += sent;
    size -= static_cast<size_t>(sent);
  }
}

void read_all(int socket, void* data, size_t size) {
  char* p = static_cast<char*>(data);
  while (size > 0) {
    const ssize_t got = ::recv(socket, p, size, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) throw Disconnected{};
    p += got;
    size -= static_cast<size_t>(got);
  }
}

// A message built whole, then sent with one call: each send wakes the reader.
class Message {
 public:
  Message& u64(uint64_t value) {
    for (int i = 0; i < 8; ++i) bytes_.push_back(static_cast<char>(value >> 8 * i));
    return *this;
  }
  Message& byte(unsigned char value) {
    bytes_.push_back(static_cast<char>(value));
    return *this;
  }
  Message& text(const std::string& value) {
    u64(value.size());
    bytes_ += value;
    return *this;
  }
  void send(int socket) const { write_all(socket, bytes_.data(), bytes_.size()); }

 private:
  std::string bytes_;
};

uint64_t read_u64(int socket) {
  unsigned char bytes[8];
  read_all(socket, bytes, sizeof bytes);
  uint64_t value = 0;
  for (int i = 8; i-- > 0;) value = value << 8 | bytes[i];
  return value;
}

std::string read_string(int socket) {
  std::string text(read_u64(socket), '\0');
  read_all(socket, text.data(), text.size());
  return text;
}

constexpr unsigned char kSucceeded = 0;
constexpr unsigned char kFailed = 1;

// ---- The child ----

// The fatal-signal handlers the child inherits (a fuzzer's, a sanitizer's) would report the
// child's crash as the parent's: the child dies of its signals, and the parent reports them.
void reset_inherited_handlers() {
  for (int signal : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT}) ::signal(signal, SIG_DFL);
  // Ctrl-C is the parent's to handle; the child ends when the parent closes the socket, or dies.
  ::signal(SIGINT, SIG_IGN);
  ::signal(SIGTERM, SIG_IGN);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
#if defined(GAZE_ADDRESS_SANITIZER)
  __sanitizer_set_death_callback(nullptr);  // libFuzzer's saves the input as a crash
#endif
  // What libhdf5 or a sanitizer would print there is not the one line gaze promises; the
  // parent reports how the child ended.
  const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (null >= 0) ::dup2(null, STDERR_FILENO);
}

void answer(int socket, Query query, const Group& group, const std::string& name) {
  switch (query) {
    case Query::kChildNames:
    case Query::kAttributeNames:
    case Query::kStringArrayAttribute: {
      const std::vector<std::string> strings = query == Query::kChildNames ? group.child_names()
                                               : query == Query::kAttributeNames
                                                   ? group.attribute_names()
                                                   : group.read_string_array_attribute(name);
      Message message;
      message.byte(kSucceeded).u64(strings.size());
      for (const std::string& text : strings) message.text(text);
      message.send(socket);
      return;
    }
    case Query::kHasChild:
    case Query::kHasAttribute:
    case Query::kHasStringAttribute: {
      const bool yes = query == Query::kHasChild       ? group.has_child(name)
                       : query == Query::kHasAttribute ? group.has_attribute(name)
                                                       : group.has_string_attribute(name);
      Message().byte(kSucceeded).byte(yes).send(socket);
      return;
    }
    case Query::kOpenGroup:
      (void)group.open_group(name);
      Message().byte(kSucceeded).send(socket);
      return;
    case Query::kFloatDataset: {
      const Tensor values = group.read_float_dataset(name);
      Message header;
      header.byte(kSucceeded).u64(values.shape().size());
      for (const int64_t dim : values.shape()) header.u64(static_cast<uint64_t>(dim));
      header.send(socket);
      write_all(socket, values.data(), static_cast<size_t>(values.size()) * sizeof(float));
      return;
    }
  }
  throw Error("unknown query");
}

// The child's life: open the file, say whether that worked, then answer until the parent is gone.
[[noreturn]] void serve(int socket, const std::string& label, const std::function<File()>& open) {
  try {
    try {
      File file = open();
      std::map<std::string, Group> groups;  // each opened once, by its path from the root
      Message().byte(kSucceeded).send(socket);
      for (;;) {
        unsigned char query = 0;
        read_all(socket, &query, 1);
        const std::string path = read_string(socket);
        const std::string name = read_string(socket);
        try {
          auto group = groups.find(path);
          if (!path.empty() && group == groups.end()) {
            group = groups.emplace(path, file.root().open_group(path)).first;
          }
          answer(socket, static_cast<Query>(query), path.empty() ? file.root() : group->second,
                 name);
        } catch (const std::exception& e) {
          Message()
              .byte(kFailed)
              .text(dynamic_cast<const Error*>(&e) != nullptr
                        ? std::string(e.what())
                        : label + ": cannot read the file: " + e.what())
              .send(socket);
        }
      }
    } catch (const Error& e) {
      Message().byte(kFailed).text(e.what()).send(socket);
    } catch (const std::exception& e) {
      Message().byte(kFailed).text(label + ": cannot read the file: " + e.what()).send(socket);
    }
  } catch (const Disconnected&) {
  }
  // Not exit(): the parent's atexit handlers and unflushed stdio buffers are not the child's.
  ::_exit(0);
}

}  // namespace

// ---- The parent ----

ReaderProcess::ReaderProcess(std::string label, const std::function<File()>& open)
    : label_(std::move(label)) {
  int sockets[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) != 0) {
    throw Error(label_ + ": cannot start the HDF5 reader: " + std::strerror(errno));
  }
  const pid_t child = ::fork();
  if (child < 0) {
    ::close(sockets[0]);
    ::close(sockets[1]);
    throw Error(label_ + ": cannot start the HDF5 reader: " + std::strerror(errno));
  }
  if (child == 0) {
    ::close(sockets[0]);
    const int buffer = 4 << 20;
    ::setsockopt(sockets[1], SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
    reset_inherited_handlers();
    serve(sockets[1], label_, open);
  }
  ::close(sockets[1]);
  socket_ = sockets[0];
  // Datasets of megabytes come through in fewer, larger pieces (the kernel caps the size).
  const int buffer = 4 << 20;
  ::setsockopt(socket_, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  child_ = child;
  try {
    expect_success();
  } catch (...) {
    stop();  // the constructor did not finish: the destructor does not run
    throw;
  }
}

ReaderProcess::~ReaderProcess() {
  stop();
}

void ReaderProcess::stop() {
  if (socket_ >= 0) ::close(std::exchange(socket_, -1));
  if (child_ > 0) {
    ::kill(child_, SIGKILL);
    while (::waitpid(child_, nullptr, 0) < 0 && errno == EINTR) {
    }
    child_ = -1;
  }
}

void ReaderProcess::send_request(Query query, const std::string& group, const std::string& name) {
  if (!death_.empty()) throw Error(death_);
  try {
    Message().byte(static_cast<unsigned char>(query)).text(group).text(name).send(socket_);
  } catch (const Disconnected&) {
    fail_child_died();
  }
}

void ReaderProcess::expect_success() {
  try {
    unsigned char status = kFailed;
    read_all(socket_, &status, 1);
    if (status != kSucceeded) throw Error(read_string(socket_));
  } catch (const Disconnected&) {
    fail_child_died();
  }
}

void ReaderProcess::fail_child_died() {
  int status = 0;
  pid_t reaped = -1;
  while ((reaped = ::waitpid(child_, &status, 0)) < 0 && errno == EINTR) {
  }
  std::string how = "it ended";
  if (reaped == child_) {
    child_ = -1;
    if (WIFSIGNALED(status)) {
      how = "signal " + std::to_string(WTERMSIG(status)) + ", " + ::strsignal(WTERMSIG(status));
    } else if (WIFEXITED(status)) {
      how = "exit status " + std::to_string(WEXITSTATUS(status));
    }
  }
  death_ =
      label_ + ": the HDF5 library crashed reading the file (" + how + "), the file is corrupt";
  throw Error(death_);
}

Answer ReaderProcess::ask(Query query, const std::string& group, const std::string& name) {
  send_request(query, group, name);
  expect_success();
  Answer answer;
  try {
    switch (query) {
      case Query::kChildNames:
      case Query::kAttributeNames:
      case Query::kStringArrayAttribute:
        answer.strings.resize(read_u64(socket_));
        for (std::string& text : answer.strings) text = read_string(socket_);
        break;
      case Query::kHasChild:
      case Query::kHasAttribute:
      case Query::kHasStringAttribute: {
        unsigned char yes = 0;
        read_all(socket_, &yes, 1);
        answer.yes = yes != 0;
        break;
      }
      case Query::kOpenGroup:
        break;
      case Query::kFloatDataset: {
        Shape shape(read_u64(socket_));
        for (int64_t& dim : shape) dim = static_cast<int64_t>(read_u64(socket_));
        answer.tensor = Tensor(shape);
        read_all(socket_, answer.tensor.data(),
                 static_cast<size_t>(answer.tensor.size()) * sizeof(float));
        break;
      }
    }
  } catch (const Disconnected&) {
    fail_child_died();
  } catch (const std::bad_alloc&) {  // the child's sizes are not to be trusted either
    throw Error(label_ + ": the HDF5 reader's answer is larger than fits in memory");
  } catch (const std::length_error&) {
    throw Error(label_ + ": the HDF5 reader's answer is larger than fits in memory");
  }
  return answer;
}

}  // namespace gaze::hdf5
