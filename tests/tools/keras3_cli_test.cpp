// The gaze binary on Keras 3 files (.keras; .weights.h5 with --config) and Keras 2 weights-only
// files with --config: the small models of tests/fixtures/keras3/, whose outputs were computed
// with numpy by tools/reference/keras3_unit_fixtures.py.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tensor/npy.h"
#include "tests/support/fixtures.h"
#include "tests/tools/run_gaze.h"

namespace gaze {
namespace {

using nlohmann::json;
using testing::RunResult;
using testing::TempDir;

std::string k3(const std::string& name) {
  return testing::fixture_path("keras3/" + name);
}

RunResult run(const std::vector<std::string>& args) {
  return testing::run_gaze(args);
}

// Exit code 1 and exactly one stderr line, "gaze: error: <file>: ...", containing `text`.
void expect_one_error_line(const RunResult& r, const std::string& file, const std::string& text) {
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const std::vector<std::string> lines = r.err_lines();
  ASSERT_EQ(lines.size(), 1u) << r.err;
  EXPECT_EQ(lines[0].rfind("gaze: error: " + file + ": ", 0), 0u) << lines[0];
  EXPECT_NE(lines[0].find(text), std::string::npos) << lines[0];
}

// The probabilities of `gaze classify --json` for the flat model's input, by class index.
std::vector<double> classify(const std::vector<std::string>& model_options) {
  std::vector<std::string> args = {"classify", "--json", "--top", "0", "--preprocessing", "none"};
  args.insert(args.end(), model_options.begin(), model_options.end());
  args.push_back(k3("flat_input.npy"));
  const RunResult r = run(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  std::vector<double> probs(5, -1.0);
  if (r.exit_code != 0) return probs;
  const json out = json::parse(r.out);
  EXPECT_EQ(out.at("model"), model_options.at(1));
  for (const json& p : out.at("predictions")) probs.at(p.at("index").get<size_t>()) = p.at("prob");
  return probs;
}

TEST(CliKeras3, ClassifyTakesEveryForm) {
  const Tensor expected = read_npy(k3("flat_expected.npy"));
  const std::vector<double> keras = classify({"--model", k3("flat.keras")});
  for (int64_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(keras[i], expected.data()[i], 1e-5);
  const std::vector<std::vector<std::string>> others = {
      {"--model", k3("flat_deflated.keras")},
      {"--model", k3("flat.weights.h5"), "--config", k3("flat_config.json")},
      {"--model", k3("flat_keras2_weights.h5"), "--config", k3("flat_keras2.json")},
      {"--model", k3("flat_keras2.h5")},
  };
  for (const auto& options : others) {
    SCOPED_TRACE(options.at(1));
    EXPECT_EQ(classify(options), keras);
  }
}

TEST(CliKeras3, LayersInspectAndCamTakeThem) {
  const RunResult layers =
      run({"layers", "--all", "--config", k3("seq_config.json"), k3("seq.weights.h5")});
  EXPECT_EQ(layers.exit_code, 0) << layers.err;
  EXPECT_NE(layers.out.find("conv_b"), std::string::npos) << layers.out;
  const RunResult inspect = run({"inspect", "--json", k3("flat.keras")});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  const json summary = json::parse(inspect.out);
  EXPECT_EQ(summary.at("output"), "logits");
  EXPECT_EQ(summary.at("layers").size(), 14u);
  TempDir dir;
  const RunResult cam = run({"cam", "--model", k3("flat.weights.h5"), "--config",
                             k3("flat_config.json"), "--preprocessing", "none", "--layer",
                             "expand_bn", "--out", dir / "panel.png", k3("flat_input.npy")});
  EXPECT_EQ(cam.exit_code, 0) << cam.err;
  EXPECT_TRUE(std::filesystem::exists(dir / "panel.png"));
}

TEST(CliKeras3, BadFilesAreOneErrorLine) {
  TempDir dir;
  const std::string truncated = dir / "truncated.keras";
  {
    const std::string whole = testing::read_whole_file(k3("flat.keras"));
    std::ofstream(truncated, std::ios::binary) << whole.substr(0, whole.size() / 2);
  }
  const std::string input = k3("flat_input.npy");
  expect_one_error_line(run({"classify", "--model", truncated, input}), truncated,
                        "not a complete zip file");
  const std::string text = dir / "notes.txt";
  std::ofstream(text) << "not a model";
  expect_one_error_line(run({"classify", "--model", text, input}), text,
                        "not a Keras model: neither HDF5 nor a .keras zip");
  expect_one_error_line(run({"cam", "--model", k3("flat.weights.h5"), input}),
                        k3("flat.weights.h5"), "--config");
  expect_one_error_line(run({"inspect", k3("flat_keras2_weights.h5")}),
                        k3("flat_keras2_weights.h5"), "--config");
  expect_one_error_line(run({"layers", "--config", k3("flat_config.json"), k3("flat.keras")}),
                        k3("flat.keras"), "holds its own config.json");
  expect_one_error_line(
      run({"classify", "--model", k3("flat.weights.h5"), "--config", k3("seq_config.json"), input}),
      k3("flat.weights.h5"), "layer 'conv_a' (Conv2D)");
}

// bench hands --config (and --preprocessing) on to the 'gaze cam' it measures memory with.
TEST(CliKeras3, BenchTakesConfig) {
  if (!std::filesystem::exists("/usr/bin/time")) GTEST_SKIP() << "no /usr/bin/time";
  const RunResult r = run({"bench", "--model", k3("flat.weights.h5"), "--config",
                           k3("flat_config.json"), "--preprocessing", "none", "--input",
                           k3("flat_input.npy"), "--runs", "1", "--warmup", "0", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json out = json::parse(r.out);
  EXPECT_TRUE(out.contains("peak_rss_mb")) << r.out;
}

}  // namespace
}  // namespace gaze
