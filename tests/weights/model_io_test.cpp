// Loading weights into models: keras.applications-style weights-only files by Keras' layer order,
// full-model files by name, and the errors a bad file gives.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "layers/inception_v3.h"
#include "layers/keras_config.h"
#include "tests/support/test_util.h"
#include "weights/keras_h5.h"
#include "weights/model_io.h"

namespace gaze {
namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string temp_file(const std::string& name) {
  return testing::test_temp_path(name);
}

// Random weights for every layer of `m` (positive variances, so batch norm is defined).
void randomize(Model& m, uint32_t seed) {
  for (size_t i = 0; i < m.size(); ++i) {
    for (Weight& w : m.layer(i).weights()) {
      const bool variance = w.name == "moving_variance";
      w.value =
          testing::random_tensor(w.shape, seed++, variance ? 0.5f : -0.1f, variance ? 1.5f : 0.1f);
    }
  }
}

// A weights-only file as keras.applications publishes them: root layer_names in Keras' layer
// order, layers without weights included, weights named after the layer. `rename` gives the
// layers the other Keras naming (conv2d_1 -> conv2d, conv2d_2 -> conv2d_1, ...), as a file
// written by another Keras version would have.
KerasFile applications_style_file(const Model& m, bool rename) {
  KerasFile f;
  for (size_t i : m.keras_order()) {
    const Layer& layer = m.layer(i);
    std::string name = layer.name();
    // Only automatic names are numbered differently; mixed0 ... mixed10, mixed9_0 stay.
    const size_t underscore = name.rfind('_');
    const std::string base = underscore == std::string::npos ? "" : name.substr(0, underscore);
    const bool automatic = base == "conv2d" || base == "batch_normalization" ||
                           base == "activation" || base == "max_pooling2d" ||
                           base == "average_pooling2d" || base == "concatenate";
    if (rename && automatic) {
      const int n = std::stoi(name.substr(underscore + 1));
      name = base + (n == 1 ? "" : "_" + std::to_string(n - 1));
    }
    LayerWeights lw{name, {}};
    for (const Weight& w : layer.weights())
      lw.weights.push_back({name + "/" + w.name + ":0", w.value});
    f.layers.push_back(std::move(lw));
  }
  return f;
}

TEST(ModelIo, KerasApplicationsWeightsOnlyFileLoadsByOrderIntoTheHandWrittenInceptionV3) {
  // (b): the base of the Keras-written nsfwjs config, which is keras.applications' InceptionV3.
  Model b = model_from_keras_config(
      read_text(std::string(GAZE_SOURCE_DIR) + "/tests/fixtures/nsfwjs_inception_v3_config.json"));
  randomize(b, 7);
  // The file covers the base only (the _notop file): model (a) has no head.
  Model a = inception_v3({.include_top = false});
  KerasFile base = applications_style_file(b, /*rename=*/true);
  base.layers.resize(311);  // Keras lists the base first; the nsfwjs head follows
  const std::string path = temp_file("inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5");
  write_keras_h5(path, base);
  const KerasFile read = read_keras_h5(path);
  EXPECT_TRUE(read.model_config.empty());
  EXPECT_EQ(read.layers[1].layer, "conv2d");  // really named the other way
  load_weights_by_order(a, read, path);
  a.check_weights_loaded();

  const Tensor x = testing::random_tensor({1, 299, 299, 3}, 3, 0.0f, 1.0f);
  const Tensor from_a = a.forward(x).output.value();
  const Tensor from_b = b.forward(x, {{"mixed10"}, {}}).kept.at("mixed10").value();
  // b runs its chains unfolded (weights set by hand), a folded (loaded): float rounding only.
  EXPECT_TENSOR_NEAR(from_a, from_b, 1e-5f);
  std::filesystem::remove(path);
}

TEST(ModelIo, WeightsOnlyErrorsNameTheLayerAndBothShapes) {
  Model m = inception_v3({.include_top = false});
  randomize(m, 1);
  KerasFile f = applications_style_file(m, false);
  // A kernel of the wrong shape.
  f.layers[1].weights[0].value = Tensor::zeros({3, 3, 3, 31});
  try {
    load_weights_by_order(m, f, "x.h5");
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("x.h5"), std::string::npos) << msg;
    EXPECT_NE(msg.find("conv2d_1"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[3, 3, 3, 31]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[3, 3, 3, 32]"), std::string::npos) << msg;
  }
  // One layer with weights too few.
  KerasFile short_file = applications_style_file(m, false);
  short_file.layers.erase(short_file.layers.begin() + 1);
  EXPECT_THROW(load_weights_by_order(m, short_file, "x.h5"), Error);
}

TEST(ModelIo, FullModelRoundTripLoadsByName) {
  Model b = model_from_keras_config(
      read_text(std::string(GAZE_SOURCE_DIR) + "/tests/fixtures/nsfwjs_mobilenet_v2_config.json"));
  randomize(b, 11);
  KerasFile f = applications_style_file(b, false);
  f.model_config =
      read_text(std::string(GAZE_SOURCE_DIR) + "/tests/fixtures/nsfwjs_mobilenet_v2_config.json");
  f.attributes["gaze_class_names"] = R"(["a","b","c","d","e"])";
  f.attributes["gaze_preprocessing"] = "nsfwjs";
  const std::string path = temp_file("mobilenet_full.h5");
  write_keras_h5(path, f);
  const LoadedModel loaded = load_keras_model(path);
  EXPECT_EQ(loaded.class_names, (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  EXPECT_EQ(loaded.preprocessing, "nsfwjs");
  const Tensor x = testing::random_tensor({1, 224, 224, 3}, 5, 0.0f, 1.0f);
  EXPECT_TENSOR_NEAR(loaded.model.forward(x).output.value(), b.forward(x).output.value(), 1e-5f);
  // A weights-only file is not a model.
  const std::string weights_only = temp_file("mobilenet_weights.h5");
  f.model_config.clear();
  write_keras_h5(weights_only, f);
  EXPECT_THROW(load_keras_model(weights_only), Error);
  // Class names must name every output, no more and no fewer (`--rating` indexes them).
  for (const char* names : {R"(["a","b","c","d","e","f"])", R"(["a","b","c","d"])"}) {
    f.model_config =
        read_text(std::string(GAZE_SOURCE_DIR) + "/tests/fixtures/nsfwjs_mobilenet_v2_config.json");
    f.attributes["gaze_class_names"] = names;
    write_keras_h5(path, f);
    try {
      load_keras_model(path);
      ADD_FAILURE() << "no error for " << names;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("names for the model's 5 outputs"), std::string::npos)
          << e.what();
    }
  }
  std::filesystem::remove(path);
  std::filesystem::remove(weights_only);
}

}  // namespace
}  // namespace gaze

namespace gaze {
namespace {

// Keras 2 keeps a nested model's weights in the nested model's own group, named by the inner
// layer ("conv1/kernel:0"), trainable weights first; a shared layer's weights appear once.
TEST(ModelIo, NestedModelWeightsComeFromTheNestedGroupAndSharedLayersTieToTheirFirstCall) {
  Model m = model_from_keras_config(read_text(std::string(GAZE_SOURCE_DIR) +
                                              "/tests/fixtures/configs/nested_shared_keras2.json"));
  KerasFile file;
  uint32_t seed = 1;
  auto tensor = [&](const Shape& s) { return testing::random_tensor(s, seed++, 0.5f, 1.5f); };
  file.layers.push_back({"image", {}});
  file.layers.push_back({"base",
                         {{"conv1/kernel:0", tensor({3, 3, 3, 4})},
                          {"conv1/bias:0", tensor({4})},
                          {"bn1/gamma:0", tensor({4})},
                          {"bn1/beta:0", tensor({4})},
                          {"base/c2/kernel:0", tensor({1, 1, 4, 4})},
                          {"base/c2/bias:0", tensor({4})},
                          {"bn1/moving_mean:0", tensor({4})},
                          {"bn1/moving_variance:0", tensor({4})}}});
  file.layers.push_back({"gap", {}});
  file.layers.push_back(
      {"shared", {{"shared/kernel:0", tensor({4, 4})}, {"shared/bias:0", tensor({4})}}});
  file.layers.push_back({"out", {{"out/kernel:0", tensor({4, 3})}, {"out/bias:0", tensor({3})}}});
  load_weights_by_name(m, file, "nested.h5");
  EXPECT_NO_THROW(m.check_weights_loaded());
  auto value = [&](const std::string& layer, size_t k) {
    return static_cast<const Model&>(m).layer(m.index_of(layer)).weights()[k].value;
  };
  EXPECT_EQ(testing::max_abs_diff(value("base/bn1", 2), file.layers[1].weights[6].value), 0.0f);
  EXPECT_EQ(testing::max_abs_diff(value("base/head/c2", 0), file.layers[1].weights[4].value), 0.0f);
  EXPECT_EQ(value("shared@1", 0).data(), value("shared", 0).data());  // the same storage
  // A file without the nested model's group names the inner layer it misses.
  file.layers.erase(file.layers.begin() + 1);
  try {
    load_weights_by_name(m, file, "nested.h5");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'base/conv1'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace gaze
