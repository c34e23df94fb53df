// read_tfjs_model on small synthetic TF.js models written by the test itself: a plain model.json
// with .bin shards, and the same model wrapped the way nsfwjs ships it (model.min.js plus base64
// shard bundles); then on a quantized model and its decode made by TensorFlow.js itself
// (tests/fixtures/tfjs_tiny), which also holds up the test's own tfjs_dequantize. Nothing here
// needs the network or the real nsfwjs package.
#include "weights/tfjs.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "tensor/error.h"

namespace gaze {
namespace {

using Json = nlohmann::ordered_json;
namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// The synthetic model

struct FakeWeight {
  std::string name;
  Shape shape;
  std::string quantization;  // "", "uint8" or "uint16"
  double scale = 0.0;
  double min = 0.0;
  std::vector<float> floats;        // float32 weights
  std::vector<uint32_t> quantized;  // uint8 / uint16 weights
};

struct FakeModel {
  Json model_config;
  std::vector<FakeWeight> weights;  // manifest order: sorted by name, as the TF.js converter does
};

// What TF.js computes: float32(q * scale + min) in doubles, the product rounded before the sum
// (volatile: no fused multiply-add).
float tfjs_dequantize(uint32_t q, double scale, double min) {
  volatile double product = static_cast<double>(q) * scale;
  return static_cast<float>(product + min);
}

std::vector<float> expected_values(const FakeWeight& w) {
  if (w.quantization.empty()) return w.floats;
  std::vector<float> values;
  for (uint32_t q : w.quantized) values.push_back(tfjs_dequantize(q, w.scale, w.min));
  return values;
}

int64_t count_of(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

FakeWeight float_weight(std::string name, Shape shape, uint32_t seed) {
  FakeWeight w;
  w.name = std::move(name);
  w.shape = std::move(shape);
  for (int64_t i = 0; i < count_of(w.shape); ++i) {
    // Values with full 24-bit mantissas, both signs, several magnitudes.
    const uint32_t h = (static_cast<uint32_t>(i) + seed) * 2654435761u;
    w.floats.push_back((static_cast<float>(h % 2000001) - 1e6f) * 1.2345678e-7f * (1 + h % 3));
  }
  return w;
}

FakeWeight quantized_weight(std::string name, Shape shape, std::string dtype, double scale,
                            double min, uint32_t seed) {
  FakeWeight w;
  w.name = std::move(name);
  w.shape = std::move(shape);
  w.quantization = std::move(dtype);
  w.scale = scale;
  w.min = min;
  const uint32_t levels = w.quantization == "uint8" ? 256 : 65536;
  for (int64_t i = 0; i < count_of(w.shape); ++i) {
    w.quantized.push_back(((static_cast<uint32_t>(i) + seed) * 2654435761u) % levels);
  }
  w.quantized[0] = 0;  // the ends of the range
  if (w.quantized.size() > 1) w.quantized[1] = levels - 1;
  return w;
}

// Input [3, 3, 2] -> Conv2D(3, 2x2) -> BatchNormalization -> Activation -> Flatten -> Dense(2),
// written as Keras 2.2.4 writes it. Config order differs from the manifest's name order
// (batch_normalization_1 sorts before conv2d_1).
constexpr const char* kModelConfig = R"({"class_name": "Model", "config": {
  "name": "model_1",
  "layers": [
    {"name": "input_1", "class_name": "InputLayer", "config": {
       "batch_input_shape": [null, 3, 3, 2], "dtype": "float32", "sparse": false,
       "name": "input_1"},
     "inbound_nodes": []},
    {"name": "conv2d_1", "class_name": "Conv2D", "config": {
       "name": "conv2d_1", "trainable": true, "filters": 3, "kernel_size": [2, 2],
       "strides": [1, 1], "padding": "valid", "data_format": "channels_last",
       "dilation_rate": [1, 1], "activation": "linear", "use_bias": true,
       "bias_initializer": {"class_name": "Constant", "config": {"value": 1.6788238754359384e-14}},
       "kernel_regularizer": null},
     "inbound_nodes": [[["input_1", 0, 0, {}]]]},
    {"name": "batch_normalization_1", "class_name": "BatchNormalization", "config": {
       "name": "batch_normalization_1", "axis": 3, "momentum": 0.99, "epsilon": 0.001,
       "center": true, "scale": true},
     "inbound_nodes": [[["conv2d_1", 0, 0, {}]]]},
    {"name": "activation_1", "class_name": "Activation", "config": {
       "name": "activation_1", "activation": "relu"},
     "inbound_nodes": [[["batch_normalization_1", 0, 0, {}]]]},
    {"name": "flatten_1", "class_name": "Flatten", "config": {
       "name": "flatten_1", "data_format": "channels_last"},
     "inbound_nodes": [[["activation_1", 0, 0, {}]]]},
    {"name": "dense_1", "class_name": "Dense", "config": {
       "name": "dense_1", "units": 2, "activation": "softmax", "use_bias": true,
       "bias_constraint": null},
     "inbound_nodes": [[["flatten_1", 0, 0, {}]]]}
  ],
  "input_layers": [["input_1", 0, 0]],
  "output_layers": [["dense_1", 0, 0]]}})";

