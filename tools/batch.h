// The batch loop of the model-running commands (classify, cam): INPUTs expanded into a
// collection (collection/inputs.h), --shard, --jsonl, --resume, progress, the summary line, and
// Ctrl-C handled between inputs.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "collection/inputs.h"
#include "collection/pipeline.h"
#include "collection/stop_signal.h"
#include "tensor/error.h"
#include "tools/cli.h"

namespace gaze {

// How a command's inputs may go through run_batch below: one after the other only; also in
// lanes (--jobs, collection/pipeline.h), else in turn; or in lanes, else in the three overlapped
// stages (--no-overlap: in turn).
enum class BatchStages { kInTurn, kLanes, kLanesOrOverlapped };

// Declares --shard, --jsonl, --resume, --quiet and --verbose on the parser (and --jobs and
// --no-overlap as `stages` allows), and the INPUT forms and exit codes in an epilog paragraph
// (batch_help()).
void add_batch_options(cli::Parser& p, BatchStages stages = BatchStages::kInTurn);
std::string batch_help();

struct BatchPlan {
  std::vector<InputEntry> entries;  // what this run does, in order
  int64_t skipped = 0;              // already in the --jsonl file (--resume)
  bool collection = false;          // more than one file: progress and a summary line
};

// Expands the INPUTs, keeps the --shard part, drops what --resume finds done. Throws Error on
// bad options or when the INPUTs hold no file at all.
BatchPlan plan_batch(const cli::Parser& p);

// What an input leaves for the batch loop to write, on the calling thread and in input order:
// `text` for stdout, `object` (one line of JSON) for --jsonl.
struct BatchOutput {
  std::string text;
  std::string object;
};

// The batch loop's bookkeeping, on the calling thread: prints each input's output, appends its
// --jsonl line, counts, draws the progress and writes the summary line.
class BatchRecorder {
 public:
  BatchRecorder(const cli::Parser& p, const BatchPlan& plan);
  ~BatchRecorder();
  BatchRecorder(const BatchRecorder&) = delete;
  BatchRecorder& operator=(const BatchRecorder&) = delete;

  // Input `entry` ended; `output()` gives what it wrote, or throws gaze::Error when it failed.
  // A failure (also of printing it or appending its line) prints "gaze: error: ..." and gets an
  // error line in the JSONL. --verbose prints the time since the previous input ended.
  void record(const InputEntry& entry, const std::function<BatchOutput()>& output);
  // The summary line; returns the exit code (see run_batch).
  int finish(const StopSignal& stop);
  // The results file could not be written: no further input starts (see run_batch).
  bool stopping() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// How the plan's inputs go through the stages: in --jobs lanes (default: one per core, at most
// one per input), each lane's network on one thread; with one lane, overlapped as `stages`
// allows unless --no-overlap was given.
PipelineOptions pipeline_options(const cli::Parser& p, BatchStages stages, const BatchPlan& plan);

// Runs every entry of the plan in order through the stages of collection/pipeline.h, overlapped
// as `options` says:
//   load(entry) -> A            beside the network: decoding the next input
//   run(entry, A&&) -> B        on the calling thread: the network
//   finish(entry, B&&) -> BatchOutput, beside the next input's network (or NoFinish, B being
//                               BatchOutput): rendering and writing files
// then prints each input's text and appends its --jsonl line, in order. An input that fails (a
// stage throws gaze::Error, or its results cannot be written) prints "gaze: error: ..." and gets
// an error line in the JSONL, and the others still go through. When a line cannot be appended to
// the JSONL (a full disk), one error is printed and no further input starts. SIGINT or SIGTERM
// stops it after the input running then. Returns the exit code: 0 when every input succeeded, 1
// when any failed, 128 + the signal when a signal stopped the run.
template <class Load, class Run, class Finish>
int run_batch(const cli::Parser& p, const StopSignal& stop, const BatchPlan& plan,
              const PipelineOptions& options, Load&& load, Run&& run, Finish&& finish) {
  BatchRecorder recorder(p, plan);
  const std::vector<InputEntry>& entries = plan.entries;
  const auto at = [&](int64_t i) -> const InputEntry& { return entries[static_cast<size_t>(i)]; };
  // Each input's output stays in a slot of its lane and is freed there, when the lane's next
  // input is finished, not on this thread: blocks freed into a lane's heap at moments that vary
  // from run to run reshuffle it, and over thousands of inputs its RSS crept up
  // (collection/pipeline.h). Input i + lanes is finished only after input i was recorded.
  std::vector<BatchOutput> kept(static_cast<size_t>(std::max(1, options.lanes)));
  const auto keep = [&kept](int64_t i, BatchOutput&& out) {
    BatchOutput& slot = kept[static_cast<size_t>(i) % kept.size()];
    slot = std::move(out);  // frees the output of input i - lanes
    return &slot;
  };
  auto finish_at = [&] {
    if constexpr (std::is_same_v<std::decay_t<Finish>, NoFinish>) {
      return keep;
    } else {
      return [&finish, &at, &keep](int64_t i, auto&& ran) {
        return keep(i, finish(at(i), std::move(ran)));
      };
    }
  };
  run_pipeline(
      static_cast<int64_t>(entries.size()), options,
      [&load, &at](int64_t i) {
        const InputEntry& entry = at(i);
        if (!entry.error.empty()) throw Error(entry.path + ": " + entry.error);
        return load(entry);
      },
      [&run, &at](int64_t i, auto&& loaded) { return run(at(i), std::move(loaded)); }, finish_at(),
      [&recorder, &at](int64_t i, std::future<BatchOutput*>&& done) {
        recorder.record(at(i), [&done] { return *done.get(); });  // a copy, made here
      },
      [&stop, &recorder] { return stop.requested() || recorder.stopping(); });
  return recorder.finish(stop);
}

// The same, one stage: `run` prints the input's results and returns its JSON line.
int run_batch(const cli::Parser& p, const StopSignal& stop, const BatchPlan& plan,
              const std::function<std::string(const InputEntry&)>& run);

}  // namespace gaze
