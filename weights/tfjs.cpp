#include "weights/tfjs.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "tensor/error.h"
#include "tensor/json_limits.h"

namespace gaze {
namespace {

// ordered_json keeps the key order of the source, so the written model_config reads like the
// original.
using Json = nlohmann::ordered_json;
namespace fs = std::filesystem;

static_assert(std::endian::native == std::endian::little,
              "TF.js weight shards are little-endian and are copied as they are");

// ---------------------------------------------------------------------------------------------
// Small text helpers

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_identifier_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
}
bool is_identifier_char(char c) {
  return is_identifier_start(c) || is_digit(c);
}
bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// `c` as it should appear in an error message.
std::string printable(char c) {
  if (c >= 0x20 && c < 0x7f) return std::string(1, c);
  std::array<char, 8> hex{};
  std::snprintf(hex.data(), hex.size(), "\\x%02x", static_cast<unsigned char>(c));
  return hex.data();
}

// Up to `length` characters of `text` from `pos`, for error messages.
std::string excerpt(std::string_view text, size_t pos, size_t length = 32) {
  std::string out;
  for (char c : text.substr(std::min(pos, text.size()), length)) out += printable(c);
  return out;
}

// The whole file, or nullopt when it cannot be read (missing, a directory, unreadable).
std::optional<std::string> read_file(const fs::path& path) {
  std::error_code error;
  if (!fs::is_regular_file(path, error)) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) return std::nullopt;
  in.seekg(0, std::ios::beg);
  std::string data(static_cast<size_t>(size), '\0');
  if (!in.read(data.data(), size)) return std::nullopt;
  return data;
}

std::string why_unreadable(const fs::path& path) {
  std::error_code error;
  if (!fs::exists(path, error)) return "no such file";
  if (fs::is_directory(path, error)) return "is a directory";
  return "cannot read it";
}

// ---------------------------------------------------------------------------------------------
// nsfwjs bundles: terser-minified browserify "standalone" UMD modules. The exported value sits
// between the first module's `b.exports=` and a fixed tail.

constexpr std::string_view kBundleTail = "},{}]},{},[1])(1)});";

bool take(std::string_view text, size_t& pos, std::string_view literal) {
  if (text.substr(std::min(pos, text.size()), literal.size()) != literal) return false;
  pos += literal.size();
  return true;
}

std::string_view take_identifier(std::string_view text, size_t& pos) {
  const size_t start = pos;
  if (pos < text.size() && is_identifier_start(text[pos])) {
    while (pos < text.size() && is_identifier_char(text[pos])) ++pos;
  }
  return text.substr(start, pos - start);
}

// The offset right after `{1:[function(r,m,e){m.exports=`, whatever the minifier named the three
// parameters (they differ from file to file). The UMD head before it has its own
// `module.exports=`, which is not the payload, hence the full pattern.
std::optional<size_t> bundle_payload_start(std::string_view text) {
  constexpr std::string_view kModuleHead = "{1:[function(";
  for (size_t at = text.find(kModuleHead); at != std::string_view::npos;
       at = text.find(kModuleHead, at + 1)) {
    size_t pos = at + kModuleHead.size();
    if (take_identifier(text, pos).empty() || !take(text, pos, ",")) continue;
    const std::string_view module = take_identifier(text, pos);
    if (module.empty() || !take(text, pos, ",")) continue;
    if (take_identifier(text, pos).empty() || !take(text, pos, "){")) continue;
    if (take(text, pos, module) && take(text, pos, ".exports=")) return pos;
  }
  return std::nullopt;
}

// The exported value's source text; throws Error("<where>: ...") when `text` is no such bundle.
std::string_view bundle_payload(std::string_view text, const std::string& where) {
  const std::optional<size_t> start = bundle_payload_start(text);
  if (!start) {
    throw Error(where + ": not an nsfwjs bundle (no browserify module '{1:[function(...)'");
  }
  while (!text.empty() && is_blank(text.back())) text.remove_suffix(1);
  if (!text.ends_with(kBundleTail) || text.size() - kBundleTail.size() < *start) {
    throw Error(where + ": the nsfwjs bundle does not end with '" + std::string(kBundleTail) + "'");
  }
  return text.substr(*start, text.size() - kBundleTail.size() - *start);
}

