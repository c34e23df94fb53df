// Every family of tests/fixtures/families read from its Keras 3 forms (model.keras; config.json +
// model.weights.h5; sequential_cnn also model_deflated.keras), written without Keras by
// tools/reference/keras3_files.py: TF.js's probabilities within 1e-5, and its gradient and
// Grad-CAM map at the family's CAM layer; every form the same output, which is also the output of
// the TF.js model converted to .h5 (except mobilenet_v3, whose hard_sigmoid Keras 3 defines
// otherwise: its references for the Keras 3 forms are reference.json's "keras3" block). And the
// Keras 2 weights-only form with its model.to_json(), loaded by layer order.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "cam/explain.h"
#include "tensor/npy.h"
#include "tests/support/families.h"
#include "tests/support/fixtures.h"
#include "tests/support/test_util.h"
#include "weights/keras_h5.h"
#include "weights/model_io.h"
#include "weights/tfjs.h"

namespace gaze {
namespace {

using nlohmann::json;

using testing::batch_of;
using testing::kFamilies;

class FamilyKeras3Test : public ::testing::TestWithParam<const char*> {
 protected:
  std::string dir() const { return testing::fixture_path(std::string("families/") + GetParam()); }
  json reference() const {
    return testing::read_json_fixture(std::string("families/") + GetParam() + "/reference.json");
  }
};

TEST_P(FamilyKeras3Test, KerasFormsMatchTfjs) {
  const json ref = reference();
  // The Keras 3 references: the "keras3" block where Keras 3 computes otherwise.
  const json& inputs = ref.contains("keras3") ? ref["keras3"]["inputs"] : ref["inputs"];
  const std::string layer = ref["cam_layer"];
  const LoadedModel keras = load_model(dir() + "/model.keras");
  const Model& m = keras.model;
  testing::expect_matches_tfjs(m, dir(), inputs, layer);
}

TEST_P(FamilyKeras3Test, EveryFormGivesTheSameOutput) {
  const json ref = reference();
  std::vector<Tensor> inputs;
  for (const auto& [name, in] : ref["inputs"].items()) {
    inputs.push_back(batch_of(read_npy(dir() + "/" + in["input"].get<std::string>())));
  }
  auto outputs = [&](const LoadedModel& loaded) {
    std::vector<Tensor> out;
    for (const Tensor& x : inputs) out.push_back(loaded.model.forward(x).output.value());
    return out;
  };
  const std::vector<Tensor> keras = outputs(load_model(dir() + "/model.keras"));
  auto expect_same = [&](const std::vector<Tensor>& other) {
    for (size_t i = 0; i < keras.size(); ++i) {
      EXPECT_EQ(testing::max_abs_diff(other[i], keras[i]), 0.0f) << "input " << i;
    }
  };
  {
    SCOPED_TRACE("model.weights.h5 + config.json");
    expect_same(outputs(load_model(dir() + "/model.weights.h5", dir() + "/config.json")));
  }
  if (std::filesystem::exists(dir() + "/model_deflated.keras")) {
    SCOPED_TRACE("model_deflated.keras");
    expect_same(outputs(load_model(dir() + "/model_deflated.keras")));
  }
  if (!ref.contains("keras3")) {
    SCOPED_TRACE("the TF.js model converted to .h5");
    const std::string h5 = testing::test_temp_path(std::string(GetParam()) + ".h5");
    write_keras_h5(h5, read_tfjs_model(dir() + "/model.json"));
    expect_same(outputs(load_model(h5)));
  }
}

// The Keras 2 weights-only form: the converted model's weights without their model_config, under
// other layer names (as another Keras instance names them), with the config as model.to_json()
// gives it. Keras loads these by the order of model.layers, a nested base being one of them.
TEST_P(FamilyKeras3Test, Keras2WeightsOnlyByOrder) {
  const json ref = reference();
  const std::string tmp = testing::test_temp_path(GetParam());
  KerasFile file = read_tfjs_model(dir() + "/model.json");
  write_keras_h5(tmp + "_full.h5", file);
  { std::ofstream(tmp + "_model.json") << file.model_config; }
  file.model_config.clear();
  for (LayerWeights& l : file.layers) l.layer = "renamed_" + l.layer;
  write_keras_h5(tmp + "_weights.h5", file);
  const LoadedModel full = load_model(tmp + "_full.h5");
  const LoadedModel weights = load_model(tmp + "_weights.h5", tmp + "_model.json");
  for (const auto& [name, in] : ref["inputs"].items()) {
    SCOPED_TRACE(name);
    const Tensor x = batch_of(read_npy(dir() + "/" + in["input"].get<std::string>()));
    EXPECT_EQ(testing::max_abs_diff(weights.model.forward(x).output.value(),
                                    full.model.forward(x).output.value()),
              0.0f);
  }
}

INSTANTIATE_TEST_SUITE_P(Families, FamilyKeras3Test, ::testing::ValuesIn(kFamilies));

}  // namespace
}  // namespace gaze