// nsfwjs InceptionV3's batch_normalization_1/beta quantization: q = 65 is its zero point, which
// TF.js maps to exactly 0 (a fused multiply-add would give 4.5e-17).
constexpr double kZeroScale = 0.022262044981414198, kZeroMin = -1.4470329237919228;
constexpr uint32_t kZeroPoint = 65;

FakeModel sample_model() {
  FakeModel model;
  model.model_config = Json::parse(kModelConfig);

  // Scale and min as the real nsfwjs files have them (not exactly representable products).
  const double scale8 = 0.00384903024224674, min8 = -0.5889016270637512;
  model.weights = {
      float_weight("batch_normalization_1/beta", {3}, 1),
      quantized_weight("batch_normalization_1/gamma", {3}, "uint16", 3.0517578125e-05 / 3, 0.25, 2),
      quantized_weight("batch_normalization_1/moving_mean", {3}, "uint8", scale8, min8, 3),
      float_weight("batch_normalization_1/moving_variance", {3}, 4),
      quantized_weight("conv2d_1/bias", {3}, "uint8", 0.0123, -1.0 / 3, 5),
      float_weight("conv2d_1/kernel", {2, 2, 2, 3}, 6),
      float_weight("dense_1/bias", {2}, 7),
      quantized_weight("dense_1/kernel", {12, 2}, "uint8", kZeroScale, kZeroMin, 8),
  };
  model.weights.back().quantized[2] = kZeroPoint;
  return model;
}

// ---------------------------------------------------------------------------------------------
// Writing it as TF.js does

std::vector<uint8_t> weight_bytes(const FakeWeight& w) {
  std::vector<uint8_t> bytes;
  if (w.quantization.empty()) {
    for (float f : w.floats) {
      uint32_t bits;
      std::memcpy(&bits, &f, 4);
      for (int b = 0; b < 4; ++b) bytes.push_back(static_cast<uint8_t>(bits >> (8 * b)));
    }
    return bytes;
  }
  for (uint32_t q : w.quantized) {
    bytes.push_back(static_cast<uint8_t>(q));
    if (w.quantization == "uint16") bytes.push_back(static_cast<uint8_t>(q >> 8));
  }
  return bytes;
}

std::vector<uint8_t> all_weight_bytes(const FakeModel& model) {
  std::vector<uint8_t> bytes;
  for (const FakeWeight& w : model.weights) {
    const std::vector<uint8_t> b = weight_bytes(w);
    bytes.insert(bytes.end(), b.begin(), b.end());
  }
  return bytes;
}

Json manifest_entry(const FakeWeight& w) {
  Json entry = Json::object();
  entry["name"] = w.name;
  entry["shape"] = w.shape;
  entry["dtype"] = "float32";
  if (!w.quantization.empty()) {
    entry["quantization"] = {{"min", w.min}, {"scale", w.scale}, {"dtype", w.quantization}};
  }
  return entry;
}

