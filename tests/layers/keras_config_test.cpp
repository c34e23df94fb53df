// The Keras config builder, on hand-written configs (both inbound-node formats) and on the real
// nsfwjs configs written by Keras 2.2.4.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <tuple>

#include "layers/keras_config.h"
#include "layers/keras_layers.h"
#include "tests/support/test_util.h"

namespace gaze {
namespace {

std::string read_fixture(const std::string& name) {
  std::ifstream in(std::string(GAZE_SOURCE_DIR) + "/tests/fixtures/" + name);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// input -> conv(3x3, same, relu) -> [bn, maxpool branch] ... -> concat -> gap -> dense softmax
const char* kKeras2Config = R"({"class_name": "Model", "config": {"name": "m", "layers": [
  {"name": "in", "class_name": "InputLayer", "config": {"batch_input_shape": [null, 6, 5, 2]}, "inbound_nodes": []},
  {"name": "c1", "class_name": "Conv2D", "config": {"filters": 4, "kernel_size": [3, 3], "strides": [1, 1],
     "padding": "same", "use_bias": true, "activation": "relu", "data_format": "channels_last",
     "dilation_rate": [1, 1]}, "inbound_nodes": [[["in", 0, 0, {}]]]},
  {"name": "bn", "class_name": "BatchNormalization", "config": {"axis": 3, "epsilon": 0.001, "center": true,
     "scale": false}, "inbound_nodes": [[["c1", 0, 0, {}]]]},
  {"name": "p", "class_name": "MaxPooling2D", "config": {"pool_size": [3, 3], "strides": [1, 1],
     "padding": "same"}, "inbound_nodes": [[["c1", 0, 0, {}]]]},
  {"name": "cat", "class_name": "Concatenate", "config": {"axis": -1},
     "inbound_nodes": [[["bn", 0, 0, {}], ["p", 0, 0, {}]]]},
  {"name": "gap", "class_name": "GlobalAveragePooling2D", "config": {}, "inbound_nodes": [[["cat", 0, 0, {}]]]},
  {"name": "out", "class_name": "Dense", "config": {"units": 3, "activation": "softmax", "use_bias": true},
     "inbound_nodes": [[["gap", 0, 0, {}]]]}],
  "input_layers": [["in", 0, 0]], "output_layers": [["out", 0, 0]]}})";

std::string keras3_tensor(const std::string& layer) {
  return R"({"class_name": "__keras_tensor__", "config": {"shape": [null], "dtype": "float32", "keras_history": [")" +
         layer + R"(", 0, 0]}})";
}

