// Progress over a collection: counts, rate and time left, as a terminal bar redrawn in place or
// as a plain line every few seconds for logs. This only decides and formats; the caller prints.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace gaze {

class Progress {
 public:
  using Clock = std::chrono::steady_clock;

  // `total`: the inputs to run (after --shard and --resume). `terminal`: stderr is a terminal
  // (a bar redrawn up to 10 times a second), else plain lines every `plain_interval`.
  Progress(int64_t total, bool terminal, Clock::time_point start = Clock::now(),
           std::chrono::seconds plain_interval = std::chrono::seconds(5));

  // One more input done (succeeded or failed).
  void advance() { ++done_; }

  // The text to print now, or "" when it is not yet time. A bar starts with '\r' and has no
  // '\n' (clear_line() erases it before other output); a plain line ends with '\n'.
  std::string update(Clock::time_point now = Clock::now());
  // What erases the bar before another line is printed ("" when nothing is drawn).
  std::string clear_line() const;

  int64_t done() const { return done_; }
  double seconds(Clock::time_point now = Clock::now()) const;

 private:
  std::string bar(double rate, double percent, const std::string& eta) const;

  int64_t total_, done_ = 0;
  bool terminal_, drawn_ = false;
  Clock::time_point start_, last_;
  std::chrono::milliseconds interval_;
};

// "3h05m", "4m40s", "12s".
std::string format_duration(double seconds);

}  // namespace gaze
