// The batch loop (tools/batch.h).
#include "tools/batch.h"

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <set>

#include "collection/jsonl.h"
#include "collection/progress.h"
#include "collection/shard.h"
#include "tensor/error.h"
#include "tools/run_common.h"

namespace gaze {

void add_batch_options(cli::Parser& p) {
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
            "after each input, print its time and the process's resident memory to stderr");
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

int run_batch(const cli::Parser& p, const StopSignal& stop, const BatchPlan& plan,
              const std::function<std::string(const InputEntry&)>& run) {
  const auto started = std::chrono::steady_clock::now();
  std::unique_ptr<JsonlWriter> jsonl =
      p.has("jsonl") ? std::make_unique<JsonlWriter>(p.get("jsonl")) : nullptr;
  const bool quiet = p.has("quiet");
  Console console(plan.collection && !quiet, static_cast<int64_t>(plan.entries.size()));
  int64_t done = 0, failed = 0, left = static_cast<int64_t>(plan.entries.size());
  bool results_lost = false;
  for (const InputEntry& entry : plan.entries) {
    if (stop.requested()) break;
    const auto input_started = std::chrono::steady_clock::now();
    --left;
    std::string record;  // the input's line in the results file
    try {
      if (!entry.error.empty()) throw Error(entry.path + ": " + entry.error);
      record = run(entry);
      check_stdout();
      ++done;
    } catch (const Error& e) {
      ++failed;
      console.line(std::string("gaze: error: ") + e.what() + "\n");
      record = error_line(entry.path, e.what());
    }
    if (jsonl) {
      try {
        jsonl->append(record);
      } catch (const Error& e) {
        // Every later result would be lost too (a full disk): one error, and the run stops.
        // The file still ends with a whole line, so --resume redoes this input and the rest.
        console.line(std::string("gaze: error: ") + e.what() + "\n");
        results_lost = true;
        break;
      }
    }
    if (p.has("verbose")) {
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                                  input_started)
                            .count();
      console.line(progress_line(entry.path, ms));
    }
    console.advance();
  }
  console.finish();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (plan.collection && !quiet) {
    std::fflush(stdout);
    std::fputs(summary(done, failed, plan.skipped, left, seconds, stop.signal()).c_str(), stderr);
  }
  if (stop.requested()) return 128 + stop.signal();
  return failed > 0 || results_lost ? 1 : 0;
}

}  // namespace gaze
