// The batch loop (tools/batch.h).
#include "tools/batch.h"

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <new>
#include <optional>
#include <set>
#include <thread>

#include "collection/jsonl.h"
#include "collection/progress.h"
#include "collection/shard.h"
#include "tensor/error.h"
#include "tools/run_common.h"

namespace gaze {

namespace {

// OpenBLAS keeps a fixed pool of GEMM buffers (twice its build's thread limit); each lane takes
// one.
constexpr long kMaxJobs = 64;

}  // namespace

void add_batch_options(cli::Parser& p, BatchStages stages) {
  p.option("shard", "I/N",
           "run part I of N (0-based) of the inputs: parts are disjoint, together hold\n"
           "every input, and an input's part depends only on its path below its INPUT\n"
           "(run N processes with I = 0..N-1, e.g. a Slurm array or a Kubernetes Indexed Job)")
      .option("jsonl", "FILE",
              "append one JSON line per input to FILE, flushed each line: the --json object,\n"
              "or {\"input\", \"error\"} for an input that failed")
      .flag("resume", "skip the inputs that already have a successful line in the --jsonl FILE")
      .flag("quiet", "no progress and no summary line on stderr")
      .flag("verbose",
            "after each input, print its time (since the previous input ended) and the\n"
            "process's resident memory to stderr");
  if (stages != BatchStages::kInTurn) {
    p.option("jobs", "N",
             "inputs under way at once, each in a lane of two threads that take turns, its\n"
             "network on one core, its decoding and drawing on the other thread (default: one\n"
             "per core, at most one per input; each holds one input's activations in memory);\n"
             "1: one input at a time, its network on every core");
  }
  if (stages == BatchStages::kLanesOrOverlapped) {
    p.flag("no-overlap",
           "one input at a time, its stages one after the other: with --jobs 1 the next\n"
           "input is otherwise decoded, and the previous one's results written, while the\n"
           "network runs (the results are the same; for measuring)");
  }
}

std::string batch_help() {
  return "INPUT: a file; a folder, walked recursively in sorted order for image and .npy\n"
         "files (hidden ones skipped); or @LIST, a file of one INPUT per line (@- reads stdin).\n"
         "With several inputs a progress bar (a line every 5 s when stderr is not a terminal)\n"
         "and a summary line go to stderr. Exit status: 0 when every input succeeded, 1 when\n"
         "any failed (each failure is one 'gaze: error:' line; the others still run) or when\n"
         "the --jsonl FILE could not be written (one error line; the run stops there, and\n"
         "--resume later continues), 130 or 143 when Ctrl-C or SIGTERM stopped the run after\n"
         "its current input.\n";
}

BatchPlan plan_batch(const cli::Parser& p) {
  if (p.positional().empty()) throw Error("no INPUT given (see --help)");
  if (p.has("resume") && !p.has("jsonl")) throw Error("--resume needs --jsonl FILE");
  const std::optional<Shard> shard =
      p.has("shard") ? std::optional<Shard>(parse_shard(p.get("shard"))) : std::nullopt;
  const std::set<std::string> done =
      p.has("resume") ? succeeded_inputs(p.get("jsonl")) : std::set<std::string>{};
  const std::vector<InputEntry> all = expand_inputs(p.positional(), std::cin);
  if (all.empty()) throw Error("the INPUTs hold no image or .npy file");
  BatchPlan plan;
  plan.collection = names_a_collection(p.positional()) || all.size() > 1 || p.has("jsonl");
  for (const InputEntry& e : all) {
    if (shard && !in_shard(e.relative, *shard)) continue;
    if (done.count(e.path)) {
      ++plan.skipped;
      continue;
    }
    plan.entries.push_back(e);
  }
  return plan;
}

namespace {

// Prints to stderr around a progress bar: the bar is erased first and drawn again after.
class Console {
 public:
  Console(bool show_progress, int64_t total)
      : progress_(show_progress ? std::make_unique<Progress>(total, ::isatty(STDERR_FILENO) == 1)
                                : nullptr) {}

  void line(const std::string& text) {
    std::fflush(stdout);
    if (progress_) std::fputs(progress_->clear_line().c_str(), stderr);
    std::fputs(text.c_str(), stderr);
  }
  void advance() {
    if (!progress_) return;
    progress_->advance();
    std::fputs(progress_->update().c_str(), stderr);
  }
  void finish() {
    if (progress_) std::fputs(progress_->clear_line().c_str(), stderr);
  }

