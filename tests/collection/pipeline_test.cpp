// run_pipeline: order, per-input errors, stopping and the bound on work ahead, in turn, with the
// overlap and in lanes; and that the overlap does overlap and the lanes do run at once.
#include "collection/pipeline.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace gaze {
namespace {

using namespace std::chrono_literals;

// Waits until `flag` is set, for at most 5 s; whether it was.
bool wait_for(const std::atomic<bool>& flag) {
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (!flag.load() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(1ms);
  return flag.load();
}

struct Recorded {
  std::vector<int64_t> index;
  std::vector<std::string> value;  // the result, or "error: <what>"
};

// The parameter: 0 in turn, 1 the three overlapped stages, 2 or more that many lanes.
class Pipeline : public testing::TestWithParam<int> {
 protected:
  PipelineOptions options() const {
    PipelineOptions o;
    o.overlap = GetParam() > 0;
    o.lanes = std::max(1, GetParam());
    return o;
  }
  int64_t lanes() const { return std::max(1, GetParam()); }
  bool in_lanes() const { return GetParam() > 1; }
};

TEST_P(Pipeline, RecordsEveryInputInOrderOnTheCallingThread) {
  const std::thread::id caller = std::this_thread::get_id();
  Recorded r;
  std::atomic<bool> on_caller{true}, run_on_caller{true};
  const int64_t n = run_pipeline(
      12, options(), [](int64_t i) { return i * 10; },
      [&](int64_t i, int64_t&& loaded) {
        if (std::this_thread::get_id() != caller) run_on_caller = false;
        EXPECT_EQ(loaded, i * 10);
        return loaded + 1;
      },
      [](int64_t i, int64_t&& ran) { return std::to_string(i) + ":" + std::to_string(ran); },
      [&](int64_t i, std::future<std::string>&& done) {
        if (std::this_thread::get_id() != caller) on_caller = false;
        r.index.push_back(i);
        r.value.push_back(done.get());
      },
      [] { return false; });
  EXPECT_EQ(n, 12);
  EXPECT_TRUE(on_caller.load()) << "record must stay on the calling thread";
  EXPECT_EQ(run_on_caller.load(), !in_lanes()) << "run is on the calling thread but in lanes";
  ASSERT_EQ(r.index.size(), 12u);
  for (int64_t i = 0; i < 12; ++i) {
    EXPECT_EQ(r.index[static_cast<size_t>(i)], i);
    EXPECT_EQ(r.value[static_cast<size_t>(i)],
              std::to_string(i) + ":" + std::to_string(i * 10 + 1));
  }
}

TEST_P(Pipeline, AnErrorInAnyStageIsThatInputsAndSkipsItsLaterStages) {
  std::atomic<int> runs{0}, finishes{0};
  Recorded r;
  const int64_t n = run_pipeline(
      10, options(),
      [](int64_t i) {
        if (i == 2) throw std::runtime_error("load 2");
        return i;
      },
      [&](int64_t i, int64_t&& v) {
        ++runs;
        if (i == 5) throw std::runtime_error("run 5");
        return v;
      },
      [&](int64_t i, int64_t&& v) {
        ++finishes;
        if (i == 7 || i == 9) throw std::runtime_error("finish " + std::to_string(i));
        return std::to_string(v);
      },
      [&](int64_t i, std::future<std::string>&& done) {
        r.index.push_back(i);
        try {
          r.value.push_back(done.get());
        } catch (const std::runtime_error& e) {
          r.value.push_back(std::string("error: ") + e.what());
        }
      },
      [] { return false; });
  EXPECT_EQ(n, 10);
  EXPECT_EQ(runs.load(), 9);      // not the input whose load failed
  EXPECT_EQ(finishes.load(), 8);  // nor the one whose run failed
  const std::vector<std::string> want = {"0",
                                         "1",
                                         "error: load 2",
                                         "3",
                                         "4",
                                         "error: run 5",
                                         "6",
                                         "error: finish 7",
                                         "8",
                                         "error: finish 9"};
  EXPECT_EQ(r.value, want);
  EXPECT_EQ(r.index, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST_P(Pipeline, StopEndsAfterTheCurrentInputAndRecordsEveryInputRun) {
  std::atomic<int> runs{0}, finishes{0};
  Recorded r;
  // Asked before each run: the request comes while input 3 runs (a signal during its network).
  std::atomic<bool> requested{false};
  const int64_t n = run_pipeline(
      10, options(), [](int64_t i) { return i; },
      [&](int64_t i, int64_t&& v) {
        ++runs;
        if (i == 3) requested = true;
        return v;
      },
      [&](int64_t, int64_t&& v) {
        ++finishes;
        return std::to_string(v);
      },
      [&](int64_t i, std::future<std::string>&& done) {
        r.index.push_back(i);
        r.value.push_back(done.get());
      },
      [&] { return requested.load(); });
  // In lanes, up to lanes - 1 inputs after input 3 may have been handed out before it ran.
  EXPECT_GE(n, 4);
  EXPECT_LE(n, 3 + lanes());
  EXPECT_EQ(runs.load(), n);
  EXPECT_EQ(finishes.load(), n);  // input 3 is finished and recorded, not dropped
  std::vector<std::string> want;
  for (int64_t i = 0; i < n; ++i) want.push_back(std::to_string(i));
  EXPECT_EQ(r.value, want);
}

TEST_P(Pipeline, LoadsAtMostOneInputAheadOfEachLane) {
  std::atomic<int64_t> runs_done{0};
  std::atomic<bool> too_far{false};
  int64_t recorded = 0;
  run_pipeline(
      20, options(),
      [&](int64_t i) {
        // Input i is loaded while input i - 1 runs at the earliest: input i - 2 has run. In
        // lanes, input i starts once input i - lanes is recorded.
        if (runs_done.load() < i - (in_lanes() ? lanes() : 1)) too_far = true;
        return i;
      },
      [&](int64_t, int64_t&& v) {
        std::this_thread::sleep_for(1ms);
        ++runs_done;
        return v;
      },
      NoFinish{}, [&](int64_t, std::future<int64_t>&& done) { recorded += done.get() >= 0; },
      [] { return false; });
  EXPECT_FALSE(too_far.load());
  EXPECT_EQ(recorded, 20);
}

// tools/batch.h keeps each output in a slot per lane that finish(i + lanes) overwrites: that
// finish must start after record(i) has read it.
TEST_P(Pipeline, FinishesInputIPlusLanesOnlyAfterInputIIsRecorded) {
  std::atomic<int64_t> recorded{0};
  std::atomic<bool> too_early{false};
  const int64_t slots = lanes();
  run_pipeline(
      20, options(), [](int64_t i) { return i; }, [](int64_t, int64_t&& v) { return v; },
      [&](int64_t i, int64_t&& v) {
        if (recorded.load() < i - slots + 1) too_early = true;
        return v;
      },
      [&](int64_t, std::future<int64_t>&& done) {
        done.get();
        std::this_thread::sleep_for(1ms);  // a slow record: room for a finish to start too early
        ++recorded;
      },
      [] { return false; });
  EXPECT_FALSE(too_early.load());
  EXPECT_EQ(recorded.load(), 20);
}

TEST_P(Pipeline, WithoutAFinishStageRecordsWhatRunReturns) {
  std::vector<int64_t> got;
  run_pipeline(
      5, options(), [](int64_t i) { return i; }, [](int64_t, int64_t&& v) { return v * v; },
      NoFinish{}, [&](int64_t, std::future<int64_t>&& done) { got.push_back(done.get()); },
      [] { return false; });
  EXPECT_EQ(got, (std::vector<int64_t>{0, 1, 4, 9, 16}));
}

TEST_P(Pipeline, AnExceptionFromRecordEndsTheRunAfterTheThreadsAreJoined) {
  std::atomic<int> finishes{0};
  EXPECT_THROW(
      run_pipeline(
          10, options(), [](int64_t i) { return i; }, [](int64_t, int64_t&& v) { return v; },
          [&](int64_t, int64_t&& v) {
            ++finishes;
            return v;
          },
          [](int64_t i, std::future<int64_t>&& done) {
            done.get();
            if (i == 1) throw std::logic_error("record 1");
          },
          [] { return false; }),
      std::logic_error);
  // Input 1 is recorded after input 2 ran, before input 2's finish is handed over: no finish
  // after the throw. The load of input 3, under way, is joined, not abandoned. In lanes, input 1
  // is recorded before input 1 + lanes is handed out: inputs 0 .. lanes are finished.
  EXPECT_EQ(finishes.load(), in_lanes() ? lanes() + 1 : 2);
}

TEST_P(Pipeline, NoInputsNoCalls) {
  int calls = 0;
  EXPECT_EQ(run_pipeline(
                0, options(), [&](int64_t i) { return ++calls, i; },
                [&](int64_t, int64_t&& v) { return ++calls, v; }, NoFinish{},
                [&](int64_t, std::future<int64_t>&&) { ++calls; }, [] { return false; }),
            0);
  EXPECT_EQ(calls, 0);
}

INSTANTIATE_TEST_SUITE_P(InTurnOverlappedAndInLanes, Pipeline, testing::Values(0, 1, 2, 3),
                         [](const testing::TestParamInfo<int>& param) {
                           if (param.param == 0) return std::string("Sequential");
                           if (param.param == 1) return std::string("Overlap");
                           return std::to_string(param.param) + "Lanes";
                         });

// The overlap is real: the next input loads while the current one runs, and the previous one
// finishes while the current one runs.
TEST(PipelineOverlap, LoadAndFinishRunBesideRun) {
  std::atomic<bool> loading_1{false}, finishing_0{false};
  bool load_beside_run = false, finish_beside_run = false;
  PipelineOptions o;
  o.overlap = true;
  run_pipeline(
      2, o,
      [&](int64_t i) {
        if (i == 1) loading_1 = true;
        return i;
      },
      [&](int64_t i, int64_t&& v) {
        if (i == 0) load_beside_run = wait_for(loading_1);
        if (i == 1) finish_beside_run = wait_for(finishing_0);
        return v;
      },
      [&](int64_t i, int64_t&& v) {
        if (i == 0) finishing_0 = true;
        return v;
      },
      [](int64_t, std::future<int64_t>&& done) { done.get(); }, [] { return false; });
  EXPECT_TRUE(load_beside_run);
  EXPECT_TRUE(finish_beside_run);
}

// Lanes are real: two inputs run at once, each on its lane's thread, which ran lane_setup first.
TEST(PipelineLanes, TwoInputsRunAtOnceOnThreadsThatRanTheSetup) {
  std::atomic<bool> running_0{false}, running_1{false};
  std::atomic<int> setups{0};
  bool both_at_once = true;
  std::mutex mutex;
  std::set<std::thread::id> set_up, ran_on;
  PipelineOptions o;
  o.lanes = 2;
  o.lane_setup = [&] {
    ++setups;
    const std::lock_guard<std::mutex> lock(mutex);
    set_up.insert(std::this_thread::get_id());
  };
  run_pipeline(
      6, o, [](int64_t i) { return i; },
      [&](int64_t i, int64_t&& v) {
        {
          const std::lock_guard<std::mutex> lock(mutex);
          ran_on.insert(std::this_thread::get_id());
        }
        if (i == 0) running_0 = true, both_at_once = wait_for(running_1) && both_at_once;
        if (i == 1) running_1 = true, both_at_once = wait_for(running_0) && both_at_once;
        return v;
      },
      NoFinish{}, [](int64_t, std::future<int64_t>&& done) { done.get(); }, [] { return false; });
  EXPECT_TRUE(both_at_once);
  EXPECT_EQ(setups.load(), 4) << "a lane's two threads";
  EXPECT_EQ(ran_on.size(), 2u);
  EXPECT_TRUE(std::includes(set_up.begin(), set_up.end(), ran_on.begin(), ran_on.end()))
      << "every run on a lane thread that ran the setup";
  EXPECT_EQ(ran_on.count(std::this_thread::get_id()), 0u);
}

// A lane loads and finishes on one thread and runs on another (separate malloc arenas), and
// its three stages take turns: never two of one lane at once.
TEST(PipelineLanes, ALaneLoadsAndFinishesOnItsImageThreadAndRunsOnItsNetworkThreadInTurn) {
  constexpr int64_t kInputs = 12;
  constexpr int kLanes = 3;
  std::vector<std::thread::id> loaded_on(kInputs), ran_on(kInputs), finished_on(kInputs);
  std::atomic<int> busy[kLanes] = {};
  std::atomic<bool> overlapped{false};
  auto stage = [&](int64_t i, std::vector<std::thread::id>& on) {
    if (++busy[i % kLanes] != 1) overlapped = true;
    on[static_cast<size_t>(i)] = std::this_thread::get_id();
    std::this_thread::sleep_for(1ms);  // room for another stage of the lane to start, wrongly
    --busy[i % kLanes];
  };
  PipelineOptions o;
  o.lanes = kLanes;
  std::vector<int64_t> recorded;
  run_pipeline(
      kInputs, o,
      [&](int64_t i) {
        stage(i, loaded_on);
        return i;
      },
      [&](int64_t i, int64_t&& v) {
        stage(i, ran_on);
        return v;
      },
      [&](int64_t i, int64_t&& v) {
        stage(i, finished_on);
        return v;
      },
      [&](int64_t, std::future<int64_t>&& done) { recorded.push_back(done.get()); },
      [] { return false; });
  ASSERT_EQ(recorded.size(), static_cast<size_t>(kInputs));
  EXPECT_FALSE(overlapped.load()) << "two stages of one lane at once";
  std::set<std::thread::id> threads;
  for (int64_t i = 0; i < kInputs; ++i) {
    const auto n = static_cast<size_t>(i), first = static_cast<size_t>(i % kLanes);
    EXPECT_EQ(finished_on[n], loaded_on[n]) << "input " << i << ": load and finish, one thread";
    EXPECT_NE(ran_on[n], loaded_on[n]) << "input " << i << ": run on the other thread";
    EXPECT_EQ(loaded_on[n], loaded_on[first]) << "input " << i << ": its lane's image thread";
    EXPECT_EQ(ran_on[n], ran_on[first]) << "input " << i << ": its lane's network thread";
    threads.insert({loaded_on[n], ran_on[n]});
  }
  EXPECT_EQ(threads.size(), static_cast<size_t>(2 * kLanes));
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);
}

}  // namespace
}  // namespace gaze
