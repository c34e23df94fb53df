// A batch of inputs as a three-stage pipeline, so that reading the next input and writing the
// previous one's results overlap the network's pass on the current one:
//
// clang-format off
//   load(i)          on a loader thread, one input ahead of run    (decode, preprocess)
//   run(i, loaded)   on the calling thread                        (the network, its OpenMP team)
//   finish(i, ran)   on a finisher thread, while run does i + 1    (render, encode, write a panel)
//   record(i, done)  on the calling thread, for i = 0, 1, ... in order  (print, --jsonl, counts)
// clang-format on
//
// Or in lanes (PipelineOptions::lanes > 1): that many inputs at once, each taken through load,
// run and finish by a lane of its own, input i by lane i % lanes, while the calling thread
// records them in order. On 2 cores two lanes whose networks run on one thread each do more
// images per second than one network on both cores beside a loader and a finisher: a network
// split over threads waits at each of its parallel loops for the slower thread, and the thread
// that shares its core with decoding or encoding is slower (docs/performance.md).
//
// A lane is two threads that take turns, never running at once: its network thread runs `run`,
// its image thread `load` and `finish`. The reason is memory. glibc's malloc gives each thread
// an arena (a heap) of its own. A network pass allocates the same blocks pass after pass; a
// photo's blocks change size with the photo. In one heap the holes a photo leaves are split for
// network blocks, the next photo's blocks no longer fit, and the heap crept up for thousands of
// inputs (MobileNetV2: RSS +0.8-2.5% from input 100 to 10,000). In two heaps, and with each
// lane freeing what it allocated at fixed points of its own work (tools/batch.h keeps each
// output in its lane until the lane's next finish), each heap settles within the first 25
// inputs. Taking turns keeps every allocation and free of a lane in one fixed order.
//
// Results, their order and each input's error are the same as running the stages one after the
// other (PipelineOptions::overlap = false does exactly that, on the calling thread). An exception
// from a stage of input i skips its later stages and reaches record(i) through done.get(). The
// stages share nothing but what they are handed. In the three stages load and finish run beside
// run, so they must not touch what run uses; in lanes, run runs on several threads at once (a
// Model may: Model::forward).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace gaze {

struct PipelineOptions {
  // false: load, run, finish and record each input on the calling thread, one after the other.
  bool overlap = true;
  // More than 1 (and overlap): that many inputs at once, one per lane thread.
  int lanes = 1;
  // Called first on each of a lane's two threads, e.g. to give its OpenMP loops their number
  // of threads. It must not throw.
  std::function<void()> lane_setup;
};

// One thread that runs the tasks handed to it, in order, and gives each result (or exception)
// back through a std::future. The destructor runs what is still queued, then joins.
class PipelineWorker {
 public:
  // `setup`, if any, runs first on the worker's thread; it must not throw.
  explicit PipelineWorker(const std::function<void()>& setup = {})
      : thread_([this, setup] {
          if (setup) setup();
          loop();
        }) {}
  ~PipelineWorker();
  PipelineWorker(const PipelineWorker&) = delete;
  PipelineWorker& operator=(const PipelineWorker&) = delete;

  template <class F>
  std::future<std::invoke_result_t<F&>> submit(F task) {
    using R = std::invoke_result_t<F&>;
    // std::function needs a copyable target; the packaged_task is shared, and run once.
    auto packaged = std::make_shared<std::packaged_task<R()>>(std::move(task));
    std::future<R> result = packaged->get_future();
    push([packaged] { (*packaged)(); });
    return result;
  }

 private:
  void push(std::function<void()> task);
  void loop();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::optional<std::function<void()>> queued_;  // the pipeline queues at most one at a time
  bool closing_ = false;
  std::thread thread_;  // last: starts after the members it uses exist
};

// A finish stage that does nothing: run's result is what record gets, at once.
struct NoFinish {};

