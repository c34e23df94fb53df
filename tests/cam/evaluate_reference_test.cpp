// Deletion, insertion and average drop of the real nsfwjs InceptionV3 at mixed10 against an
// independent computation: tools/reference/torch_evaluate.py interprets the same .h5 in PyTorch,
// in float64, and implements the definitions of cam/evaluate.h from scratch (its own upsampling,
// ranking, 2-D blur, perturbation and trapezoid); it wrote tests/fixtures/torch/
// evaluate_reference.json. Both sides are given the same maps (the Grad-CAM and Grad-CAM++ .npy
// of tests/fixtures/torch/), so that only the metrics are compared. Two photos, two maps each.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "cam/evaluate.h"
#include "tensor/npy.h"
#include "tests/support/fixtures.h"
#include "weights/model_io.h"

namespace gaze {
namespace {

// issue 13's tolerance: the AUCs, every point of the curves and the probabilities behind the
// average drop agree to 1e-4 (absolute, on probabilities and areas in [0, 1]); the average drop,
// a percentage, to 1e-4 of 100.
constexpr double kTolerance = 1e-4;

double max_diff(const nlohmann::json& want, const std::vector<double>& got) {
  EXPECT_EQ(want.size(), got.size());
  double d = 0.0;
  for (size_t i = 0; i < std::min(want.size(), got.size()); ++i)
    d = std::max(d, std::abs(want[i].get<double>() - got[i]));
  return d;
}

TEST(EvaluateReference, DeletionInsertionAndAverageDropAgreeWithPyTorch) {
  GAZE_REQUIRE_MODEL("nsfwjs_inception_v3.h5");
  const LoadedModel m = load_keras_model(testing::model_path("nsfwjs_inception_v3.h5"));
  const nlohmann::json ref = testing::read_json_fixture("torch/evaluate_reference.json");
  ASSERT_EQ(ref["cases"].size(), 4u);
  PerturbationOptions options;
  options.steps = ref["steps"];
  ASSERT_EQ(options.steps, 50);
  const BatchScorer scorer = model_scorer(m.model);
  double worst_auc = 0.0, worst_point = 0.0, worst_drop = 0.0;
  for (const auto& c : ref["cases"]) {
    SCOPED_TRACE(c["image"].get<std::string>() + " " + c["method"].get<std::string>());
    const Tensor input = read_npy(testing::source_path(c["input"])).reshape({1, 299, 299, 3});
    const Tensor map = read_npy(testing::source_path(c["map"]));
    ASSERT_EQ(map.shape(), (Shape{8, 8}));
    const MapEvaluation e = evaluate_map(scorer, input, map, c["class_index"], options);
    for (const auto& [name, curve] :
         {std::pair{"deletion", &e.deletion}, std::pair{"insertion", &e.insertion}}) {
      SCOPED_TRACE(name);
      const nlohmann::json& want = c[name];
      // The fractions are exact counts over 299 * 299 on both sides.
      EXPECT_EQ(max_diff(want["fraction"], curve->fraction), 0.0);
      const double point = max_diff(want["score"], curve->score);
      const double auc = std::abs(want["auc"].get<double>() - curve->auc);
      EXPECT_LE(point, kTolerance);
      EXPECT_LE(auc, kTolerance);
      worst_point = std::max(worst_point, point);
      worst_auc = std::max(worst_auc, auc);
    }
    EXPECT_NEAR(e.confidence.original, c["prob"].get<double>(), kTolerance);
    EXPECT_NEAR(e.confidence.masked, c["masked_prob"].get<double>(), kTolerance);
    const double drop = std::abs(e.confidence.drop - c["average_drop"].get<double>());
    EXPECT_LE(drop, 100.0 * kTolerance);
    EXPECT_EQ(e.confidence.increase, c["increase"].get<bool>());
    worst_drop = std::max(worst_drop, drop);
  }
  std::printf(
      "[ measured ] vs PyTorch float64: AUC max abs. error %.3g, curve points %.3g, average drop "
      "%.3g (percentage points)\n",
      worst_auc, worst_point, worst_drop);
}

}  // namespace
}  // namespace gaze
