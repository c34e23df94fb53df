#include "collection/progress.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace gaze {

Progress::Progress(int64_t total, bool terminal, Clock::time_point start,
                   std::chrono::seconds plain_interval)
    : total_(total),
      terminal_(terminal),
      start_(start),
      last_(start),
      interval_(terminal ? std::chrono::milliseconds(100)
                         : std::chrono::duration_cast<std::chrono::milliseconds>(plain_interval)) {}

double Progress::seconds(Clock::time_point now) const {
  return std::chrono::duration<double>(now - start_).count();
}

std::string Progress::update(Clock::time_point now) {
  if (now - last_ < interval_ && !(terminal_ && done_ == total_)) return "";
  last_ = now;
  const double elapsed = seconds(now);
  const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
  const double percent = total_ > 0 ? 100.0 * static_cast<double>(done_) / total_ : 100.0;
  const std::string eta =
      rate > 0 ? format_duration(static_cast<double>(total_ - done_) / rate) : "?";
  if (terminal_) {
    drawn_ = true;
    return bar(rate, percent, eta);
  }
  char line[160];
  std::snprintf(line, sizeof line, "gaze: %lld/%lld (%.0f%%), %.1f images/s, ETA %s\n",
                static_cast<long long>(done_), static_cast<long long>(total_), percent, rate,
                eta.c_str());
  return line;
}

std::string Progress::bar(double rate, double percent, const std::string& eta) const {
  constexpr int kWidth = 30;
  const int filled = std::clamp(static_cast<int>(std::lround(percent / 100.0 * kWidth)), 0, kWidth);
  char line[200];
  std::snprintf(line, sizeof line, "\r[%s%s] %lld/%lld %3.0f%% %.1f img/s ETA %s\033[K",
                std::string(static_cast<size_t>(filled), '#').c_str(),
                std::string(static_cast<size_t>(kWidth - filled), '.').c_str(),
                static_cast<long long>(done_), static_cast<long long>(total_), percent, rate,
                eta.c_str());
  return line;
}

std::string Progress::clear_line() const {
  return drawn_ ? "\r\033[K" : "";
}

std::string format_duration(double seconds) {
  const long s = std::lround(std::max(seconds, 0.0));
  char text[32];
  if (s >= 3600) {
    std::snprintf(text, sizeof text, "%ldh%02ldm", s / 3600, s / 60 % 60);
  } else if (s >= 60) {
    std::snprintf(text, sizeof text, "%ldm%02lds", s / 60, s % 60);
  } else {
    std::snprintf(text, sizeof text, "%lds", s);
  }
  return text;
}

}  // namespace gaze