// The same graph in Keras 3's format.
std::string keras3_config() {
  return R"({"class_name": "Functional", "config": {"name": "m", "layers": [
  {"name": "in", "class_name": "InputLayer", "config": {"batch_shape": [null, 6, 5, 2]}, "inbound_nodes": []},
  {"name": "c1", "class_name": "Conv2D", "config": {"filters": 4, "kernel_size": [3, 3], "strides": [1, 1],
     "padding": "same", "use_bias": true, "activation": "relu", "data_format": "channels_last",
     "dilation_rate": [1, 1], "groups": 1}, "inbound_nodes": [{"args": [)" +
         keras3_tensor("in") + R"(], "kwargs": {}}]},
  {"name": "bn", "class_name": "BatchNormalization", "config": {"axis": -1, "epsilon": 0.001, "center": true,
     "scale": false}, "inbound_nodes": [{"args": [)" +
         keras3_tensor("c1") + R"(], "kwargs": {}}]},
  {"name": "p", "class_name": "MaxPooling2D", "config": {"pool_size": [3, 3], "strides": [1, 1],
     "padding": "same"}, "inbound_nodes": [{"args": [)" +
         keras3_tensor("c1") + R"(], "kwargs": {}}]},
  {"name": "cat", "class_name": "Concatenate", "config": {"axis": -1},
     "inbound_nodes": [{"args": [[)" +
         keras3_tensor("bn") + "," + keras3_tensor("p") + R"(]], "kwargs": {}}]},
  {"name": "gap", "class_name": "GlobalAveragePooling2D", "config": {},
     "inbound_nodes": [{"args": [)" +
         keras3_tensor("cat") + R"(], "kwargs": {}}]},
  {"name": "out", "class_name": "Dense", "config": {"units": 3, "activation": "softmax", "use_bias": true},
     "inbound_nodes": [{"args": [)" +
         keras3_tensor("gap") + R"(], "kwargs": {}}]}],
  "input_layers": [["in", 0, 0]], "output_layers": [["out", 0, 0]]}})";
}

void fill_random_weights(Model& m, uint32_t seed) {
  for (size_t i = 0; i < m.size(); ++i) {
    for (Weight& w : m.layer(i).weights()) {
      const bool variance = w.name == "moving_variance";
      w.value =
          testing::random_tensor(w.shape, seed++, variance ? 0.5f : -1.0f, variance ? 1.5f : 1.0f);
    }
  }
}

// The same network composed from the ops directly.
Tensor reference_forward(const Model& m, const Tensor& x) {
  auto w = [&](const char* layer, const char* weight) {
    for (const Weight& v : m.layer(m.index_of(layer)).weights())
      if (v.name == weight) return Var(v.value);
    return Var();
  };
  const Var c1 = relu(conv2d(Var(x), w("c1", "kernel"), w("c1", "bias"), {1, 1, Padding::kSame}));
  const Var bn = batch_norm(c1, w("bn", "moving_mean"), w("bn", "moving_variance"), Var(),
                            w("bn", "beta"), 1e-3f);
  const Var p = max_pool2d(c1, {3, 3, 1, 1, Padding::kSame});
  return softmax(dense(global_avg_pool2d(concat_channels({bn, p})), w("out", "kernel"),
                       w("out", "bias")))
      .value();
}

TEST(KerasConfig, BuildsKeras2AndKeras3FunctionalModelsAlike) {
  for (const std::string& text : {std::string(kKeras2Config), keras3_config()}) {
    Model m = model_from_keras_config(text);
    ASSERT_EQ(m.size(), 7u);
    EXPECT_EQ(m.output_shape(m.index_of("cat")), (Shape{-1, 6, 5, 8}));
    EXPECT_EQ(m.output_shape(m.output_index()), (Shape{-1, 3}));
    // conv 3*3*2*4 + 4, bn (no gamma) 3*4, dense 8*3 + 3
    EXPECT_EQ(m.parameter_count(), 76 + 12 + 27);
    EXPECT_EQ(m.layer(m.index_of("bn")).weights().size(), 3u);
    fill_random_weights(m, 1);
    const Tensor x = testing::random_tensor({2, 6, 5, 2}, 99);
    const Model::ForwardResult r = m.forward(x, {{"c1"}, {}});
    EXPECT_TENSOR_NEAR(r.output.value(), reference_forward(m, x), 1e-6f);
    ASSERT_TRUE(r.logits.defined());  // Dense(softmax) hands back its pre-activation
    EXPECT_TENSOR_NEAR(softmax(r.logits).value(), r.output.value(), 1e-7f);
    EXPECT_EQ(r.kept.at("c1").shape(), (Shape{2, 6, 5, 4}));
  }
}

TEST(KerasConfig, SequentialModelsGetAnInputLayer) {
  Model m =
      model_from_keras_config(R"({"class_name": "Sequential", "config": {"name": "s", "layers": [
    {"class_name": "Flatten", "config": {"name": "f", "batch_input_shape": [null, 2, 2, 3]}},
    {"class_name": "Dense", "config": {"name": "d", "units": 2, "activation": "sigmoid"}}]}})");
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m.layer(0).class_name(), std::string("InputLayer"));
  EXPECT_EQ(m.output_shape(2), (Shape{-1, 2}));
}

TEST(KerasConfig, ErrorsNameTheLayerAndTheProblem) {
  auto error_of = [](const std::string& text) {
    try {
      model_from_keras_config(text);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  std::string cfg = kKeras2Config;
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string s = cfg;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  const std::string unknown = error_of(replaced("\"GlobalAveragePooling2D\"", "\"LSTM\""));
  EXPECT_NE(unknown.find("unsupported layer type 'LSTM'"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("layer 'gap'"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("DepthwiseConv2D"), std::string::npos) << unknown;  // the supported list
  const std::string dilated =
      error_of(replaced("\"dilation_rate\": [1, 1]", "\"dilation_rate\": [0, 2]"));
  EXPECT_NE(dilated.find("dilation_rate"), std::string::npos) << dilated;
  const std::string dangling =
      error_of(replaced("[[\"gap\", 0, 0, {}]]", "[[\"nope\", 0, 0, {}]]"));
  EXPECT_NE(dangling.find("out"), std::string::npos) << dangling;
  EXPECT_NE(error_of("{not json").find("not valid JSON"), std::string::npos);
  const std::string act = error_of(replaced("\"softmax\"", "\"sparsemax\""));
  EXPECT_NE(act.find("unsupported activation 'sparsemax'"), std::string::npos) << act;
  EXPECT_NE(act.find("hard_swish"), std::string::npos) << act;  // the supported list
  const std::string shape = error_of(replaced("\"units\": 3", "\"units\": 0"));
  EXPECT_NE(shape.find("units"), std::string::npos) << shape;
}

TEST(KerasConfig, BuildsTheRealNsfwjsModels) {
  Model inception = model_from_keras_config(read_fixture("nsfwjs_inception_v3_config.json"));
  EXPECT_EQ(inception.size(), 318u);
  EXPECT_EQ(inception.output_shape(inception.index_of("mixed10")), (Shape{-1, 8, 8, 2048}));
  EXPECT_EQ(inception.output_shape(inception.index_of("mixed7")), (Shape{-1, 17, 17, 768}));
  EXPECT_EQ(inception.output_shape(inception.output_index()), (Shape{-1, 5}));
  EXPECT_EQ(inception.parameter_count(), 22360869);

  Model mobilenet = model_from_keras_config(read_fixture("nsfwjs_mobilenet_v2_config.json"));
  EXPECT_EQ(mobilenet.size(), 162u);
  EXPECT_EQ(mobilenet.output_shape(mobilenet.index_of("out_relu")), (Shape{-1, 7, 7, 1280}));
  EXPECT_EQ(mobilenet.parameter_count(), 2619461);
}

// The parameter counts above, and each layer's, are those of the published models: the values
// listed in nsfwjs 4.4.0's TF.js weight manifests (tools/reference/manifest_counts.js wrote
// tests/fixtures/nsfwjs_manifest_counts.json from node_modules/nsfwjs), not gaze's own sums.
TEST(KerasConfig, ParameterCountsAreThoseOfTheTfjsManifests) {
  const nlohmann::json manifests =
      nlohmann::json::parse(read_fixture("nsfwjs_manifest_counts.json"));
  EXPECT_EQ(manifests.at("nsfwjs"), "4.4.0");
  const std::vector<std::tuple<std::string, std::string, int64_t>> models = {
      {"inception_v3", "nsfwjs_inception_v3_config.json", 22360869},
      {"mobilenet_v2", "nsfwjs_mobilenet_v2_config.json", 2619461}};
  for (const auto& [key, config, total] : models) {
    SCOPED_TRACE(key);
    const nlohmann::json& manifest = manifests.at("models").at(key);
    EXPECT_EQ(manifest.at("values").get<int64_t>(), total);  // the figure docs/usage.md quotes
    const Model m = model_from_keras_config(read_fixture(config));
    EXPECT_EQ(m.parameter_count(), total);
    size_t with_parameters = 0;
    for (size_t i = 0; i < m.size(); ++i) {
      if (m.layer(i).parameter_count() > 0) ++with_parameters;
    }
    EXPECT_EQ(with_parameters, manifest.at("layers").size());
    for (const auto& [layer, count] : manifest.at("layers").items()) {
      EXPECT_EQ(m.layer(m.index_of(layer)).parameter_count(), count.get<int64_t>()) << layer;
    }
  }
}

}  // namespace
}  // namespace gaze

namespace gaze {
namespace {

// A fine-tuned model: a nested Functional base (holding a nested Sequential head), then a Dense
// layer called twice (shared), then the classifier.
TEST(KerasConfig, NestedModelsAreInlinedAndSharedLayersCalledPerNode) {
  Model m = model_from_keras_config(read_fixture("configs/nested_shared_keras2.json"));
  std::vector<std::string> names;
  for (size_t i = 0; i < m.size(); ++i) names.push_back(m.layer(i).name());
  EXPECT_EQ(names, (std::vector<std::string>{"image", "base/conv1", "base/bn1", "base/head/c2",
                                             "base/head/act", "gap", "shared", "shared@1", "out"}));
  // The nested input is the tensor the outer model passes; the nested output feeds gap.
  EXPECT_EQ(m.inbound(m.index_of("base/conv1")), std::vector<size_t>{m.index_of("image")});
  EXPECT_EQ(m.inbound(m.index_of("gap")), std::vector<size_t>{m.index_of("base/head/act")});
  EXPECT_EQ(m.inbound(m.index_of("shared@1")), std::vector<size_t>{m.index_of("shared")});
  EXPECT_EQ(m.weights_owner(m.index_of("shared@1")), m.index_of("shared"));
  EXPECT_EQ(m.output_index(), m.index_of("out"));

  // The second call computes with the first call's weights.
  for (size_t i = 0; i < m.size(); ++i) {
    if (m.weights_owner(i) != i) continue;
    uint32_t seed = static_cast<uint32_t>(i * 10);
    for (Weight& w : m.layer(i).weights()) {
      const bool variance = w.name == "moving_variance";
      w.value =
          testing::random_tensor(w.shape, seed++, variance ? 0.5f : -1.0f, variance ? 1.5f : 1.0f);
    }
  }
  m.tie_shared_weights();
  const Tensor x = testing::random_tensor({2, 8, 8, 3}, 5);
  const ModelForwardResult r = m.forward(x, {{"shared", "shared@1"}, {}});
  const Tensor& k = m.layer(m.index_of("shared")).weights()[0].value;
  const Tensor& b = m.layer(m.index_of("shared")).weights()[1].value;
  const Tensor& first = r.kept.at("shared").value();
  for (int64_t n = 0; n < 2; ++n) {
    for (int64_t j = 0; j < 4; ++j) {
      double v = b.data()[j];
      for (int64_t i = 0; i < 4; ++i) v += first.data()[n * 4 + i] * k.data()[i * 4 + j];
      EXPECT_NEAR(r.kept.at("shared@1").value().data()[n * 4 + j], std::max(v, 0.0), 1e-5);
    }
  }
}

TEST(KerasConfig, LambdaAndCustomLayersSayWhyTheyCannotRun) {
  const std::string base = R"({"class_name": "Sequential", "config": {"name": "s", "layers": [
      {"class_name": "CLASS", "config": {"name": "odd", "batch_input_shape": [null, 4, 4, 3]}}]}})";
  for (const std::string cls : {"Lambda", "MyCustomBlock"}) {
    std::string text = base;
    text.replace(text.find("CLASS"), 5, cls);
    try {
      model_from_keras_config(text);
      ADD_FAILURE() << "no error for " << cls;
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("layer 'odd'"), std::string::npos) << what;
      EXPECT_NE(what.find(cls), std::string::npos) << what;
      EXPECT_NE(what.find("Python code cannot run"), std::string::npos) << what;
      EXPECT_NE(what.find("gaze layers --supported"), std::string::npos) << what;
      EXPECT_NE(what.find("docs/adding-a-layer.md"), std::string::npos) << what;
    }
  }
}

}  // namespace
}  // namespace gaze
