// gaze against the model's own runtime: the probabilities nsfwjs (TensorFlow.js) gives for the
// committed photos and their preprocessed tensors (tests/fixtures/nsfwjs_reference.json, made by
// tools/reference/nsfwjs_reference.js).
#include <gtest/gtest.h>

#include <cmath>

#include "cam/model_input.h"
#include "tensor/npy.h"
#include "tests/support/fixtures.h"
#include "tests/support/test_util.h"
#include "weights/model_io.h"

namespace gaze {
namespace {

using testing::fixture_path;

struct ModelCase {
  const char* key;   // in the reference JSON
  const char* file;  // under models/
};
const ModelCase kModels[] = {{"inception_v3", "nsfwjs_inception_v3.h5"},
                             {"mobilenet_v2", "nsfwjs_mobilenet_v2.h5"}};

float max_abs_diff(const Tensor& probs, const nlohmann::json& want) {
  float d = 0.0f;
  for (size_t i = 0; i < want.size(); ++i)
    d = std::max(d, std::abs(probs.data()[i] - want[i].get<float>()));
  return d;
}

int argmax(const std::vector<float>& v) {
  return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin());
}

class NsfwjsReference : public ::testing::TestWithParam<ModelCase> {};

TEST_P(NsfwjsReference, PreprocessedTensorsGiveTheSameProbabilitiesWithin1e5) {
  GAZE_REQUIRE_MODEL(GetParam().file);
  const LoadedModel m = load_keras_model(testing::model_path(GetParam().file));
  const nlohmann::json ref = testing::read_json_fixture("nsfwjs_reference.json");
  EXPECT_EQ(m.class_names, ref["classes"].get<std::vector<std::string>>());
  float worst = 0.0f;
  for (const auto& image : ref["images"]) {
    const auto& r = image["models"][GetParam().key];
    const ModelInput in = load_model_input(fixture_path(r["npy"]), m.model, Preprocessing::kNsfwjs);
    const float d = max_abs_diff(m.model.forward(in.tensor).output.value(), r["probs_npy"]);
    EXPECT_LE(d, 1e-5f) << image["file"];
    worst = std::max(worst, d);
  }
  RecordProperty("max_abs_diff_npy", std::to_string(worst));
  std::printf("[ measured ] %s .npy inputs: max |gaze - TF.js| = %.3g\n", GetParam().key, worst);
}

// Winograd's algorithm changes only float rounding: on every committed photo, the outputs of the
// real model, and the activations at the default Grad-CAM layer, stay within 1e-4 of the im2col
// path's (relative to the largest value).
TEST_P(NsfwjsReference, WinogradKeepsOutputsWithin1e4OfTheIm2colPath) {
  GAZE_REQUIRE_MODEL(GetParam().file);
  LoadedModel m = load_keras_model(testing::model_path(GetParam().file));
  const nlohmann::json ref = testing::read_json_fixture("nsfwjs_reference.json");
  const std::string layer = std::string(GetParam().key) == "inception_v3" ? "mixed10" : "out_relu";
  // Inception-v3: its stride-1 3x3, 5x5, 1x7 and 7x1 convolutions down to 17x17. MobileNetV2 has
  // none (its only full convolution has stride 2): there the test checks the switch alone.
  EXPECT_EQ(m.model.winograd_layers().size(), layer == "mixed10" ? 39u : 0u);
  float worst_output = 0.0f, worst_layer = 0.0f;
  for (const auto& image : ref["images"]) {
    const auto& r = image["models"][GetParam().key];
    const ModelInput in = load_model_input(fixture_path(r["npy"]), m.model, Preprocessing::kNsfwjs);
    ModelForwardResult runs[2];
    for (int winograd = 0; winograd < 2; ++winograd) {
      m.model.use_winograd(winograd == 1);
      runs[winograd] = m.model.forward(in.tensor, {{layer}, {}});
    }
    auto relative = [](const Tensor& a, const Tensor& b) {
      return testing::max_abs_diff(a, b) / testing::max_abs(b);
    };
    worst_output = std::max(worst_output, relative(runs[1].logits.value(), runs[0].logits.value()));
    worst_layer = std::max(
        worst_layer, relative(runs[1].kept.at(layer).value(), runs[0].kept.at(layer).value()));
  }
  EXPECT_LE(worst_output, 1e-4f);
  EXPECT_LE(worst_layer, 1e-4f);
  std::printf("[ measured ] %s: Winograd vs im2col, max rel. diff %.3g (logits), %.3g (%s)\n",
              GetParam().key, worst_output, worst_layer, layer.c_str());
}

TEST_P(NsfwjsReference, ImagesGiveTheSameTopClass) {
  GAZE_REQUIRE_MODEL(GetParam().file);
  const LoadedModel m = load_keras_model(testing::model_path(GetParam().file));
  const nlohmann::json ref = testing::read_json_fixture("nsfwjs_reference.json");
  float worst_png = 0.0f, worst_jpeg = 0.0f;
  for (const auto& image : ref["images"]) {
    const std::string file = image["file"];
    const auto& r = image["models"][GetParam().key];
    const ModelInput in = load_model_input(fixture_path(file), m.model, Preprocessing::kNsfwjs);
    const Tensor probs = m.model.forward(in.tensor).output.value();
    EXPECT_EQ(argmax({probs.data(), probs.data() + probs.size()}),
              argmax(r["probs_image"].get<std::vector<float>>()))
        << file;
    const float d = max_abs_diff(probs, r["probs_image"]);
    // PNG decoders agree byte for byte, so decoding + nsfwjs preprocessing must match exactly;
    // JPEG decoders differ (libjpeg-turbo vs jpeg-js), so only the top class is compared.
    if (file.ends_with(".png")) {
      EXPECT_LE(d, 1e-5f) << file;
      worst_png = std::max(worst_png, d);
    } else {
      worst_jpeg = std::max(worst_jpeg, d);
    }
  }
  std::printf("[ measured ] %s images: max |gaze - TF.js| = %.3g (PNG), %.3g (JPEG)\n",
              GetParam().key, worst_png, worst_jpeg);
}

INSTANTIATE_TEST_SUITE_P(Models, NsfwjsReference, ::testing::ValuesIn(kModels),
                         [](const ::testing::TestParamInfo<ModelCase>& p) {
                           return std::string(p.param.key);
                         });

TEST(NsfwjsPreprocessing, PngDecodingAndResizeReproduceTheReferenceTensorsBitForBit) {
  // No model needed: the .npy fixtures are what TF.js computed from these files.
  const nlohmann::json ref = testing::read_json_fixture("nsfwjs_reference.json");
  int compared = 0;
  for (const auto& image : ref["images"]) {
    const std::string file = image["file"];
    if (!file.ends_with(".png")) continue;
    const Image decoded = load_image(fixture_path(file));
    for (const auto& [key, size] :
         {std::pair{"inception_v3", 299}, std::pair{"mobilenet_v2", 224}}) {
      const Tensor want = read_npy(fixture_path(image["models"][key]["npy"]));
      const Tensor got = preprocess(decoded, Preprocessing::kNsfwjs, size, size);
      ASSERT_EQ(got.size(), want.size());
      int64_t differing = 0;
      for (int64_t i = 0; i < got.size(); ++i) differing += got.data()[i] != want.data()[i];
      EXPECT_EQ(differing, 0) << file << " for " << key;
      ++compared;
    }
  }
  EXPECT_GE(compared, 6);
}

}  // namespace
}  // namespace gaze
