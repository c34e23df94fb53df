// Progress: when it speaks, and what it says, on a clock the test sets.
#include "collection/progress.h"

#include <gtest/gtest.h>

namespace gaze {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(Progress, PlainLinesComeEveryIntervalWithRateAndTimeLeft) {
  const Progress::Clock::time_point t0{};
  Progress p(100, /*terminal=*/false, t0, seconds(5));
  for (int i = 0; i < 10; ++i) p.advance();
  EXPECT_EQ(p.update(t0 + seconds(4)), "");
  EXPECT_EQ(p.update(t0 + seconds(5)), "gaze: 10/100 (10%), 2.0 images/s, ETA 45s\n");
  EXPECT_EQ(p.update(t0 + seconds(6)), "");
  EXPECT_EQ(p.clear_line(), "");
}

TEST(Progress, TheTerminalBarIsRedrawnInPlace) {
  const Progress::Clock::time_point t0{};
  Progress p(4, /*terminal=*/true, t0);
  p.advance();
  EXPECT_EQ(p.update(t0 + milliseconds(50)), "");
  const std::string bar = p.update(t0 + seconds(2));
  EXPECT_EQ(bar.substr(0, 1), "\r");
  EXPECT_NE(bar.find(" 1/4  25% 0.5 img/s ETA 6s"), std::string::npos) << bar;
  EXPECT_EQ(bar.find('\n'), std::string::npos);
  EXPECT_EQ(p.clear_line(), "\r\033[K");
  for (int i = 0; i < 3; ++i) p.advance();
  EXPECT_NE(p.update(t0 + seconds(2) + milliseconds(1)).find("4/4 100%"), std::string::npos)
      << "the last input is always drawn";
}

TEST(Progress, DurationsReadLikeAClock) {
  EXPECT_EQ(format_duration(12.4), "12s");
  EXPECT_EQ(format_duration(280), "4m40s");
  EXPECT_EQ(format_duration(3 * 3600 + 5 * 60 + 9), "3h05m");
  EXPECT_EQ(format_duration(-1), "0s");
}

}  // namespace
}  // namespace gaze
