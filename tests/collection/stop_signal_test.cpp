// StopSignal: SIGINT or SIGTERM becomes a request, not a death, while it lives.
#include "collection/stop_signal.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace gaze {
namespace {

bool becomes_requested(const StopSignal& stop) {
  for (int i = 0; i < 200 && !stop.requested(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return stop.requested();
}

TEST(StopSignal, SigintIsARequestToStop) {
  const StopSignal stop;
  EXPECT_FALSE(stop.requested());
  ASSERT_EQ(::kill(::getpid(), SIGINT), 0);
  EXPECT_TRUE(becomes_requested(stop));
  EXPECT_EQ(stop.signal(), SIGINT);
}

TEST(StopSignal, SigtermToo) {
  const StopSignal stop;
  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
  EXPECT_TRUE(becomes_requested(stop));
  EXPECT_EQ(stop.signal(), SIGTERM);
}

}  // namespace
}  // namespace gaze
