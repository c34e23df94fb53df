// `gaze cam --eigen-smooth / --aug-smooth` and `gaze evaluate --method NAME:eigen:aug` from the
// command line, on the committed tiny model (tiny_model.h). The smoothings themselves are checked
// against numpy and against 6 maps computed apart in tests/cam/smooth_test.cpp; here: the CLI's
// --raw map is the library's, on an independent session, and the bad combinations are one error
// line before any work.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cam/explain.h"
#include "cam/methods.h"
#include "cam/model_input.h"
#include "cam/render.h"
#include "tensor/npy.h"
#include "tests/support/fixtures.h"
#include "tests/tools/run_gaze.h"
#include "tests/tools/tiny_model.h"
#include "weights/model_io.h"

namespace gaze {
namespace {

using testing::fixture_path;
using testing::RunResult;
using testing::TempDir;

const char* const kLayer = "pool2";  // 28x28x16
const int kBird = 3;

std::string npy_input() {
  return fixture_path("npy/chelsea_mobilenet_v2.npy");
}

const Model& tiny() {
  static const LoadedModel loaded = load_model(testing::tiny_model());
  return loaded.model;
}

Tensor cam_raw(std::vector<std::string> args) {
  TempDir dir;
  std::vector<std::string> all = {"cam",          "--model",         testing::tiny_model(),
                                  "--out",        dir / "panel.png", "--raw",
                                  dir / "map.npy"};
  all.insert(all.end(), args.begin(), args.end());
  all.push_back(npy_input());
  const RunResult r = testing::run_gaze(all);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? read_npy(dir / "map.npy") : Tensor();
}

void expect_map_near(const Tensor& got, const Tensor& want, float rel) {
  ASSERT_TRUE(got.defined());
  ASSERT_EQ(got.shape(), want.shape());
  float scale = 0.0f, worst = 0.0f;
  for (float v : want.values()) scale = std::max(scale, std::abs(v));
  ASSERT_GT(scale, 0.0f) << "an all-zero reference map tests nothing";
  for (int64_t i = 0; i < got.size(); ++i)
    worst = std::max(worst, std::abs(got.data()[i] - want.data()[i]));
  EXPECT_LE(worst, rel * scale);
}

float max_diff(const Tensor& a, const Tensor& b) {
  float worst = 0.0f;
  for (int64_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, std::abs(a.data()[i] - b.data()[i]));
  return worst;
}

TEST(SmoothCli, EigenSmoothIsThePrincipalProjectionOfTheMethodsTerms) {
  const Tensor input = load_model_input(npy_input(), tiny(), Preprocessing::kNsfwjs).tensor;
  CamSession session(tiny(), input, {kLayer}, true);
  const Tensor a = session.activations(kLayer).clone();
  const Tensor g = session.gradients(kLayer, kBird, ScoreKind::kLogit).clone();
  const std::pair<const char*, Tensor> cases[] = {
      {"gradcam", weighted_activations(a, grad_cam_weights(a, g))},
      {"gradcam++", weighted_activations(a, grad_cam_plus_plus_weights(a, g))},
      {"hirescam", hires_cam_terms(a, g)},
      {"layercam", layer_cam_terms(a, g)},
  };
  for (const auto& [method, terms] : cases) {
    SCOPED_TRACE(method);
    const Tensor want = principal_projection(terms);
    const std::vector<std::string> args = {"--method", method, "--class",       "bird",
                                           "--layer",  kLayer, "--eigen-smooth"};
    expect_map_near(cam_raw(args), relu_map(want), 1e-5f);
    std::vector<std::string> with_signed = args;
    with_signed.push_back("--signed");
    const Tensor signed_map = cam_raw(with_signed);
    expect_map_near(signed_map, want, 1e-5f);
    // Not the plain map.
    const Tensor plain =
        cam_raw({"--method", method, "--class", "bird", "--layer", kLayer, "--signed"});
    EXPECT_GT(max_diff(signed_map, plain), 1e-3f * max_diff(plain, Tensor::zeros(plain.shape())));
  }
}

TEST(SmoothCli, AugSmoothIsTheMeanOfTheSixVariantsMaps) {
  const Tensor input = load_model_input(npy_input(), tiny(), Preprocessing::kNsfwjs).tensor;
  for (const bool eigen : {false, true}) {
    SCOPED_TRACE(eigen ? "with --eigen-smooth" : "");
    CamOptions options;
    options.eigen_smooth = eigen;
    // The mean over variants sessions made here, each variant by augment_input (itself checked
    // against index arithmetic in tests/cam/smooth_test.cpp).
    Tensor want = Tensor::zeros({28, 28});
    for (const AugVariant& v : kAugVariants) {
      CamSession s(tiny(), augment_input(input, v), {kLayer}, true);
      Tensor m = normalize_map(relu_map(s.map(kLayer, kBird, options)), MapNorm::kMinMax);
      if (v.flip) m = flip_left_right(m);
      for (int64_t i = 0; i < m.size(); ++i) want.data()[i] += m.data()[i] / 6.0f;
    }
    std::vector<std::string> args = {"--class", "bird", "--layer", kLayer, "--aug-smooth"};
    if (eigen) args.push_back("--eigen-smooth");
    const Tensor got = cam_raw(args);
    expect_map_near(got, want, 1e-5f);
    EXPECT_GT(max_diff(got, normalize_map(cam_raw({"--class", "bird", "--layer", kLayer}),
                                          MapNorm::kMinMax)),
              0.01f);
  }
}

TEST(SmoothCli, BadCombinationsAreOneErrorLineBeforeAnyWork) {
  TempDir dir;
  const std::string absent = dir / "absent.h5";
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--method", "eigencam", "--eigen-smooth"}, "eigencam"},
      {{"--method", "guided-backprop", "--eigen-smooth"}, "guided-backprop"},
      {{"--method", "guided-backprop", "--aug-smooth"}, "guided-backprop"},
      {{"--aug-smooth", "--signed"}, "--signed"},
  };
  for (const auto& [options, mention] : cases) {
    SCOPED_TRACE(mention);
    std::vector<std::string> args = {"cam", "--model", absent, "--out-dir", dir / "out"};
    args.insert(args.end(), options.begin(), options.end());
    args.push_back(npy_input());
    const RunResult r = testing::run_gaze(args);
    EXPECT_EQ(r.exit_code, 1);
    const std::vector<std::string> lines = r.err_lines();
    ASSERT_EQ(lines.size(), 1u) << r.err;
    EXPECT_EQ(lines[0].rfind("gaze: error: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(mention), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find(absent), std::string::npos) << "the model was loaded first";
  }
}

TEST(SmoothCli, EvaluateTakesSmoothedMethodsAsRowsOfTheirOwn) {
  const RunResult r =
      testing::run_gaze({"evaluate", "--model", testing::tiny_model(), "--method",
                         "gradcam,gradcam:eigen,gradcam:aug,layercam:aug:eigen,random", "--layer",
                         kLayer, "--steps", "4", "--json", npy_input()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  std::vector<std::string> names;
  std::vector<double> deletion;
  for (const auto& e : j["evaluations"]) {
    names.push_back(e["method"]);
    deletion.push_back(e["deletion"]["auc"]);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"gradcam", "gradcam:eigen", "gradcam:aug",
                                             "layercam:eigen:aug", "random"}));
  // The smoothed maps are other maps: their curves differ from the plain one's.
  ASSERT_EQ(deletion.size(), 5u);
  EXPECT_NE(deletion[0], deletion[1]);
  EXPECT_NE(deletion[0], deletion[2]);
}

TEST(SmoothCli, EvaluateRefusesBadSmoothingSuffixes) {
  for (const std::string bad :
       {"gradcam:blur", "eigencam:eigen", "random:aug", "gradcam:aug:aug"}) {
    SCOPED_TRACE(bad);
    const RunResult r = testing::run_gaze(
        {"evaluate", "--model", testing::tiny_model(), "--method", bad, npy_input()});
    EXPECT_EQ(r.exit_code, 1);
    const std::vector<std::string> lines = r.err_lines();
    ASSERT_EQ(lines.size(), 1u) << r.err;
    EXPECT_EQ(lines[0].rfind("gaze: error: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(bad), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace gaze
