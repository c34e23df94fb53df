// The batch loop of the model-running commands (classify, cam): INPUTs expanded into a
// collection (collection/inputs.h), --shard, --jsonl, --resume, progress, the summary line, and
// Ctrl-C handled between inputs.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "collection/inputs.h"
#include "collection/stop_signal.h"
#include "tools/cli.h"

namespace gaze {

// Declares --shard, --jsonl, --resume, --quiet and --verbose on the parser, and the INPUT forms
// and exit codes in an epilog paragraph (batch_help()).
void add_batch_options(cli::Parser& p);
std::string batch_help();

struct BatchPlan {
  std::vector<InputEntry> entries;  // what this run does, in order
  int64_t skipped = 0;              // already in the --jsonl file (--resume)
  bool collection = false;          // more than one file: progress and a summary line
};

// Expands the INPUTs, keeps the --shard part, drops what --resume finds done. Throws Error on
// bad options or when the INPUTs hold no file at all.
BatchPlan plan_batch(const cli::Parser& p);

// Runs `run` on every entry in order; it prints the input's results and returns its JSON object
// (one line), which --jsonl appends. An input that fails (its run throws gaze::Error, or its
// results cannot be written) prints "gaze: error: ..." and gets an error line in the JSONL, and
// the others still go through. Returns the exit code: 0 when every input succeeded, 1 when any
// failed, 128 + the signal when SIGINT or SIGTERM stopped the run after an input.
int run_batch(const cli::Parser& p, const StopSignal& stop, const BatchPlan& plan,
              const std::function<std::string(const InputEntry&)>& run);

}  // namespace gaze
