// `gaze convert` succeeds: a Keras model made by TensorFlow.js (tests/fixtures/tfjs_tiny, written
// by tools/reference/tiny_model.js), converted by the gaze binary, predicts what TF.js predicted on
// the same inputs. The inputs are .npy arrays, so both sides see the same float32 tensor and the
// only differences are float32 summation orders. Both the float32 model and its uint8/uint16
// quantized form are checked (TF.js's own decode made the quantized model's reference).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/fixtures.h"
#include "tests/tools/run_gaze.h"
#include "tests/tools/tiny_model.h"
#include "weights/keras_h5.h"

namespace gaze {
namespace {

using nlohmann::json;
using testing::RunResult;
using testing::TempDir;

// TF.js's probabilities are float32 values; gaze's are float32 printed with %.9g, so both parse
// back exactly. What is left is float32 rounding in different summation orders (im2col + GEMM,
// Winograd, BatchNorm folding), far below this.
constexpr double kTolerance = 1e-6;

json reference() {
  return testing::read_json_fixture("tfjs_tiny/reference.json");
}

// gaze classify --json --top 0 on every reference input: the probabilities in class-index order.
std::vector<std::vector<double>> gaze_probabilities(const std::string& model, const json& ref) {
  std::vector<std::string> args = {"classify", "--model", model, "--json", "--quiet", "--top", "0"};
  for (const json& input : ref.at("inputs")) args.push_back(testing::fixture_path(input));
  const RunResult r = testing::run_gaze(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  std::vector<std::vector<double>> probs;
  for (const std::string& line : r.out_lines()) {
    const json o = json::parse(line);
    std::vector<double> p(testing::tiny_classes().size(), -1.0);
    for (const json& pr : o.at("predictions")) {
      const size_t index = pr.at("index").get<size_t>();
      EXPECT_EQ(pr.at("class"), testing::tiny_classes().at(index));
      p.at(index) = pr.at("prob").get<double>();
    }
    probs.push_back(p);
  }
  EXPECT_EQ(probs.size(), ref.at("inputs").size()) << r.out;
  return probs;
}

// The largest |gaze - TF.js| over all inputs and classes.
double max_difference(const std::vector<std::vector<double>>& gaze, const json& tfjs) {
  double worst = 0.0;
  for (size_t i = 0; i < gaze.size() && i < tfjs.size(); ++i) {
    EXPECT_EQ(gaze[i].size(), tfjs[i].size());
    for (size_t k = 0; k < gaze[i].size() && k < tfjs[i].size(); ++k)
      worst = std::max(worst, std::abs(gaze[i][k] - tfjs[i][k].get<double>()));
  }
  return worst;
}

void expect_tfjs_probabilities(const std::string& stem, const char* key) {
  TempDir dir;
  const std::string model = testing::convert_tiny(stem, dir);
  ASSERT_FALSE(model.empty());
  const json ref = reference();
  const double worst = max_difference(gaze_probabilities(model, ref), ref.at(key));
  std::printf("[ measured ] %s.json: max |gaze - TF.js| = %.2g over %zu inputs x %zu classes\n",
              stem.c_str(), worst, ref.at("inputs").size(), testing::tiny_classes().size());
  EXPECT_LE(worst, kTolerance);
}

TEST(ConvertTfjs, Float32ModelPredictsWhatTfjsPredicts) {
  expect_tfjs_probabilities("tiny", "probs");
}

TEST(ConvertTfjs, QuantizedModelPredictsWhatTfjsPredicts) {
  expect_tfjs_probabilities("quantized", "probs_quantized");
}

// The fixture itself: quantization moves the probabilities far more than the tolerance, so the
// quantized comparison cannot pass on the float weights; and the inputs give different outputs.
TEST(ConvertTfjs, ReferenceDistinguishesQuantizedWeightsAndInputs) {
  const json ref = reference();
  double quantized = 0.0, inputs = 0.0;
  for (size_t i = 0; i < ref.at("probs").size(); ++i) {
    for (size_t k = 0; k < testing::tiny_classes().size(); ++k) {
      const double p = ref.at("probs")[i][k].get<double>();
      quantized = std::max(quantized, std::abs(p - ref.at("probs_quantized")[i][k].get<double>()));
      inputs = std::max(inputs, std::abs(p - ref.at("probs")[0][k].get<double>()));
    }
  }
  EXPECT_GT(quantized, 1000 * kTolerance);
  EXPECT_GT(inputs, 1000 * kTolerance);
}

// What the converted file says about itself: the class names and preprocessing it was given, and
// the converter's version, which tools/fetch_models.sh keys the real models by.
TEST(ConvertTfjs, StoresClassesPreprocessingAndConverterVersion) {
  TempDir dir;
  const std::string model = testing::convert_tiny("tiny", dir);
  ASSERT_FALSE(model.empty());
  const RunResult version = testing::run_gaze({"convert", "--version"});
  EXPECT_EQ(version.exit_code, 0) << version.err;
  unsigned number = 0;
  char end = 0;
  ASSERT_EQ(std::sscanf(version.out.c_str(), "gaze convert %u%c", &number, &end), 2) << version.out;
  EXPECT_EQ(end, '\n');
  const KerasFile file = read_keras_h5(model);
  EXPECT_EQ(file.attributes.at("gaze_converter_version"), std::to_string(number));
  EXPECT_EQ(file.attributes.at("gaze_preprocessing"), "nsfwjs");
  EXPECT_EQ(json::parse(file.attributes.at("gaze_class_names")), json(testing::tiny_classes()));
}

}  // namespace
}  // namespace gaze