namespace pipeline_detail {

template <class T>
std::future<T> failed(std::exception_ptr error) {
  std::promise<T> p;
  p.set_exception(std::move(error));
  return p.get_future();
}

template <class T, class F>
std::future<T> inline_result(F&& f) {
  std::promise<T> p;
  try {
    p.set_value(f());
  } catch (...) {
    p.set_exception(std::current_exception());
  }
  return p.get_future();
}

// A lane's two threads (see the top of this file).
struct PipelineLane {
  explicit PipelineLane(const std::function<void()>& setup) : images(setup), network(setup) {}
  PipelineWorker images;   // load and finish
  PipelineWorker network;  // run; destroyed first, as its task may be waiting on `images`
};

// Lanes (PipelineOptions::lanes): input i goes to lane i % lanes once input i - lanes is
// recorded, so at most `lanes` inputs are under way and each lane has one at a time. The lane's
// network thread hands load and finish to its image thread and waits for each.
template <class R, bool kFinishes, class Load, class Run, class Finished, class Record, class Stop>
int64_t run_in_lanes(int64_t count, const PipelineOptions& options, Load& load, Run& run,
                     Finished& finished, Record& record, Stop& stop) {
  const auto lanes = static_cast<size_t>(options.lanes);
  // Before the lanes, which finish what they hold when destroyed: the futures outlive them.
  std::vector<std::optional<std::future<R>>> under_way(lanes);  // input i at i % lanes
  std::vector<std::unique_ptr<PipelineLane>> lane;
  for (size_t k = 0; k < lanes; ++k)
    lane.push_back(std::make_unique<PipelineLane>(options.lane_setup));
  int64_t i = 0, recorded = 0;
  auto record_next = [&] {
    std::optional<std::future<R>>& slot = under_way[static_cast<size_t>(recorded) % lanes];
    std::future<R> done = std::move(*slot);
    slot.reset();
    record(recorded++, std::move(done));
  };
  for (; i < count; ++i) {
    if (i - recorded == static_cast<int64_t>(lanes)) record_next();  // frees input i's lane
    if (stop()) break;  // asked after recording, which may have asked to stop
    const size_t k = static_cast<size_t>(i) % lanes;
    PipelineWorker* images = &lane[k]->images;
    under_way[k] = lane[k]->network.submit([&load, &run, &finished, images, i]() -> R {
      auto ran = run(i, images->submit([&load, i] { return load(i); }).get());
      if constexpr (!kFinishes) {
        return finished(i, std::move(ran));  // a move: nothing for the image thread
      } else {
        return images->submit([&finished, &ran, i] { return finished(i, std::move(ran)); }).get();
      }
    });
  }
  while (recorded < i) record_next();
  return i;
}

}  // namespace pipeline_detail

// Runs inputs 0 .. count-1 through the stages above. `stop()` is asked on the calling thread
// before each input's run (in lanes: before an input is handed to its lane): once it says true,
// no further input is run, an input already loaded ahead is dropped, and the inputs already run
// (or handed to a lane) are finished and recorded. Returns how many inputs
// were recorded (each one exactly once). finish(i + lanes) (lanes: 1 unless in lanes) starts
// only after record(i) has returned, so record may read what finish(i) keeps until then.
//   load:   A(int64_t i)
//   run:    B(int64_t i, A&&)
//   finish: R(int64_t i, B&&), or NoFinish (then R = B)
//   record: void(int64_t i, std::future<R>&& done); done.get() gives R or rethrows the error.
// An exception thrown by record itself ends the run: it propagates after the threads are joined.
template <class Load, class Run, class Finish, class Record, class Stop>
int64_t run_pipeline(int64_t count, const PipelineOptions& options, Load&& load, Run&& run,
                     Finish&& finish, Record&& record, Stop&& stop) {
  using A = std::invoke_result_t<Load&, int64_t>;
  using B = std::invoke_result_t<Run&, int64_t, A&&>;
  constexpr bool kFinishes = !std::is_same_v<std::decay_t<Finish>, NoFinish>;
  using R = typename std::conditional_t<kFinishes, std::invoke_result<Finish&, int64_t, B&&>,
                                        std::type_identity<B>>::type;
  auto finished = [&](int64_t i, B&& b) -> R {
    if constexpr (kFinishes) {
      return finish(i, std::move(b));
    } else {
      return std::move(b);
    }
  };

  if (options.overlap && options.lanes > 1) {
    return pipeline_detail::run_in_lanes<R, kFinishes>(count, options, load, run, finished, record,
                                                       stop);
  }
  int64_t i = 0;
  if (!options.overlap) {
    for (; i < count && !stop(); ++i) {
      record(i, pipeline_detail::inline_result<R>([&] { return finished(i, run(i, load(i))); }));
    }
    return i;
  }

  // Declared before the workers: a worker's destructor drains its queue, and the tasks refer
  // to the stages, which outlive this function's locals.
  std::optional<std::future<R>> pending;  // input pending_index's finish, under way
  int64_t pending_index = 0;
  PipelineWorker loader;
  PipelineWorker finisher;
  auto load_at = [&loader, &load](int64_t j) {
    return loader.submit([&load, j] { return load(j); });
  };
  auto record_pending = [&] {
    if (!pending) return;
    std::future<R> done = std::move(*pending);
    pending.reset();
    record(pending_index, std::move(done));
  };

  std::future<A> next;
  if (count > 0) next = load_at(0);
  for (; i < count && !stop(); ++i) {
    std::future<A> current = std::move(next);
    if (i + 1 < count) next = load_at(i + 1);
    std::optional<B> ran;
    std::exception_ptr error;
    try {
      ran.emplace(run(i, current.get()));
    } catch (...) {
      error = std::current_exception();
    }
    record_pending();  // i - 1, whose finish overlapped this run
    if (error) {
      record(i, pipeline_detail::failed<R>(error));
      continue;
    }
    if constexpr (kFinishes) {
      pending = finisher.submit(
          [&finished, i, b = std::move(*ran)]() mutable -> R { return finished(i, std::move(b)); });
      pending_index = i;
    } else {
      record(i, pipeline_detail::inline_result<R>([&] { return std::move(*ran); }));
    }
  }
  record_pending();
  return i;
}

}  // namespace gaze