Json model_object(const FakeModel& model, const std::vector<std::string>& paths) {
  Json topology = Json::object();
  topology["keras_version"] = "2.2.4";
  topology["backend"] = "tensorflow";
  topology["model_config"] = model.model_config;
  topology["training_config"] = Json::parse(R"({"optimizer_config": {"class_name": "SGD",
      "config": {"lr": 9e-7, "nesterov": false}}, "loss": "categorical_crossentropy",
      "metric:0": 0.5})");
  Json group = Json::object();
  group["paths"] = paths;
  group["weights"] = Json::array();
  for (const FakeWeight& w : model.weights) group["weights"].push_back(manifest_entry(w));
  Json root = Json::object();
  root["modelTopology"] = std::move(topology);
  root["weightsManifest"] = Json::array({group});
  return root;
}

void write_file(const fs::path& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  ASSERT_TRUE(out.good()) << path;
}

std::string as_text(const std::vector<uint8_t>& bytes) {
  return {bytes.begin(), bytes.end()};
}

// The bytes split into two shards at `split` (mid-weight, as TF.js's 4 MB shards fall).
std::pair<std::string, std::string> split_shards(const FakeModel& model, size_t split) {
  const std::string bytes = as_text(all_weight_bytes(model));
  split = std::min(split, bytes.size());
  return {bytes.substr(0, split), bytes.substr(split)};
}

constexpr size_t kSplit = 102;  // mid-value in conv2d_1/kernel (bytes 36..131)

fs::path write_model_json(const fs::path& dir, const FakeModel& model) {
  Json root = model_object(model, {"group1-shard1of2.bin", "group1-shard2of2.bin"});
  root["format"] = "layers-model";
  root["generatedBy"] = "keras v2.2.4";
  const auto [first, second] = split_shards(model, kSplit);
  write_file(dir / "group1-shard1of2.bin", first);
  write_file(dir / "group1-shard2of2.bin", second);
  write_file(dir / "model.json", root.dump(2));
  return dir / "model.json";
}

// --- the nsfwjs packaging

// A number as terser writes it: ".5" for 0.5, "16788238754359384e-30" for 1.6788238754359384e-14.
std::string terser_number(const Json& number) {
  std::string text = number.dump();
  if (!number.is_number_float()) return text;
  std::string sign;
  if (text[0] == '-') {
    sign = "-";
    text.erase(0, 1);
  }
  const size_t e = text.find_first_of("eE");
  const std::string mantissa = text.substr(0, e);
  const size_t point = mantissa.find('.');
  std::string integer = mantissa.substr(0, point);
  std::string fraction = point == std::string::npos ? "" : mantissa.substr(point + 1);
  if (fraction == "0") fraction.clear();
  if (e != std::string::npos) {
    const int exponent = std::stoi(text.substr(e + 1)) - static_cast<int>(fraction.size());
    std::string digits = integer + fraction;
    digits.erase(0, std::min(digits.find_first_not_of('0'), digits.size() - 1));
    return sign + digits + "e" + std::to_string(exponent);
  }
  if (integer == "0" && !fraction.empty()) integer.clear();
  return sign + integer + (fraction.empty() ? "" : "." + fraction);
}

bool is_identifier(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '$') return false;
  }
  return true;
}

// The JavaScript object literal terser makes of a JSON value: unquoted keys, !0 / !1.
std::string js_literal(const Json& value) {
  if (value.is_boolean()) return value.get<bool>() ? "!0" : "!1";
  if (value.is_number()) return terser_number(value);
  if (value.is_array()) {
    std::string s = "[";
    for (const Json& item : value) s += (s.size() > 1 ? "," : "") + js_literal(item);
    return s + "]";
  }
  if (value.is_object()) {
    std::string s = "{";
    for (const auto& [key, item] : value.items()) {
      if (s.size() > 1) s += ",";
      s += (is_identifier(key) ? key : Json(key).dump()) + ":" + js_literal(item);
    }
    return s + "}";
  }
  return value.dump();  // strings and null
}

