// Legacy .h5 files as Keras itself writes them, made with h5py (not with gaze's writer) by
// tools/reference/keras_h5_files.py from the TF.js model tests/fixtures/families/mobilenet_v1:
// tf.keras and Keras 3 full models and weights-only files, weight names with and without ":0",
// layer_names split into layer_names0/1, and strings both variable-length (h5py 3) and
// fixed-length (h5py 2); a compiled model's training_config and optimizer_weights; and from
// tests/fixtures/families/finetuned_nested, a model nested as a layer, whose one group lists all
// its trainable weights before all its non-trainable ones. Each must give TF.js's stored
// probabilities for its model.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tensor/npy.h"
#include "tests/support/fixtures.h"
#include "tests/support/test_util.h"
#include "weights/hdf5_file.h"
#include "weights/keras_h5.h"
#include "weights/model_io.h"
#include "weights/tfjs.h"

namespace gaze {
namespace {

using nlohmann::json;

struct Form {
  const char* file;    // under tests/fixtures/keras_h5/
  const char* config;  // under tests/fixtures/, for a weights-only file; "" for a full model
  const char* family;  // the TF.js model it holds: tests/fixtures/families/<family>
};

const Form kForms[] = {
    {"tf_keras_model.h5", "", "mobilenet_v1"},
    {"tf_keras_weights.h5", "keras_h5/tf_keras_model.json", "mobilenet_v1"},
    {"keras3_legacy_model.h5", "", "mobilenet_v1"},
    {"keras3_legacy_weights.h5", "families/mobilenet_v1/config.json", "mobilenet_v1"},
    {"tf_keras_chunked_model.h5", "", "mobilenet_v1"},
    {"h5py2_model.h5", "", "mobilenet_v1"},
    {"tf_keras_compiled_model.h5", "", "mobilenet_v1"},
    {"tf_keras_nested_model.h5", "", "finetuned_nested"},
    {"tf_keras_nested_weights.h5", "keras_h5/tf_keras_nested_model.json", "finetuned_nested"},
    {"keras3_legacy_nested_model.h5", "", "finetuned_nested"},
};

std::string family_dir(const Form& form) {
  return std::string("families/") + form.family;
}

std::string h5_path(const std::string& name) {
  return testing::fixture_path("keras_h5/" + name);
}

LoadedModel load_form(const Form& form) {
  const std::string config = *form.config ? testing::fixture_path(form.config) : "";
  return load_model(h5_path(form.file), config);
}

// The model's input [1, 96, 96, 3] for one of reference.json's inputs.
Tensor input_of(const Form& form, const json& in) {
  const Tensor x =
      read_npy(testing::fixture_path(family_dir(form) + "/" + in["input"].get<std::string>()));
  return x.rank() == 3 ? x.reshape({1, x.dim(0), x.dim(1), x.dim(2)}) : x;
}

Tensor probs_of(const json& in) {
  const std::vector<float> p = in["probs"].get<std::vector<float>>();
  return Tensor::from({1, static_cast<int64_t>(p.size())}, p);
}

class KerasWrittenH5Test : public ::testing::TestWithParam<Form> {};

TEST_P(KerasWrittenH5Test, GivesTfjsProbabilities) {
  const json ref = testing::read_json_fixture(family_dir(GetParam()) + "/reference.json");
  const LoadedModel loaded = load_form(GetParam());
  for (const auto& [name, in] : ref["inputs"].items()) {
    SCOPED_TRACE(name);
    EXPECT_TENSOR_NEAR(loaded.model.forward(input_of(GetParam(), in)).output.value(), probs_of(in),
                       1e-5f);
  }
}

// The same weights as the TF.js model itself (model.json + weights.bin), so the same output bit
// for bit: every weight reached its slot, none went to a sibling of the same shape.
TEST_P(KerasWrittenH5Test, SameOutputAsTheTfjsModel) {
  const json ref = testing::read_json_fixture(family_dir(GetParam()) + "/reference.json");
  const std::string tmp = testing::test_temp_path("tfjs.h5");
  write_keras_h5(tmp,
                 read_tfjs_model(testing::fixture_path(family_dir(GetParam()) + "/model.json")));
  const LoadedModel tfjs = load_model(tmp);
  const LoadedModel loaded = load_form(GetParam());
  for (const auto& [name, in] : ref["inputs"].items()) {
    SCOPED_TRACE(name);
    const Tensor x = input_of(GetParam(), in);
    EXPECT_EQ(testing::max_abs_diff(loaded.model.forward(x).output.value(),
                                    tfjs.model.forward(x).output.value()),
              0.0f);
  }
}

INSTANTIATE_TEST_SUITE_P(Files, KerasWrittenH5Test, ::testing::ValuesIn(kForms),
                         [](const ::testing::TestParamInfo<Form>& param) {
                           std::string name = param.param.file;
                           return name.substr(0, name.find('.'));
                         });

// What the reader makes of the layouts: the names exactly as listed, the version strings
// (variable-length in h5py 3 files, fixed-length in h5py 2 ones), and the chunks joined in order.
TEST(KerasWrittenH5, ReadsTheLayoutAsKerasDoes) {
  const KerasFile tf_keras = read_keras_h5(h5_path("tf_keras_model.h5"));
  EXPECT_EQ(tf_keras.attributes.at("keras_version"), "2.21.0");
  EXPECT_EQ(tf_keras.attributes.at("backend"), "tensorflow");
  EXPECT_EQ(json::parse(tf_keras.model_config).at("class_name"), "Functional");
  ASSERT_EQ(tf_keras.layers.size(), 23u);
  EXPECT_EQ(tf_keras.layers[0].layer, "input_layer");
  EXPECT_TRUE(tf_keras.layers[0].weights.empty());  // weight_names: an empty float64 array
  ASSERT_EQ(tf_keras.layers[5].weights.size(), 1u);
  EXPECT_EQ(tf_keras.layers[5].weights[0].name, "conv_dw_1/depthwise_kernel:0");

  const KerasFile keras3 = read_keras_h5(h5_path("keras3_legacy_model.h5"));
  EXPECT_EQ(keras3.attributes.at("keras_version"), "3.15.1");
  ASSERT_EQ(keras3.layers.size(), 23u);
  ASSERT_EQ(keras3.layers[5].weights.size(), 1u);
  EXPECT_EQ(keras3.layers[5].weights[0].name, "conv_dw_1/kernel");
  ASSERT_EQ(keras3.layers[2].weights.size(), 4u);
  EXPECT_EQ(keras3.layers[2].weights[3].name, "conv1_bn/moving_variance");

  const KerasFile h5py2 = read_keras_h5(h5_path("h5py2_model.h5"));
  EXPECT_EQ(h5py2.attributes.at("keras_version"), "2.21.0");
  EXPECT_EQ(h5py2.model_config, tf_keras.model_config);

  {  // Keras' chunks, as Keras writes them: no layer_names, layer_names0 and layer_names1.
    const hdf5::File file = hdf5::File::open_read_only(h5_path("tf_keras_chunked_model.h5"));
    const hdf5::Group weights = file.root().open_group("model_weights");
    EXPECT_FALSE(weights.has_attribute("layer_names"));
    EXPECT_TRUE(weights.has_attribute("layer_names0"));
    EXPECT_TRUE(weights.has_attribute("layer_names1"));
    EXPECT_FALSE(weights.has_attribute("layer_names2"));
  }
  const KerasFile chunked = read_keras_h5(h5_path("tf_keras_chunked_model.h5"));
  ASSERT_EQ(chunked.layers.size(), 23u);
  for (size_t i = 0; i < chunked.layers.size(); ++i) {
    if (i == 20) continue;  // conv_preds, renamed
    EXPECT_EQ(chunked.layers[i].layer, tf_keras.layers[i].layer) << i;
  }
  // Long enough that 23 names padded to it exceed Keras' 64512-byte limit.
  EXPECT_GT(chunked.layers[20].layer.size() * 23, 64512u);
  EXPECT_EQ(chunked.layers[20].layer.rfind("conv_preds_", 0), 0u);
  ASSERT_EQ(chunked.layers[20].weights.size(), 2u);
  EXPECT_EQ(chunked.layers[20].weights[1].name, chunked.layers[20].layer + "/bias:0");

  // A compiled model's extras are not layers.
  const KerasFile compiled = read_keras_h5(h5_path("tf_keras_compiled_model.h5"));
  EXPECT_EQ(compiled.layers.size(), 23u);
  EXPECT_EQ(json::parse(compiled.attributes.at("training_config")).at("loss"),
            "categorical_crossentropy");

  // The nested model's one group: 15 trainable weights of its layers, then 10 moving statistics.
  const KerasFile nested = read_keras_h5(h5_path("tf_keras_nested_model.h5"));
  ASSERT_EQ(nested.layers.size(), 7u);
  EXPECT_EQ(nested.layers[2].layer, "mobilenet_0.25_96");
  ASSERT_EQ(nested.layers[2].weights.size(), 25u);
  EXPECT_EQ(nested.layers[2].weights[14].name, "conv_pw_2_bn/beta:0");
  EXPECT_EQ(nested.layers[2].weights[15].name, "conv1_bn/moving_mean:0");
}

}  // namespace
}  // namespace gaze
