// The real nsfwjs MobileNetV2 at block_13_expand_relu (14x14x576) against float64 PyTorch
// (tools/reference/torch_fixtures.py --only mobilenet, tests/fixtures/torch/mobilenet_v2/). The
// gradient of the logit with respect to this layer flows back through block 13's asymmetric
// ZeroPadding2D and stride-2 DepthwiseConv2D, then blocks 14-16 (depthwise convolutions, ReLU6,
// the residual Adds) and Conv_1: the depthwise backward, which the InceptionV3 fixtures never
// reach. Two images, the top and the least probable class; for one case the full activations
// and gradients.
#include <gtest/gtest.h>

#include <fstream>

#include "cam/explain.h"
#include "cam/methods.h"
#include "tensor/npy.h"
#include "tests/support/fixtures.h"
#include "tests/support/test_util.h"
#include "weights/keras_h5.h"
#include "weights/keras_zip.h"
#include "weights/model_io.h"

namespace gaze {
namespace {

// As in torch_reference_test.cpp: float32 PyTorch differs from float64 on these very cases by at
// most 1.7e-6 (activations), 5.5e-7 (gradients) and 3.2e-6 (maps) of the maximum (the manifest's
// float32_vs_float64_rel), so 1e-4 leaves a margin of 30x or more, while a transposed depthwise
// kernel, a misplaced padding cell or a wrong ReLU6 rule moves these numbers by percents.
constexpr double kRelativeTolerance = 1e-4;
const std::string kLayer = "block_13_expand_relu";

double relative_error(const Tensor& got, const Tensor& want) {
  if (got.shape() != want.shape()) {
    ADD_FAILURE() << "shape " << to_string(got.shape()) << " vs " << to_string(want.shape());
    return INFINITY;
  }
  return testing::max_abs_diff(got, want) / std::max<double>(testing::max_abs(want), 1e-30);
}

// One float32 .npy entry of a fixture .npz (a plain deflated zip), read through gaze's own zip
// and .npy readers by way of a temporary file.
Tensor read_npz_entry(const std::string& npz, const std::string& entry) {
  zip::Archive archive = zip::Archive::open(npz);
  const std::vector<unsigned char> bytes = archive.read(entry, uint64_t{16} << 20);
  const std::string path = testing::test_temp_path(entry);
  {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
  }
  Tensor t = read_npy(path);
  std::filesystem::remove(path);
  return t;
}

TEST(TorchReferenceMobileNetV2, ActivationsGradientsAndMapsAcrossDepthwiseConvolutions) {
  GAZE_REQUIRE_MODEL("nsfwjs_mobilenet_v2.h5");
  const LoadedModel m = load_keras_model(testing::model_path("nsfwjs_mobilenet_v2.h5"));
  const nlohmann::json manifest = testing::read_json_fixture("torch/mobilenet_v2/manifest.json");
  ASSERT_EQ(manifest["layer"], kLayer);
  ASSERT_GE(manifest["cases"].size(), 4u);
  double worst_probs = 0.0, worst_cam = 0.0, worst_campp = 0.0;
  int tensor_cases = 0;
  for (const auto& c : manifest["cases"]) {
    const int k = c["class_index"];
    const std::string stem = "torch/mobilenet_v2/" + c["image"].get<std::string>() + "_" + kLayer +
                             "_class" + std::to_string(k);
    SCOPED_TRACE(stem);
    CamSession session(m.model,
                       read_npy(testing::source_path(c["input"])).reshape({1, 224, 224, 3}),
                       {kLayer}, true);
    const double e_probs = relative_error(session.probabilities(),
                                          read_npy(testing::fixture_path(stem + "_probs.npy")));
    EXPECT_LE(e_probs, 1e-5);
    worst_probs = std::max(worst_probs, e_probs);
    CamOptions options;
    const double e_cam = relative_error(relu_map(session.map(kLayer, k, options)),
                                        read_npy(testing::fixture_path(stem + "_gradcam.npy")));
    options.method = CamMethod::kGradCamPlusPlus;
    const double e_campp = relative_error(relu_map(session.map(kLayer, k, options)),
                                          read_npy(testing::fixture_path(stem + "_gradcampp.npy")));
    EXPECT_LE(e_cam, kRelativeTolerance);
    EXPECT_LE(e_campp, kRelativeTolerance);
    worst_cam = std::max(worst_cam, e_cam);
    worst_campp = std::max(worst_campp, e_campp);

    const std::string tensors = testing::fixture_path(stem + "_tensors.npz");
    if (!std::filesystem::exists(tensors)) continue;
    ++tensor_cases;
    const double e_a =
        relative_error(session.activations(kLayer), read_npz_entry(tensors, "activations.npy"));
    const double e_g = relative_error(session.gradients(kLayer, k, ScoreKind::kLogit),
                                      read_npz_entry(tensors, "grads.npy"));
    EXPECT_LE(e_a, kRelativeTolerance);
    EXPECT_LE(e_g, kRelativeTolerance);
    std::printf("[ measured ] %s: activations max rel. error %.3g, gradients %.3g\n", stem.c_str(),
                e_a, e_g);
  }
  EXPECT_EQ(tensor_cases, 1);
  std::printf(
      "[ measured ] vs PyTorch float64 at %s: probabilities max rel. error %.3g, "
      "Grad-CAM %.3g, Grad-CAM++ %.3g\n",
      kLayer.c_str(), worst_probs, worst_cam, worst_campp);
}

}  // namespace
}  // namespace gaze