// A browserify standalone UMD bundle as nsfwjs ships it; `params` names the module function's
// parameters, which the minifier picks differently in every file.
std::string browserify_bundle(const std::string& global, const std::string& params,
                              const std::string& payload) {
  const std::string module = params.substr(2, 1);
  return R"(!function(a){if("object"==typeof exports&&"undefined"!=typeof module)module.exports=a();else if("function"==typeof define&&define.amd)define([],a);else{("undefined"!=typeof window?window:"undefined"!=typeof global?global:"undefined"!=typeof self?self:this).)" +
         global +
         R"(=a()}}(function(){return function a(n,i,e){function t(o,s){if(!i[o]){if(!n[o]){var _="function"==typeof require&&require;if(!s&&_)return _(o,!0);if(l)return l(o,!0);var r=new Error("Cannot find module '"+o+"'");throw r.code="MODULE_NOT_FOUND",r}var c=i[o]={exports:{}};n[o][0].call(c.exports,function(a){return t(n[o][1][a]||a)},c,c.exports,a,n,i,e)}return i[o].exports}for(var l="function"==typeof require&&require,o=0;o<e.length;o++)t(e[o]);return t}({1:[function()" +
         params + "){" + module + ".exports=" + payload + "},{}]},{},[1])(1)});";
}

std::string base64(std::string_view bytes) {
  constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t chunk = 0;
    for (size_t k = 0; k < 3; ++k) {
      chunk = (chunk << 8) | (i + k < bytes.size() ? static_cast<uint8_t>(bytes[i + k]) : 0u);
    }
    const size_t kept = std::min<size_t>(bytes.size() - i, 3) + 1;
    for (size_t k = 0; k < 4; ++k) out += k < kept ? kAlphabet[(chunk >> (18 - 6 * k)) & 63] : '=';
  }
  return out;
}

fs::path write_bundle(const fs::path& dir, const FakeModel& model) {
  const Json root = model_object(model, {"group1-shard1of2", "group1-shard2of2"});
  const auto [first, second] = split_shards(model, kSplit);
  write_file(dir / "group1-shard1of2.min.js",
             browserify_bundle("group1_shard1of2", "d,h,Z", '"' + base64(first) + '"'));
  write_file(dir / "group1-shard2of2.min.js",
             browserify_bundle("group1_shard2of2", "e,h,n", '"' + base64(second) + '"'));
  write_file(dir / "model.min.js", browserify_bundle("model", "a,n,i", js_literal(root)));
  return dir / "model.min.js";
}

// ---------------------------------------------------------------------------------------------
// Checks

class TfjsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    dir_ =
        fs::temp_directory_path() / ("gaze_tfjs_test_" + std::to_string(::getpid()) + "_" + test);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  FakeModel model_ = sample_model();
};

void expect_same_model(const KerasFile& file, const FakeModel& model) {
  // Every config layer in config order; weights in Keras order with Keras names.
  const std::vector<std::pair<std::string, std::vector<std::string>>> expected = {
      {"input_1", {}},
      {"conv2d_1", {"conv2d_1/kernel:0", "conv2d_1/bias:0"}},
      {"batch_normalization_1",
       {"batch_normalization_1/gamma:0", "batch_normalization_1/beta:0",
        "batch_normalization_1/moving_mean:0", "batch_normalization_1/moving_variance:0"}},
      {"activation_1", {}},
      {"flatten_1", {}},
      {"dense_1", {"dense_1/kernel:0", "dense_1/bias:0"}},
  };
  ASSERT_EQ(file.layers.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(file.layers[i].layer, expected[i].first);
    std::vector<std::string> names;
    for (const NamedTensor& w : file.layers[i].weights) names.push_back(w.name);
    EXPECT_EQ(names, expected[i].second) << expected[i].first;
  }

  for (const FakeWeight& fake : model.weights) {
    const NamedTensor* found = nullptr;
    for (const LayerWeights& l : file.layers) {
      for (const NamedTensor& w : l.weights) {
        if (w.name == fake.name + ":0") found = &w;
      }
    }
    ASSERT_NE(found, nullptr) << fake.name;
    EXPECT_EQ(found->value.shape(), fake.shape) << fake.name;
    const std::vector<float> want = expected_values(fake);
    const std::vector<float> got(found->value.values().begin(), found->value.values().end());
    EXPECT_EQ(got, want) << fake.name;  // exact: bit-for-bit what TF.js computes
  }

  EXPECT_EQ(Json::parse(file.model_config), model.model_config);
  EXPECT_EQ(file.attributes.at("keras_version"), "2.2.4");
  EXPECT_EQ(file.attributes.at("backend"), "tensorflow");
}