 private:
  std::unique_ptr<Progress> progress_;
};

std::string summary(int64_t done, int64_t failed, int64_t skipped, int64_t left, double seconds,
                    int signal) {
  char text[256];
  std::snprintf(
      text, sizeof text, "gaze: %lld done, %lld failed, %lld skipped in %.1f s (%.1f images/s)",
      static_cast<long long>(done), static_cast<long long>(failed), static_cast<long long>(skipped),
      seconds, seconds > 0 ? static_cast<double>(done + failed) / seconds : 0.0);
  std::string s = text;
  if (signal != 0) {
    s += "; stopped by " + std::string(signal == SIGINT ? "SIGINT" : "SIGTERM") + ", " +
         std::to_string(left) + " not started";
  }
  return s + "\n";
}

}  // namespace

struct BatchRecorder::State {
  State(const cli::Parser& p, const BatchPlan& plan)
      : jsonl(p.has("jsonl") ? std::make_unique<JsonlWriter>(p.get("jsonl")) : nullptr),
        quiet(p.has("quiet")),
        verbose(p.has("verbose")),
        collection(plan.collection),
        skipped(plan.skipped),
        total(static_cast<int64_t>(plan.entries.size())),
        console(plan.collection && !quiet, total) {}

  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last = started;  // when the previous input ended
  std::unique_ptr<JsonlWriter> jsonl;
  bool quiet, verbose, collection;
  int64_t skipped, total;
  Console console;
  int64_t done = 0, failed = 0;
  bool results_lost = false;  // the results file could not be written: the run stops
};

BatchRecorder::BatchRecorder(const cli::Parser& p, const BatchPlan& plan)
    : state_(std::make_unique<State>(p, plan)) {}

BatchRecorder::~BatchRecorder() = default;

void BatchRecorder::record(const InputEntry& entry, const std::function<BatchOutput()>& output) {
  State& s = *state_;
  if (s.results_lost) return;  // an input already under way when the run began to stop
  std::string line;            // the input's line in the results file
  try {
    const BatchOutput out = output();
    print_stdout(out.text);
    check_stdout();
    line = out.object;
    ++s.done;
  } catch (const Error& e) {
    ++s.failed;
    s.console.line(std::string("gaze: error: ") + e.what() + "\n");
    line = error_line(entry.path, e.what());
  } catch (const std::exception& e) {
    // Not gaze's own error (out of memory, a library's exception): still this input's failure,
    // and the batch goes on.
    const std::string what =
        entry.path + ": " + (dynamic_cast<const std::bad_alloc*>(&e) ? "out of memory" : e.what());
    ++s.failed;
    s.console.line("gaze: error: " + what + "\n");
    line = error_line(entry.path, what);
  }
  if (s.jsonl) {
    try {
      s.jsonl->append(line);
    } catch (const Error& e) {
      // Every later result would be lost too (a full disk): one error, and the run stops.
      // The file still ends with a whole line, so --resume redoes this input and the rest.
      s.console.line(std::string("gaze: error: ") + e.what() + "\n");
      s.results_lost = true;
    }
  }
  const auto now = std::chrono::steady_clock::now();
  if (s.verbose) {
    s.console.line(
        progress_line(entry.path, std::chrono::duration<double, std::milli>(now - s.last).count()));
  }
  s.last = now;
  s.console.advance();
}

int BatchRecorder::finish(const StopSignal& stop) {
  State& s = *state_;
  s.console.finish();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - s.started).count();
  if (s.collection && !s.quiet) {
    std::fflush(stdout);
    const int64_t left = s.total - s.done - s.failed;
    std::fputs(summary(s.done, s.failed, s.skipped, left, seconds, stop.signal()).c_str(), stderr);
  }
  if (stop.requested()) return 128 + stop.signal();
  return s.failed > 0 || s.results_lost ? 1 : 0;
}

bool BatchRecorder::stopping() const {
  return state_->results_lost;
}

PipelineOptions pipeline_options(const cli::Parser& p, BatchStages stages, const BatchPlan& plan) {
  PipelineOptions o;
  if (stages == BatchStages::kInTurn || p.has("no-overlap")) {
    o.overlap = false;
    return o;
  }
  const auto inputs = static_cast<long>(plan.entries.size());
  const long cores = std::max(1u, std::thread::hardware_concurrency());
  const long jobs = p.get_int("jobs", std::max(1L, std::min(cores, inputs)));
  if (jobs < 1 || jobs > kMaxJobs)
    throw Error("--jobs must be between 1 and " + std::to_string(kMaxJobs));
  o.lanes = static_cast<int>(std::min(jobs, std::max(1L, inputs)));  // no idle lanes
  // One OpenMP thread per lane: OpenBLAS's OpenMP build then runs each lane's GEMMs on its
  // calling thread, as it does inside an OpenMP region, and the lanes share no thread pool.
  o.lane_setup = [] { omp_set_num_threads(1); };
  // One lane: overlapped where the command gains from it (cam), else in turn (classify: beside
  // its network the loader slowed the batch down, docs/performance.md#end-to-end).
  o.overlap = o.lanes > 1 || stages == BatchStages::kLanesOrOverlapped;
  return o;
}

int run_batch(const cli::Parser& p, const StopSignal& stop, const BatchPlan& plan,
              const std::function<std::string(const InputEntry&)>& run) {
  BatchRecorder recorder(p, plan);
  PipelineOptions sequential;
  sequential.overlap = false;
  run_pipeline(
      static_cast<int64_t>(plan.entries.size()), sequential,
      [&plan](int64_t i) {
        const InputEntry& entry = plan.entries[static_cast<size_t>(i)];
        if (!entry.error.empty()) throw Error(entry.path + ": " + entry.error);
        return &entry;
      },
      [&run](int64_t, const InputEntry* entry) {
        return BatchOutput{"", run(*entry)};
      },
      NoFinish{},
      [&](int64_t i, std::future<BatchOutput>&& done) {
        recorder.record(plan.entries[static_cast<size_t>(i)], [&done] { return done.get(); });
      },
      [&stop, &recorder] { return stop.requested() || recorder.stopping(); });
  return recorder.finish(stop);
}

}  // namespace gaze
