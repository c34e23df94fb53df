// Ctrl-C (SIGINT) and SIGTERM during a batch: a request to stop after the current input, so that
// no output is left half-written and the results file stays valid for --resume. A second signal
// stops at once, as without gaze's handling.
#pragma once

#include <atomic>
#include <thread>

namespace gaze {

class StopSignal {
 public:
  // Blocks SIGINT and SIGTERM in the calling thread, and so in every thread created after it
  // (OpenMP's pool too: construct this before any parallel work), and starts a thread that
  // waits for them. The first one prints a line to stderr and sets requested().
  StopSignal();
  // Stops the waiting thread and unblocks the signals (a pending one then acts as usual).
  ~StopSignal();
  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;

  bool requested() const { return signal_.load() != 0; }
  // The signal received (SIGINT, SIGTERM), else 0.
  int signal() const { return signal_.load(); }

 private:
  void wait_for_signals();

  std::atomic<int> signal_{0};
  std::atomic<bool> finished_{false};
  std::thread waiter_;
};

}  // namespace gaze