// The message of the gaze::Error `read` throws; a test failure when it throws none.
std::string error_of(const std::function<void()>& read) {
  try {
    read();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no gaze::Error thrown";
  return "";
}

std::string error_reading(const fs::path& path) {
  return error_of([&] { read_tfjs_model(path.string()); });
}

#define EXPECT_STARTS_WITH(text, prefix) EXPECT_TRUE((text).starts_with(prefix)) << (text)
#define EXPECT_CONTAINS(text, part) \
  EXPECT_NE((text).find(part), std::string::npos) << (text) << "\n  lacks: " << (part)

TEST_F(TfjsTest, ModelJsonGivesKerasLayersWeightsAndConfig) {
  const fs::path path = write_model_json(dir_, model_);
  expect_same_model(read_tfjs_model(path.string()), model_);
}

TEST_F(TfjsTest, NsfwjsBundleGivesTheSameModel) {
  const fs::path path = write_bundle(dir_, model_);
  expect_same_model(read_tfjs_model(path.string()), model_);
}

TEST_F(TfjsTest, ZeroPointDequantizesToExactlyZero) {
  const KerasFile file = read_tfjs_model(write_model_json(dir_, model_).string());
  const Tensor& dense_kernel = file.layers[5].weights[0].value;
  ASSERT_EQ(file.layers[5].weights[0].name, "dense_1/kernel:0");
  uint32_t bits = 1;
  std::memcpy(&bits, &dense_kernel.data()[2], 4);
  EXPECT_EQ(bits, 0u) << dense_kernel.data()[2];  // +0.0f
}

// The number forms terser writes, as literal text in a bundle (not made by terser_number): gaze's
// JavaScript reader must give the doubles JavaScript gives.
TEST_F(TfjsTest, BundleNumbersInTerserFormsAreReadExactly) {
  Json root = model_object(model_, {"group1-shard1of2", "group1-shard2of2"});
  root["modelTopology"]["model_config"]["config"]["layers"][1]["config"]["numbers"] = "NUMBERS";
  std::string payload = js_literal(root);
  const size_t at = payload.find("\"NUMBERS\"");
  ASSERT_NE(at, std::string::npos);
  payload.replace(at, 9, "[.5,-.5889016270637512,16788238754359384e-30,9e-7,3,1e3]");
  write_bundle(dir_, model_);  // the shards
  write_file(dir_ / "model.min.js", browserify_bundle("model", "a,n,i", payload));
  const KerasFile file = read_tfjs_model((dir_ / "model.min.js").string());
  const Json numbers = Json::parse(file.model_config)["config"]["layers"][1]["config"]["numbers"];
  const std::vector<double> expected = {
      0.5, -0.5889016270637512, 1.6788238754359384e-14, 9e-7, 3.0, 1000.0};
  ASSERT_EQ(numbers.size(), expected.size()) << numbers;
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_EQ(numbers[i].get<double>(), expected[i]) << i;
}

TEST_F(TfjsTest, ModelTopologyMayBeTheKerasConfigItself) {
  // tfjs-layers' model.save() writes modelTopology = {class_name, config, keras_version, backend}.
  Json root = model_object(model_, {"group1-shard1of2.bin", "group1-shard2of2.bin"});
  Json topology = model_.model_config;
  topology["keras_version"] = "2.2.4";
  topology["backend"] = "tensorflow";
  root["modelTopology"] = topology;
  write_model_json(dir_, model_);
  write_file(dir_ / "model.json", root.dump());
  expect_same_model(read_tfjs_model((dir_ / "model.json").string()), model_);
}

TEST_F(TfjsTest, MissingModelFileNamesThePath) {
  const fs::path path = dir_ / "absent" / "model.json";
  EXPECT_STARTS_WITH(error_reading(path), path.string());
}

TEST_F(TfjsTest, MissingShardIsAnError) {
  const fs::path path = write_model_json(dir_, model_);
  fs::remove(dir_ / "group1-shard2of2.bin");
  const std::string message = error_reading(path);
  EXPECT_STARTS_WITH(message, path.string());
  EXPECT_CONTAINS(message, "group1-shard2of2.bin");
}

TEST_F(TfjsTest, MissingBundleShardIsAnError) {
  const fs::path path = write_bundle(dir_, model_);
  fs::remove(dir_ / "group1-shard1of2.min.js");
  const std::string message = error_reading(path);
  EXPECT_STARTS_WITH(message, path.string());
  EXPECT_CONTAINS(message, "group1-shard1of2.min.js");
}

TEST_F(TfjsTest, ShortShardIsAnError) {
  const fs::path path = write_model_json(dir_, model_);
  const auto [first, second] = split_shards(model_, kSplit);
  write_file(dir_ / "group1-shard2of2.bin", second.substr(0, second.size() - 1));
  const size_t total = first.size() + second.size();
  const std::string message = error_reading(path);
  EXPECT_STARTS_WITH(message, path.string());
  EXPECT_CONTAINS(message, "weights need " + std::to_string(total) + " bytes, shards hold " +
                               std::to_string(total - 1));
}

// Shards larger than the weights they hold are refused by their size before any is read: a
// 1 GiB sparse file is never loaded.
TEST_F(TfjsTest, OversizedShardsAreRefusedBeforeTheyAreRead) {
  const auto [first, second] = split_shards(model_, kSplit);
  const size_t total = first.size() + second.size();
  {
    const fs::path path = write_model_json(dir_, model_);
    write_file(dir_ / "group1-shard2of2.bin", second + "x");
    const std::string message = error_reading(path);
    EXPECT_STARTS_WITH(message, path.string());
    EXPECT_CONTAINS(message, "group1-shard2of2.bin makes the shards " + std::to_string(total + 1) +
                                 " bytes, more than the " + std::to_string(total) + " bytes");
  }
  for (const bool bundle : {false, true}) {
    const fs::path path = bundle ? write_bundle(dir_, model_) : write_model_json(dir_, model_);
    const fs::path shard = dir_ / (bundle ? "group1-shard2of2.min.js" : "group1-shard2of2.bin");
    fs::resize_file(shard, uintmax_t{1} << 30);
    const std::string message = error_reading(path);
    EXPECT_CONTAINS(message, shard.filename().string() + " makes the shards ") << bundle;
    EXPECT_CONTAINS(message, "more than the " + std::to_string(total) + " bytes") << bundle;
  }
  // A bundle's base64 and wrapper are within the limit (the other tests read whole bundles).
}

TEST_F(TfjsTest, BadBase64IsAnError) {
  const fs::path path = write_bundle(dir_, model_);
  const auto [first, second] = split_shards(model_, kSplit);
  std::string text = base64(second);
  text[5] = '*';
  write_file(dir_ / "group1-shard2of2.min.js",
             browserify_bundle("group1_shard2of2", "d,h,Z", '"' + text + '"'));
  const std::string message = error_reading(path);
  EXPECT_STARTS_WITH(message, path.string());
  EXPECT_CONTAINS(message, "base64");
}

TEST_F(TfjsTest, ManifestWeightMissingFromTheModelIsAnError) {
  model_.weights.push_back(float_weight("dense_9/kernel", {2, 2}, 9));
  const fs::path path = write_model_json(dir_, model_);
  const std::string message = error_reading(path);
  EXPECT_STARTS_WITH(message, path.string());
  EXPECT_CONTAINS(message, "'dense_9/kernel'");
}

TEST_F(TfjsTest, ModelWeightMissingFromTheManifestIsAnError) {
  std::erase_if(model_.weights, [](const FakeWeight& w) { return w.name == "conv2d_1/kernel"; });
  const fs::path path = write_model_json(dir_, model_);
  const std::string message = error_reading(path);
  EXPECT_STARTS_WITH(message, path.string());
  EXPECT_CONTAINS(message, "'conv2d_1/kernel'");
}

TEST_F(TfjsTest, BatchNormWithoutScaleHasNoGamma) {
  // nsfwjs' InceptionV3 has scale: false: beta, moving_mean, moving_variance only.
  model_.model_config["config"]["layers"][2]["config"]["scale"] = false;
  std::erase_if(model_.weights, [](const FakeWeight& w) { return w.name.ends_with("/gamma"); });
  const fs::path path = write_model_json(dir_, model_);
  const KerasFile file = read_tfjs_model(path.string());
  std::vector<std::string> names;
  for (const NamedTensor& w : file.layers[2].weights) names.push_back(w.name);
  EXPECT_EQ(names, (std::vector<std::string>{"batch_normalization_1/beta:0",
                                             "batch_normalization_1/moving_mean:0",
                                             "batch_normalization_1/moving_variance:0"}));
}

TEST_F(TfjsTest, GarbageModelFileIsAnError) {
  const fs::path path = dir_ / "model.json";
  write_file(path, "this is not a model\n");
  EXPECT_STARTS_WITH(error_reading(path), path.string());
  write_file(path, "{\"modelTopology\": [1, 2,");
  EXPECT_STARTS_WITH(error_reading(path), path.string());
}

TEST_F(TfjsTest, BundleWithUnsupportedJavaScriptIsAnError) {
  const fs::path path = dir_ / "model.min.js";
  for (const char* payload : {"{a:void 0}", "{a:'x'}", "{a:0x10}", "{a:1+2}", "{a:NaN}"}) {
    write_file(path, browserify_bundle("model", "a,n,i", payload));
    const std::string message = error_reading(path);
    EXPECT_STARTS_WITH(message, path.string());
    EXPECT_CONTAINS(message, "cannot read the model object");
  }
}

TEST_F(TfjsTest, UnsupportedDtypesAreErrors) {
  Json root = model_object(model_, {"group1-shard1of2.bin", "group1-shard2of2.bin"});
  write_model_json(dir_, model_);
  const fs::path path = dir_ / "model.json";

  // int32 is read (a Normalization's count; see the efficientnet_b0 family), other types not.
  Json string_weight = root;
  string_weight["weightsManifest"][0]["weights"][0]["dtype"] = "string";
  write_file(path, string_weight.dump());
  EXPECT_CONTAINS(error_reading(path), "\"string\"");

  Json half = root;
  half["weightsManifest"][0]["weights"][1]["quantization"] = {{"dtype", "float16"}};
  write_file(path, half.dump());
  EXPECT_CONTAINS(error_reading(path), "\"float16\"");
}

// A nested model listed without its config (found by fuzz/tfjs_fuzz.cpp: the lookup read past
// the JSON object) is one error naming what is missing.
TEST_F(TfjsTest, NestedModelWithoutAConfigIsAnError) {
  const fs::path path = dir_ / "model.json";
  write_file(path, R"({"format": "layers-model", "modelTopology": {"model_config": {
      "class_name": "Functional", "config": {"layers": [
        {"class_name": "Sequential", "name": "inner"}]}}}, "weightsManifest": []})");
  const std::string message = error_reading(path);
  EXPECT_STARTS_WITH(message, path.string());
  EXPECT_CONTAINS(message, "nested model");
  EXPECT_CONTAINS(message, "has no config");
}

