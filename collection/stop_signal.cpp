#include "collection/stop_signal.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

namespace gaze {
namespace {

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

void say(const char* text) {
  // write(2): one call, no stdio buffer shared with the main thread.
  size_t left = 0;
  while (text[left] != '\0') ++left;
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, text, left);
    if (n <= 0) return;
    text += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace

StopSignal::StopSignal() {
  const sigset_t set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  waiter_ = std::thread([this] { wait_for_signals(); });
}

StopSignal::~StopSignal() {
  finished_ = true;
  waiter_.join();
  const sigset_t set = stop_signals();
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

void StopSignal::wait_for_signals() {
  const sigset_t set = stop_signals();
  const timespec tick{0, 100'000'000};  // 0.1 s: how soon the destructor is noticed
  while (!finished_) {
    const int received = sigtimedwait(&set, nullptr, &tick);
    if (received < 0) continue;  // EAGAIN (the tick) or EINTR
    if (signal_.load() == 0) {
      signal_ = received;
      say("\ngaze: stopping after the current input (again to stop at once)\n");
      continue;
    }
    // The second one: act as the signal's default action would, killing the process.
    struct sigaction fallback {};
    fallback.sa_handler = SIG_DFL;
    sigaction(received, &fallback, nullptr);
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, received);
    pthread_sigmask(SIG_UNBLOCK, &only, nullptr);
    ::raise(received);
  }
}

}  // namespace gaze