// ---------------------------------------------------------------------------------------------
// Base64, as Node's Buffer writes it: the standard alphabet, '=' padding, no line breaks.

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::vector<uint8_t> decode_base64(std::string_view text, const std::string& where) {
  if (text.size() % 4 != 0) {
    throw Error(where + ": bad base64: its length " + std::to_string(text.size()) +
                " is not a multiple of 4");
  }
  size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') {
    ++padding;
  }
  std::vector<uint8_t> bytes;
  bytes.reserve(text.size() / 4 * 3);
  uint32_t bits = 0;
  int bit_count = 0;
  for (size_t i = 0; i + padding < text.size(); ++i) {
    const int value = base64_value(text[i]);
    if (value < 0) {
      throw Error(where + ": bad base64: unexpected '" + printable(text[i]) + "' at offset " +
                  std::to_string(i));
    }
    bits = ((bits << 6) | static_cast<uint32_t>(value)) & 0xffffffu;
    bit_count += 6;
    if (bit_count >= 8) {
      bit_count -= 8;
      bytes.push_back(static_cast<uint8_t>(bits >> bit_count));
    }
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// JavaScript object literal -> JSON text.
//
// The subset terser writes for a JSON-like object: unquoted identifier keys, double-quoted
// strings with JSON escapes, !0 / !1 for true / false, null, and numbers without a leading zero
// (.5, -.5) or with an integer mantissa (16788238754359384e-30). Anything else (single quotes,
// undefined, NaN, expressions, comments) is rejected with its offset, never guessed at. The
// structure itself is left for the JSON parser to check.
class JsLiteralToJson {
 public:
  JsLiteralToJson(std::string_view source, const std::string& where)
      : src_(source), where_(where) {}

  std::string convert() {
    out_.reserve(src_.size() + src_.size() / 8);
    while (pos_ < src_.size()) {
      const char c = src_[pos_];
      if (is_blank(c)) {
        ++pos_;
      } else if (std::string_view("{}[]:,").find(c) != std::string_view::npos) {
        out_ += c;
        ++pos_;
      } else if (c == '"') {
        copy_string();
      } else if (c == '!') {
        boolean();
      } else if (c == '-' || c == '.' || is_digit(c)) {
        number();
      } else if (is_identifier_start(c)) {
        word();
      } else {
        fail_at(pos_, "unexpected character");
      }
    }
    return std::move(out_);
  }

 private:
  char peek(size_t offset = 0) const {
    return pos_ + offset < src_.size() ? src_[pos_ + offset] : '\0';
  }

  [[noreturn]] void fail_at(size_t at, const std::string& what) const {
    throw Error(where_ + ": cannot read the model object: " + what + " at offset " +
                std::to_string(at) + ": '" + excerpt(src_, at) + "'");
  }

  // Copied as is: JSON strings are JavaScript strings once the escapes are limited to JSON's.
  void copy_string() {
    const size_t start = pos_++;
    while (peek() != '"') {
      if (pos_ >= src_.size()) fail_at(start, "unterminated string");
      const char c = peek();
      if (static_cast<unsigned char>(c) < 0x20) fail_at(pos_, "control character in a string");
      if (c == '\\') {
        // JavaScript's \x41, \' or line continuations have no JSON spelling.
        const char escaped = peek(1);
        if (escaped == 'u') {
          for (size_t i = 2; i < 6; ++i) {
            if (!std::isxdigit(static_cast<unsigned char>(peek(i)))) {
              fail_at(pos_, "bad \\u escape");
            }
          }
          pos_ += 6;
          continue;
        }
        if (escaped == '\0' ||
            std::string_view("\"\\/bfnrt").find(escaped) == std::string_view::npos) {
          fail_at(pos_, "escape that JSON lacks");
        }
        pos_ += 2;
        continue;
      }
      ++pos_;
    }
    ++pos_;
    out_.append(src_.substr(start, pos_ - start));
  }

  // Minifiers write true as !0 and false as !1.
  void boolean() {
    const char operand = peek(1);
    if ((operand != '0' && operand != '1') || is_identifier_char(peek(2)) || peek(2) == '.') {
      fail_at(pos_, "unsupported expression");
    }
    out_ += operand == '0' ? "true" : "false";
    pos_ += 2;
  }

  std::string_view take_digits() {
    const size_t start = pos_;
    while (is_digit(peek())) ++pos_;
    return src_.substr(start, pos_ - start);
  }

  // JSON needs a digit before the point and none after a leading zero; terser drops the former.
  void number() {
    const size_t start = pos_;
    std::string json;
    if (peek() == '-') {
      json += '-';
      ++pos_;
    }
    const std::string_view integer = take_digits();
    std::string_view fraction;
    if (peek() == '.') {
      ++pos_;
      fraction = take_digits();
    }
    if (integer.empty() && fraction.empty()) fail_at(start, "malformed number");
    if (integer.size() > 1 && integer[0] == '0') fail_at(start, "number with a leading zero");
    json += integer.empty() ? std::string_view("0") : integer;
    if (!fraction.empty()) (json += '.') += fraction;
    if (peek() == 'e' || peek() == 'E') {
      json += 'e';
      ++pos_;
      if (peek() == '+' || peek() == '-') json += src_[pos_++];
      const std::string_view exponent = take_digits();
      if (exponent.empty()) fail_at(start, "malformed number");
      json += exponent;
    }
    // 0x10, 1.2.3, 10n: JavaScript numbers JSON cannot hold.
    if (is_identifier_char(peek()) || peek() == '.') fail_at(start, "unsupported number");
    out_ += json;
  }

  // true, false, null, or an unquoted key (a bare word followed by ':').
  void word() {
    const size_t start = pos_;
    const std::string_view name = take_identifier(src_, pos_);
    if (name == "true" || name == "false" || name == "null") {
      out_ += name;
      return;
    }
    size_t next = pos_;
    while (next < src_.size() && is_blank(src_[next])) ++next;
    if (next >= src_.size() || src_[next] != ':') {
      fail_at(start, "unsupported value '" + std::string(name) + "'");
    }
    ((out_ += '"') += name) += '"';
  }

  std::string_view src_;
  const std::string& where_;
  size_t pos_ = 0;
  std::string out_;
};

// ---------------------------------------------------------------------------------------------
// Keras conventions

// Keras creates a layer's weights in this order and its HDF5 files list them so; the TF.js
// manifest sorts them by name instead. Names not listed go last, in manifest order.
size_t keras_rank(std::string_view weight_name) {
  constexpr std::array<std::string_view, 9> kOrder = {
      "kernel", "depthwise_kernel", "pointwise_kernel", "recurrent_kernel", "bias", "gamma",
      "beta",   "moving_mean",      "moving_variance"};
  const std::string_view variable = weight_name.substr(weight_name.rfind('/') + 1);
  return static_cast<size_t>(std::find(kOrder.begin(), kOrder.end(), variable) - kOrder.begin());
}

bool has_no_weights(std::string_view class_name) {
  // clang-format off
  constexpr std::array<std::string_view, 24> kWeightless = {
      "InputLayer", "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax",
      "ZeroPadding2D", "Cropping2D", "UpSampling2D", "Flatten", "Reshape",
      "MaxPooling2D", "AveragePooling2D", "GlobalMaxPooling2D", "GlobalAveragePooling2D",
      "Concatenate", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
      "Dropout", "SpatialDropout2D"};
  // clang-format on
  return std::find(kWeightless.begin(), kWeightless.end(), class_name) != kWeightless.end();
}

// ---------------------------------------------------------------------------------------------
// The model file's contents

struct ModelLayer {
  std::string name;
  std::string class_name;
  Json config;
  std::string group;  // the top-level layer holding its weights: itself, or the nested model
};

struct Quantization {
  int bytes_per_value = 0;  // 1 for uint8, 2 for uint16
  double scale = 1.0;
  double min = 0.0;
};

struct ManifestWeight {
  std::string name;  // "conv2d_1/kernel"
  Shape shape;
  int64_t count = 0;  // element_count(shape)
  std::optional<Quantization> quantization;
  bool int32 = false;  // stored as int32 (a Normalization's count), read as float

  int64_t byte_size() const { return count * (quantization ? quantization->bytes_per_value : 4); }
};

struct WeightGroup {
  std::vector<std::string> paths;  // shard names, concatenated in this order
  std::vector<ManifestWeight> weights;
};

// TF.js computes `q * scale + min` in JavaScript doubles (a rounded product, then a rounded sum)
// and stores the result in a Float32Array. `volatile` keeps the compiler from fusing the two into
// one fma (GCC does so across statements under -march=native): at the zero point the fused form
// gives +-1e-16 where TF.js gives exactly 0, for 1.7M of nsfwjs InceptionV3's 22.4M values.
float dequantize(uint32_t q, double scale, double min) {
  volatile double product = static_cast<double>(q) * scale;
  return static_cast<float>(product + min);
}

Tensor decode_weight(const ManifestWeight& weight, std::span<const uint8_t> bytes) {
  Tensor tensor(weight.shape);
  if (weight.count == 0) return tensor;
  float* out = tensor.data();
  if (weight.int32) {
    for (int64_t i = 0; i < weight.count; ++i) {
      int32_t v;
      std::memcpy(&v, bytes.data() + i * 4, 4);
      out[i] = static_cast<float>(v);
    }
    return tensor;
  }
  if (!weight.quantization) {
    std::memcpy(out, bytes.data(), bytes.size());
    return tensor;
  }
  const Quantization& q = *weight.quantization;
  for (int64_t i = 0; i < weight.count; ++i) {
    const size_t at = static_cast<size_t>(i * q.bytes_per_value);
    const uint32_t value = q.bytes_per_value == 1
                               ? uint32_t{bytes[at]}
                               : uint32_t{bytes[at]} | (uint32_t{bytes[at + 1]} << 8);
    out[i] = dequantize(value, q.scale, q.min);
  }
  return tensor;
}

// ---------------------------------------------------------------------------------------------
// The reader

class TfjsReader {
 public:
  explicit TfjsReader(std::string path)
      : path_(std::move(path)), dir_(fs::path(path_).parent_path()) {}

  KerasFile read() {
    const Json root = read_model_object();
    check_format(root);
    const Json& topology = member(root, "modelTopology", "the model file");
    const Json model_config = keras_model_config(topology);
    const std::vector<ModelLayer> layers = model_layers(model_config);
    std::vector<std::pair<std::string, Tensor>> weights;
    for (const WeightGroup& group : manifest(member(root, "weightsManifest", "the model file"))) {
      decode_group(group, weights);
    }

    KerasFile file;
    file.model_config = model_config.dump();
    file.layers = assign_to_layers(layers, std::move(weights));
    for (const char* key : {"keras_version", "backend"}) {
      if (topology.contains(key) && topology[key].is_string()) {
        file.attributes[key] = topology[key].get<std::string>();
      }
    }
    return file;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw Error(path_ + ": " + what); }

  const Json& member(const Json& object, const char* key, const std::string& owner) const {
    if (!object.is_object() || !object.contains(key)) fail(owner + " has no '" + key + "'");
    return object[key];
  }

  // model.json is JSON; an nsfwjs model.min.js wraps the same object as a JavaScript literal.
  Json read_model_object() {
    std::error_code size_error;
    const uintmax_t size = fs::file_size(path_, size_error);
    if (!size_error && size > kMaxJsonBytes) {
      fail("the model file is " + std::to_string(size) + " bytes, over the limit of " +
           std::to_string(kMaxJsonBytes) + " for a model.json");
    }
    const std::optional<std::string> text = read_file(path_);
    if (!text) fail(why_unreadable(path_));
    const size_t first = text->find_first_not_of(" \t\r\n");
    std::string json;
    if (first != std::string::npos && (*text)[first] == '{') {
      json = *text;
    } else if (bundle_payload_start(*text)) {
      bundle_ = true;
      json = JsLiteralToJson(bundle_payload(*text, path_), path_).convert();
    } else {
      fail("neither a TF.js model.json nor an nsfwjs model bundle (model.min.js)");
    }
    try {
      check_json_limits(json, "", bundle_ ? "the model object" : "the model.json");
    } catch (const Error& e) {
      fail(e.what());
    }
    try {
      return Json::parse(json);
    } catch (const Json::exception& e) {
      fail(std::string(bundle_ ? "the model object" : "the model.json") +
           " is not valid JSON: " + e.what());
    }
  }

  // model.json files name their kind; nsfwjs' bundles of Keras models do not.
  void check_format(const Json& root) const {
    if (!root.is_object()) fail("the model file does not hold an object");
    if (!root.contains("format") || root["format"] == "layers-model") return;
    if (root["format"] == "graph-model") {
      fail("this is a TF.js graph model (format \"graph-model\"), not a Keras layers model");
    }
    fail("unknown TF.js model format " + root["format"].dump() + " (gaze reads \"layers-model\")");
  }

  // Keras's own model_config: {"class_name": "Model", "config": {...}}. The TF.js converter
  // stores it under modelTopology.model_config; tfjs-layers' model.save() makes modelTopology
  // that object itself (with keras_version and backend beside class_name).
  Json keras_model_config(const Json& topology) const {
    if (!topology.is_object()) fail("modelTopology is not an object");
    if (topology.contains("node")) {
      fail("this is a TF.js graph model (a TensorFlow graph), not a Keras layers model");
    }
    Json config;
    if (topology.contains("model_config")) {
      config = topology["model_config"];
    } else if (topology.contains("class_name")) {
      config = Json::object();
      config["class_name"] = topology["class_name"];
      config["config"] = member(topology, "config", "modelTopology");
    } else {
      fail("modelTopology holds no Keras model config (model_config, or class_name and config)");
    }
    if (!config.is_object() || !config.contains("class_name") ||
        !config["class_name"].is_string() || !config.contains("config")) {
      fail("the Keras model config needs a class_name and a config");
    }
    return config;
  }

  // Functional models list their layers in config.layers; old Sequential configs are the list.
  // A model nested as a layer contributes its own layers (to any depth), whose weights Keras
  // keeps in the nested model's group.
  std::vector<ModelLayer> model_layers(const Json& model_config) const {
    std::vector<ModelLayer> layers;
    std::set<std::string> names;
    add_model_layers(model_config, "", layers, names, 0);
    return layers;
  }

  static bool is_model_class(const std::string& cls) {
    return cls == "Functional" || cls == "Model" || cls == "Sequential";
  }

  void add_model_layers(const Json& model_config, const std::string& group,
                        std::vector<ModelLayer>& layers, std::set<std::string>& names,
                        int depth) const {
    if (depth > 32) fail("models nested too deeply");
    // A nested model's entry may have no config: nlohmann's const operator[] of a missing key
    // reads past its object (found by fuzz/tfjs_fuzz.cpp), so look it up first.
    if (!model_config.is_object() || !model_config.contains("config"))
      fail("a nested model in '" + group + "' has no config");
    const Json& config = model_config["config"];
    const Json* list = config.is_array() ? &config : nullptr;
    if (config.is_object() && config.contains("layers")) list = &config["layers"];
    if (list == nullptr || !list->is_array()) fail("the Keras model config has no layer list");
    for (const Json& entry : *list) {
      const std::string where = "layer #" + std::to_string(layers.size() + 1);
      if (!entry.is_object()) fail(where + " of the model config is not an object");
      const Json layer_config = entry.contains("config") ? entry["config"] : Json::object();
      const Json* name = entry.contains("name") ? &entry["name"] : nullptr;
      if (name == nullptr && layer_config.is_object() && layer_config.contains("name")) {
        name = &layer_config["name"];
      }
      if (name == nullptr || !name->is_string()) fail(where + " of the model config has no name");
      const Json& class_name = member(entry, "class_name", where);
      if (!class_name.is_string()) fail(where + " has a class_name that is not a string");
      const std::string n = name->get<std::string>(), cls = class_name.get<std::string>();
      if (group.empty() || cls != "InputLayer") {
        if (!names.insert(n).second) fail("two layers are named '" + n + "'");
      }
      if (is_model_class(cls)) {
        add_model_layers(entry, group.empty() ? n : group, layers, names, depth + 1);
        if (group.empty()) layers.push_back({n, cls, layer_config, n});  // its weight group
      } else {
        layers.push_back({n, cls, layer_config, group.empty() ? n : group});
      }
    }
  }

  std::vector<WeightGroup> manifest(const Json& groups) const {
    if (!groups.is_array()) fail("weightsManifest is not a list");
    std::vector<WeightGroup> result;
    for (const Json& group : groups) {
      WeightGroup parsed;
      const Json& paths = member(group, "paths", "a weightsManifest group");
      const Json& weights = member(group, "weights", "a weightsManifest group");
      if (!paths.is_array() || !weights.is_array()) {
        fail("a weightsManifest group's paths and weights must be lists");
      }
      for (const Json& path : paths) {
        if (!path.is_string()) fail("a weightsManifest path is not a string");
        parsed.paths.push_back(path.get<std::string>());
      }
      for (const Json& weight : weights) parsed.weights.push_back(manifest_weight(weight));
      result.push_back(std::move(parsed));
    }
    return result;
  }

  ManifestWeight manifest_weight(const Json& entry) const {
    const Json& name = member(entry, "name", "a weightsManifest entry");
    if (!name.is_string()) fail("a weightsManifest entry has a name that is not a string");
    ManifestWeight weight;
    weight.name = name.get<std::string>();
    const std::string where = "weight '" + weight.name + "'";

    const Json& shape = member(entry, "shape", where);
    if (!shape.is_array()) fail(where + " has a shape that is not a list");
    weight.count = 1;
    for (const Json& dim : shape) {
      if (!dim.is_number_integer() || dim.get<int64_t>() < 0) {
        fail(where + " has a bad shape " + shape.dump());
      }
      const int64_t size = dim.get<int64_t>();
      // Far more than any file holds; keeps count * 4 from overflowing.
      constexpr int64_t kMaxCount = int64_t{1} << 40;
      if (size != 0 && weight.count > kMaxCount / size) {
        fail(where + " is too large: " + shape.dump());
      }
      weight.count *= size;
      weight.shape.push_back(size);
    }

    const Json& dtype = member(entry, "dtype", where);
    if (dtype != "float32" && dtype != "int32") {
      fail(where + " has dtype " + dtype.dump() + "; gaze reads float32 and int32 weights only");
    }
    weight.int32 = dtype == "int32";
    if (entry.contains("quantization")) {
      if (weight.int32) fail(where + " is int32 and quantized");
      weight.quantization = quantization(entry["quantization"], where);
    }
    return weight;
  }

  Quantization quantization(const Json& spec, const std::string& where) const {
    const Json& dtype = member(spec, "dtype", where + "'s quantization");
    Quantization q;
    if (dtype == "uint8") {
      q.bytes_per_value = 1;
    } else if (dtype == "uint16") {
      q.bytes_per_value = 2;
    } else {
      fail(where + " is quantized to " + dtype.dump() + "; gaze reads uint8 and uint16 only");
    }
    const Json& scale = member(spec, "scale", where + "'s quantization");
    const Json& min = member(spec, "min", where + "'s quantization");
    if (!scale.is_number() || !min.is_number()) {
      fail(where + "'s quantization scale and min must be numbers");
    }
    q.scale = scale.get<double>();
    q.min = min.get<double>();
    return q;
  }

  // The file of shard `name`: NAME itself, or NAME.min.js in an nsfwjs bundle.
  fs::path shard_file(const std::string& name) const {
    return dir_ / (bundle_ ? name + ".min.js" : name);
  }

  // A .bin shard is raw bytes; an nsfwjs shard NAME.min.js is a bundle exporting their base64.
  std::vector<uint8_t> read_shard(const std::string& name) const {
    const fs::path file = shard_file(name);
    const std::string where = path_ + ": weight shard " + file.string();
    const std::optional<std::string> text = read_file(file);
    if (!text) throw Error(where + ": " + why_unreadable(file));
    if (!bundle_) return std::vector<uint8_t>(text->begin(), text->end());
    const std::string_view payload = bundle_payload(*text, where);
    if (payload.size() < 2 || payload.front() != '"' || payload.back() != '"') {
      throw Error(where + ": the bundle does not export a string");
    }
    return decode_base64(payload.substr(1, payload.size() - 2), where);
  }

  // Before any shard is read: shards larger on disk than the manifest's weights can be are
  // refused by their size, so a stray or hostile file is never loaded whole into memory. A .bin
  // shard holds the bytes; a bundle their base64 (4 characters per 3 bytes) in a small wrapper.
  void check_shard_sizes(const WeightGroup& group, int64_t needed) const {
    constexpr uintmax_t kBundleWrapper = uintmax_t{1} << 16;
    const uintmax_t limit = bundle_ ? (static_cast<uintmax_t>(needed) + 2) / 3 * 4 + kBundleWrapper
                                    : static_cast<uintmax_t>(needed);
    uintmax_t total = 0;
    for (const std::string& name : group.paths) {
      const fs::path file = shard_file(name);
      std::error_code error;
      const uintmax_t size = fs::file_size(file, error);
      if (error) continue;  // read_shard names the problem
      total += size;
      if (total > limit) {
        fail("weight shard " + file.string() + " makes the shards " + std::to_string(total) +
             " bytes, more than the " + std::to_string(needed) + " bytes of weights they hold" +
             (bundle_ ? " (as base64 in a bundle)" : ""));
      }
    }
  }

  // Appends the group's weights to `weights`: TF.js packs them back to back, in manifest order,
  // across the concatenation of the group's shards.
  void decode_group(const WeightGroup& group,
                    std::vector<std::pair<std::string, Tensor>>& weights) const {
    int64_t needed = 0;
    for (const ManifestWeight& weight : group.weights) needed += weight.byte_size();
    check_shard_sizes(group, needed);
    std::vector<uint8_t> bytes;
    for (const std::string& name : group.paths) {
      const std::vector<uint8_t> shard = read_shard(name);
      bytes.insert(bytes.end(), shard.begin(), shard.end());
    }
    if (needed != static_cast<int64_t>(bytes.size())) {
      fail("weights need " + std::to_string(needed) + " bytes, shards hold " +
           std::to_string(bytes.size()));
    }
    size_t offset = 0;
    for (const ManifestWeight& weight : group.weights) {
      const size_t size = static_cast<size_t>(weight.byte_size());
      weights.emplace_back(weight.name,
                           decode_weight(weight, std::span(bytes).subspan(offset, size)));
      offset += size;
    }
  }

  // The weights Keras gives a layer of a class this reader knows, in Keras order; nullopt for
  // other classes, whose weights are taken as the manifest lists them.
  std::optional<std::vector<std::string>> expected_weights(const ModelLayer& layer) const {
    const std::string& cls = layer.class_name;
    std::vector<std::string> names;
    if (cls == "Conv1D" || cls == "Conv2D" || cls == "Conv3D" || cls == "Conv2DTranspose" ||
        cls == "Dense") {
      names = {"kernel"};
    } else if (cls == "DepthwiseConv2D") {
      names = {"depthwise_kernel"};
    } else if (cls == "SeparableConv2D") {
      names = {"depthwise_kernel", "pointwise_kernel"};
    } else if (cls == "BatchNormalization") {
      if (flag(layer, "scale", true)) names.push_back("gamma");
      if (flag(layer, "center", true)) names.push_back("beta");
      names.insert(names.end(), {"moving_mean", "moving_variance"});
      return names;
    } else if (has_no_weights(cls)) {
      return names;
    } else {
      return std::nullopt;
    }
    if (flag(layer, "use_bias", true)) names.push_back("bias");
    return names;
  }

  bool flag(const ModelLayer& layer, const char* key, bool fallback) const {
    if (!layer.config.is_object() || !layer.config.contains(key)) return fallback;
    const Json& value = layer.config[key];
    if (!value.is_boolean()) fail("layer '" + layer.name + "': " + key + " is not a boolean");
    return value.get<bool>();
  }

  // Gives every layer of the config, in config order, its weights in Keras order, and checks
  // that the manifest and the config agree on which weights exist.
  std::vector<LayerWeights> assign_to_layers(
      const std::vector<ModelLayer>& layers,
      std::vector<std::pair<std::string, Tensor>> weights) const {
    std::map<std::string, std::vector<size_t>> by_layer;  // manifest indices, in manifest order
    std::set<std::string> models;
    for (const ModelLayer& layer : layers) {
      if (is_model_class(layer.class_name))
        models.insert(layer.name);
      else
        by_layer[layer.name];
    }
    std::set<std::string> seen;
    for (size_t i = 0; i < weights.size(); ++i) {
      std::string& name = weights[i].first;
      // Some writers scope a nested model's weights by its name: "base/conv1/kernel".
      while (name.find('/') != std::string::npos && models.count(name.substr(0, name.find('/'))))
        name = name.substr(name.find('/') + 1);
      if (!seen.insert(name).second) fail("weight '" + name + "' appears twice in the manifest");
      const auto owner = by_layer.find(name.substr(0, name.find('/')));
      if (name.find('/') == std::string::npos || owner == by_layer.end()) {
        fail("weight '" + name + "' in the weights manifest belongs to no layer of the model");
      }
      owner->second.push_back(i);
    }

    // One entry per top-level layer; a nested model's holds its layers' weights in Keras 2's
    // `Model.weights` order: every trainable weight, then the moving statistics.
    std::vector<LayerWeights> result;
    std::map<std::string, size_t> group_entry;
    std::vector<std::vector<NamedTensor>> moving;
    for (const ModelLayer& layer : layers) {
      if (layer.group != layer.name || group_entry.count(layer.name)) continue;
      group_entry[layer.name] = result.size();
      result.push_back({layer.name, {}});
      moving.emplace_back();
    }
    for (const ModelLayer& layer : layers) {
      if (is_model_class(layer.class_name)) continue;
      std::vector<size_t>& indices = by_layer[layer.name];
      std::stable_sort(indices.begin(), indices.end(), [&](size_t a, size_t b) {
        return keras_rank(weights[a].first) < keras_rank(weights[b].first);
      });
      check_expected(layer, indices, weights);
      const size_t g = group_entry.at(layer.group);
      const bool nested = layer.group != layer.name;
      for (size_t i : indices) {
        const bool statistic = weights[i].first.ends_with("/moving_mean") ||
                               weights[i].first.ends_with("/moving_variance");
        NamedTensor t{weights[i].first + ":0", std::move(weights[i].second)};
        (nested && statistic ? moving[g] : result[g].weights).push_back(std::move(t));
      }
    }
    for (size_t g = 0; g < result.size(); ++g) {
      for (NamedTensor& t : moving[g]) result[g].weights.push_back(std::move(t));
    }
    return result;
  }

  // `indices` are already in Keras order, so they match exactly when the sets match.
  void check_expected(const ModelLayer& layer, const std::vector<size_t>& indices,
                      const std::vector<std::pair<std::string, Tensor>>& weights) const {
    const std::optional<std::vector<std::string>> expected = expected_weights(layer);
    if (!expected) return;
    const std::string prefix = layer.name + "/";
    for (size_t i = 0; i < std::max(expected->size(), indices.size()); ++i) {
      const std::string want = i < expected->size() ? prefix + (*expected)[i] : "";
      const std::string have = i < indices.size() ? weights[indices[i]].first : "";
      if (want == have) continue;
      const std::string layer_text = "layer '" + layer.name + "' (" + layer.class_name + ")";
      if (!want.empty() && std::none_of(indices.begin(), indices.end(),
                                        [&](size_t j) { return weights[j].first == want; })) {
        fail(layer_text + " needs weight '" + want + "', which the weights manifest lacks");
      }
      fail("weight '" + have + "' in the weights manifest is not a weight of " + layer_text);
    }
  }

  std::string path_;
  fs::path dir_;
  bool bundle_ = false;  // nsfwjs bundle: shards are NAME.min.js holding base64
};

}  // namespace

KerasFile read_tfjs_model(const std::string& path) {
  return TfjsReader(path).read();
}

}  // namespace gaze