TEST_F(TfjsTest, GraphModelIsRefused) {
  const fs::path path = dir_ / "model.json";
  write_file(path, R"({"format": "graph-model", "modelTopology": {"node": []},
                       "weightsManifest": []})");
  const std::string message = error_reading(path);
  EXPECT_STARTS_WITH(message, path.string());
  EXPECT_CONTAINS(message, "graph model");
}

// ---------------------------------------------------------------------------------------------
// A quantized model and its decode, both from TensorFlow.js (tests/fixtures/tfjs_tiny, written by
// tools/reference/tiny_model.js): quantized.json holds uint8/uint16 weights (TF.js 4.22 cannot
// quantize when saving, so the script quantizes as the tensorflowjs converter does), and
// quantized_decoded.json is that model loaded by TF.js's tf.loadLayersModel, whose
// io.decodeWeights dequantizes it, and saved again by TF.js as float32.

std::string tiny_fixture(const std::string& name) {
  return std::string(GAZE_SOURCE_DIR) + "/tests/fixtures/tfjs_tiny/" + name;
}

std::vector<const NamedTensor*> all_weights(const KerasFile& file) {
  std::vector<const NamedTensor*> weights;
  for (const LayerWeights& layer : file.layers) {
    for (const NamedTensor& w : layer.weights) weights.push_back(&w);
  }
  return weights;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() &&
         std::memcmp(a.data(), b.data(), static_cast<size_t>(a.size()) * sizeof(float)) == 0;
}

