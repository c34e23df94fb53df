// Grad-CAM and Grad-CAM++ of the real nsfwjs InceptionV3 against an independent computation:
// tools/reference/torch_keras.py interprets the same .h5 in PyTorch, takes gradients with torch
// autograd in float64 (cross-checked against finite differences, tools/reference/TORCH.md) and
// wrote tests/fixtures/torch/. Two images, layers mixed10 and mixed7, the top and the least
// probable class.
#include <gtest/gtest.h>

#include <cmath>

#include "cam/explain.h"
#include "cam/methods.h"
#include "layers/inception_v3.h"
#include "tensor/npy.h"
#include "tests/support/fixtures.h"
#include "weights/keras_h5.h"
#include "weights/model_io.h"

namespace gaze {
namespace {

// gaze runs float32 against a float64 reference: float32 rounding over ~10^3-10^4 term sums
// gives relative errors of a few 1e-6 (the reference measured 2e-6 for float32 PyTorch against
// float64 on these very maps), so 1e-4 of the map's maximum is a 50x margin, while a wrong
// weighting or a misrouted gradient moves maps by percents.
constexpr double kRelativeTolerance = 1e-4;

double max_abs(const Tensor& t) {
  double m = 0.0;
  for (float v : t.values()) m = std::max(m, static_cast<double>(std::abs(v)));
  return m;
}

double relative_error(const Tensor& got, const Tensor& want) {
  EXPECT_EQ(got.size(), want.size());
  double d = 0.0;
  for (int64_t i = 0; i < std::min(got.size(), want.size()); ++i) {
    d = std::max(d, static_cast<double>(std::abs(got.data()[i] - want.data()[i])));
  }
  return d / std::max(max_abs(want), 1e-30);
}

TEST(TorchReference, GradCamAndGradCamPlusPlusOfTheRealInceptionV3) {
  GAZE_REQUIRE_MODEL("nsfwjs_inception_v3.h5");
  const LoadedModel m = load_keras_model(testing::model_path("nsfwjs_inception_v3.h5"));
  const nlohmann::json manifest = testing::read_json_fixture("torch/manifest.json");
  ASSERT_GE(manifest["cases"].size(), 8u);
  double worst_cam = 0.0, worst_campp = 0.0;
  for (const auto& c : manifest["cases"]) {
    const std::string layer = c["layer"], image = c["image"];
    const int k = c["class_index"];
    const std::string stem = "torch/" + image + "_" + layer + "_class" + std::to_string(k);
    SCOPED_TRACE(stem);
    CamSession session(m.model,
                       read_npy(testing::source_path(c["input"])).reshape({1, 299, 299, 3}),
                       {layer}, true);
    EXPECT_LE(relative_error(session.probabilities(),
                             read_npy(testing::fixture_path(stem + "_probs.npy"))),
              1e-5);
    CamOptions options;
    const Tensor cam = relu_map(session.map(layer, k, options));
    options.method = CamMethod::kGradCamPlusPlus;
    const Tensor campp = relu_map(session.map(layer, k, options));
    const double e_cam =
        relative_error(cam, read_npy(testing::fixture_path(stem + "_gradcam.npy")));
    const double e_campp =
        relative_error(campp, read_npy(testing::fixture_path(stem + "_gradcampp.npy")));
    EXPECT_LE(e_cam, kRelativeTolerance);
    EXPECT_LE(e_campp, kRelativeTolerance);
    worst_cam = std::max(worst_cam, e_cam);
    worst_campp = std::max(worst_campp, e_campp);
    if (std::filesystem::exists(testing::fixture_path(stem + "_grads.npy"))) {
      const Tensor want = read_npy(testing::fixture_path(stem + "_grads.npy"));
      EXPECT_LE(relative_error(session.gradients(layer, k, ScoreKind::kLogit), want),
                kRelativeTolerance);
    }
  }
  std::printf("[ measured ] vs PyTorch float64: Grad-CAM max rel. error %.3g, Grad-CAM++ %.3g\n",
              worst_cam, worst_campp);
}

TEST(TorchReference, HandWrittenInceptionV3LoadsTheNsfwjsBaseAndAgrees) {
  GAZE_REQUIRE_MODEL("nsfwjs_inception_v3.h5");
  // (b): the converted model, built from its Keras config; (a): layers/inception_v3.cpp.
  const LoadedModel b = load_keras_model(testing::model_path("nsfwjs_inception_v3.h5"));
  Model a = inception_v3({.include_top = false});
  load_weights_by_name(a, read_keras_h5(testing::model_path("nsfwjs_inception_v3.h5")),
                       "nsfwjs_inception_v3.h5");
  const Tensor x =
      read_npy(testing::fixture_path("npy/chelsea_inception_v3.npy")).reshape({1, 299, 299, 3});
  const Tensor from_a = a.forward(x).output.value();
  const Tensor from_b = b.model.forward(x, {{"mixed10"}, {}}).kept.at("mixed10").value();
  EXPECT_LE(relative_error(from_a, from_b), 1e-6);
}

}  // namespace
}  // namespace gaze
