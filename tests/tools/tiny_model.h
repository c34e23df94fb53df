// The tiny model the command-line tests run when they need a model but not a real one (bad inputs,
// failed writes, option errors): tests/fixtures/tfjs_tiny/tiny.json, made by TensorFlow.js
// (tools/reference/tiny_model.js), converted here with `gaze convert` once per test process. Its
// input is 224x224x3 (the *_mobilenet_v2.npy fixtures fit), its preprocessing nsfwjs, its output
// 5 classes; a map is 26x26 at its default layer, top_conv. It is committed, so these tests never
// skip; a broken converter fails them instead.
#pragma once

#include <string>
#include <vector>

#include "tests/support/fixtures.h"
#include "tests/tools/run_gaze.h"

namespace gaze::testing {

inline const std::vector<std::string>& tiny_classes() {
  static const std::vector<std::string> classes = {"cat", "dog", "fish", "bird", "frog"};
  return classes;
}

inline std::string tiny_fixture(const std::string& name) {
  return fixture_path("tfjs_tiny/" + name);
}

// `gaze convert` of tests/fixtures/tfjs_tiny/<stem>.json into a folder that lives as long as the
// process; "" (with a test failure) when the conversion fails.
inline std::string convert_tiny(const std::string& stem, const TempDir& into) {
  std::string classes;
  for (const std::string& c : tiny_classes()) classes += (classes.empty() ? "" : ",") + c;
  const std::string out = into / (stem + ".h5");
  const RunResult r = run_gaze({"convert", "--classes", classes, "--preprocessing", "nsfwjs",
                                tiny_fixture(stem + ".json"), out});
  if (r.exit_code != 0) {
    ADD_FAILURE() << "gaze convert " << stem << ".json failed (exit " << r.exit_code << "):\n"
                  << r.err;
    return "";
  }
  return out;
}

// The converted tiny model (float32 weights).
inline const std::string& tiny_model() {
  static const TempDir dir;
  static const std::string path = convert_tiny("tiny", dir);
  return path;
}

}  // namespace gaze::testing