TEST(TfjsFixture, QuantizedWeightsAreWhatTfjsDecodes) {
  const KerasFile quantized = read_tfjs_model(tiny_fixture("quantized.json"));
  const KerasFile decoded = read_tfjs_model(tiny_fixture("quantized_decoded.json"));
  const auto got = all_weights(quantized), want = all_weights(decoded);
  ASSERT_EQ(got.size(), want.size());
  ASSERT_EQ(got.size(), 18u);
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i]->name, want[i]->name);
    EXPECT_TRUE(same_bits(got[i]->value, want[i]->value)) << got[i]->name;
  }
}

// The synthetic models above expect tfjs_dequantize's values; here that helper meets TF.js's own
// decode of every quantized weight in the fixture, value by value, bit for bit.
TEST(TfjsFixture, TheTestsDequantizeIsTfjsDecode) {
  std::ifstream manifest_file(tiny_fixture("quantized.json"));
  const Json manifest = Json::parse(manifest_file)["weightsManifest"][0];
  ASSERT_EQ(manifest["paths"].size(), 1u);
  std::ifstream bin(tiny_fixture(manifest["paths"][0].get<std::string>()), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(bin)), std::istreambuf_iterator<char>());
  const KerasFile decoded = read_tfjs_model(tiny_fixture("quantized_decoded.json"));
  std::map<std::string, const Tensor*> tfjs;
  for (const NamedTensor* w : all_weights(decoded)) tfjs[w->name] = &w->value;

  size_t offset = 0, checked = 0, zero_points = 0;
  std::set<std::string> dtypes;
  for (const Json& spec : manifest["weights"]) {
    const std::string name = spec["name"].get<std::string>();
    int64_t count = 1;
    for (const Json& d : spec["shape"]) count *= d.get<int64_t>();
    ASSERT_TRUE(tfjs.contains(name + ":0")) << name;
    const Tensor& want = *tfjs[name + ":0"];
    ASSERT_EQ(want.size(), count) << name;
    if (!spec.contains("quantization")) {
      offset += static_cast<size_t>(count) * 4;
      continue;
    }
    const Json& q = spec["quantization"];
    const std::string dtype = q["dtype"].get<std::string>();
    dtypes.insert(dtype);
    const size_t width = dtype == "uint8" ? 1 : 2;
    for (int64_t i = 0; i < count; ++i) {
      ASSERT_LE(offset + width, bytes.size());
      uint32_t level = static_cast<uint8_t>(bytes[offset]);
      if (width == 2) level |= static_cast<uint32_t>(static_cast<uint8_t>(bytes[offset + 1])) << 8;
      offset += width;
      const float mine = tfjs_dequantize(level, q["scale"].get<double>(), q["min"].get<double>());
      uint32_t a = 0, b = 0;
      std::memcpy(&a, &mine, 4);
      std::memcpy(&b, &want.data()[i], 4);
      EXPECT_EQ(a, b) << name << "[" << i << "] q=" << level << ": " << mine << " vs TF.js "
                      << want.data()[i];
      if (level == 65 && q["scale"].get<double>() == kZeroScale) zero_points += (b == 0);
      ++checked;
    }
  }
  EXPECT_EQ(offset, bytes.size());
  EXPECT_EQ(dtypes, (std::set<std::string>{"uint8", "uint16"}));
  EXPECT_GT(checked, 3000u);
  EXPECT_GE(zero_points, 1u) << "nsfwjs's zero point, decoded by TF.js to exactly +0";
}

}  // namespace
}  // namespace gaze
