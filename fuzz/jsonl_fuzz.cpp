// The JSON Lines results of `gaze cam/classify --jsonl`: read by `gaze report`
// (report/results.h: read_results, parse_result_line, ResultSet) and by `--resume`
// (collection/jsonl.h: succeeded_inputs). The bytes are written to a file and read by both.
#include <cstddef>
#include <cstdint>
#include <string>

#include "collection/jsonl.h"
#include "fuzz/fuzz_support.h"
#include "report/results.h"
#include "tensor/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path =
      gaze::fuzz::scratch().write("results.jsonl", gaze::fuzz::as_text(data, size));
  gaze::ResultSet results;
  size_t problems = 0;
  (void)gaze::read_results({path, path}, results, [&](const gaze::ReadProblem& problem) {
    problems += problem.text().size();
  });
  try {
    (void)gaze::succeeded_inputs(path);
  } catch (const gaze::Error& e) {
    gaze::fuzz::expected(e);
  }
  return 0;
}
