// Every keras.applications-style family of tests/fixtures/families (ResNet V1/V2, VGG, Xception,
// DenseNet, MobileNet V1/V2/V3, EfficientNet B0/V2, ConvNeXt, a Sequential CNN, a fine-tuned
// model with a nested base), made and run by TF.js 4.22 (tools/reference/families.js): gaze
// converts each TF.js model to a Keras .h5 as `gaze convert` does, loads it, and must give
// TF.js's probabilities, and the gradient and Grad-CAM map TF.js computes at the family's CAM
// layer.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

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

using testing::kFamilies;

class FamilyTest : public ::testing::TestWithParam<const char*> {
 protected:
  std::string dir() const { return testing::fixture_path(std::string("families/") + GetParam()); }
};

TEST_P(FamilyTest, ConvertedModelMatchesTfjs) {
  const json ref =
      testing::read_json_fixture(std::string("families/") + GetParam() + "/reference.json");
  // As `gaze convert` does: the TF.js model to a Keras .h5, then the .h5 loaded like any other.
  const std::string h5 = testing::test_temp_path(std::string(GetParam()) + ".h5");
  write_keras_h5(h5, read_tfjs_model(dir() + "/model.json"));
  const LoadedModel loaded = load_keras_model(h5);
  const Model& m = loaded.model;
  const std::string layer = ref["cam_layer"];
  testing::expect_matches_tfjs(m, dir(), ref["inputs"], layer);
}

INSTANTIATE_TEST_SUITE_P(Families, FamilyTest, ::testing::ValuesIn(kFamilies));

}  // namespace
}  // namespace gaze
