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
// Results, their order and each input's error are the same as running the stages one after the
// other (PipelineOptions::overlap = false does exactly that, on the calling thread). An exception
// from a stage of input i skips its later stages and reaches record(i) through done.get(). The
// stages share nothing but what they are handed: load and finish run beside run, so they must
// not touch what run uses (a Model is not safe to run from two threads: its plans and workspace
// are cached inside it).
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

namespace gaze {

struct PipelineOptions {
  // false: load, run, finish and record each input on the calling thread, one after the other.
  bool overlap = true;
};

// One thread that runs the tasks handed to it, in order, and gives each result (or exception)
// back through a std::future. The destructor runs what is still queued, then joins.
class PipelineWorker {
 public:
  PipelineWorker() : thread_([this] { loop(); }) {}
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

}  // namespace pipeline_detail

// Runs inputs 0 .. count-1 through the stages above. `stop()` is asked on the calling thread
// before each input's run: once it says true, no further input is run, an input already loaded
// ahead is dropped, and the inputs already run are finished and recorded. Returns how many inputs
// were recorded (each one exactly once).
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
