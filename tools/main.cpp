// gaze: one binary, one subcommand per job.
#include <malloc.h>

#include <cstdio>
#include <exception>
#include <string>

#include "tensor/error.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/run_common.h"

namespace {

struct Command {
  const char* name;
  int (*run)(const gaze::Args&);
  const char* summary;
};

const Command kCommands[] = {
    {"classify", gaze::cmd_classify,
     "classify images: the most probable classes and their probabilities"},
    {"cam", gaze::cmd_cam, "draw where the network looks: class activation maps over the photo"},
    {"evaluate", gaze::cmd_evaluate,
     "measure how faithful the maps are: deletion, insertion, confidence drop"},
    {"inspect", gaze::cmd_inspect, "show a model's layers, shapes and parameter counts"},
    {"layers", gaze::cmd_layers, "list the layers a map can be taken at (spatial outputs)"},
    {"bench", gaze::cmd_bench, "measure speed and memory (tools/bench.sh compares with PyTorch)"},
    {"report", gaze::cmd_report, "write an HTML page of many results: cards, filters, summary"},
    {"convert", gaze::cmd_convert, "convert a TensorFlow.js layers model to a Keras .h5 file"},
};

void print_usage() {
  std::printf(
      "usage: gaze COMMAND [OPTIONS] ...\n\n"
      "gaze shows where a convolutional network looks: class activation maps from the\n"
      "gradients at any layer of a Keras model.\n\ncommands:\n");
  for (const Command& c : kCommands) std::printf("  %-10s %s\n", c.name, c.summary);
  std::printf("\n'gaze COMMAND --help' describes a command's options.\n");
}

// Keep freed memory in the process. A forward pass allocates and frees hundreds of MiB of
// activations; with glibc's defaults each large block is a fresh mmap, returned to the system on
// free and page-faulted in again on the next pass (measured: forward passes of 65 ms turning into
// 300-1300 ms on a VM that reclaims freed pages). Blocks up to 32 MiB (all of Inception-v3's)
// now come from the heap, which is never trimmed, so steady-state passes reuse the same pages.
void keep_freed_memory() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, -1);
}

}  // namespace

int main(int argc, char** argv) {
  keep_freed_memory();
  if (argc < 2) {
    print_usage();
    return 1;
  }
  const std::string name = argv[1];
  for (const Command& c : kCommands) {
    if (name != c.name) continue;
    try {
      const int status = c.run(gaze::Args(argv + 2, argv + argc));
      gaze::check_stdout();  // what the command printed must have reached its destination
      return status;
    } catch (const gaze::Error& e) {
      return gaze::cli::report_error(e.what());
    } catch (const std::bad_alloc&) {
      return gaze::cli::report_error("out of memory");
    } catch (const std::exception& e) {
      return gaze::cli::report_error(std::string("internal error: ") + e.what());
    }
  }
  if (name != "-h" && name != "--help" && name != "help")
    return gaze::cli::report_error("unknown command '" + name + "' (see 'gaze --help')");
  print_usage();
  try {
    gaze::check_stdout();
  } catch (const gaze::Error& e) {
    return gaze::cli::report_error(e.what());
  }
  return 0;
}
