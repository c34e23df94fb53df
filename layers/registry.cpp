#include "layers/registry.h"

#include <functional>
#include <map>

#include "layers/keras_layers.h"

namespace gaze {
namespace {

using json = nlohmann::json;

// Reads Keras config fields, turning type mismatches into Errors that name the layer and field.
class ConfigReader {
 public:
  ConfigReader(const std::string& name, const json& config) : name_(name), config_(config) {}

  const json* find(const char* key) const {
    auto it = config_.find(key);
    return it == config_.end() || it->is_null() ? nullptr : &*it;
  }
  int64_t integer(const char* key, int64_t fallback) const {
    const json* v = find(key);
    if (!v) return fallback;
    if (!v->is_number_integer()) bad(key, "an integer");
    return v->get<int64_t>();
  }
  double number(const char* key, double fallback) const {
    const json* v = find(key);
    if (!v) return fallback;
    if (!v->is_number()) bad(key, "a number");
    return v->get<double>();
  }
  bool boolean(const char* key, bool fallback) const {
    const json* v = find(key);
    if (!v) return fallback;
    if (!v->is_boolean()) bad(key, "true or false");
    return v->get<bool>();
  }
  std::string string(const char* key, const std::string& fallback) const {
    const json* v = find(key);
    if (!v) return fallback;
    if (!v->is_string()) bad(key, "a string");
    return v->get<std::string>();
  }
  // A pair such as kernel_size: [h, w] or a single integer for both.
  std::pair<int64_t, int64_t> pair(const char* key, std::pair<int64_t, int64_t> fallback) const {
    const json* v = find(key);
    if (!v) return fallback;
    if (v->is_number_integer()) return {v->get<int64_t>(), v->get<int64_t>()};
    if (!v->is_array() || v->size() != 2 || !(*v)[0].is_number_integer() ||
        !(*v)[1].is_number_integer()) {
      bad(key, "an integer or a pair of integers");
    }
    return {(*v)[0].get<int64_t>(), (*v)[1].get<int64_t>()};
  }
  Padding padding() const {
    const std::string p = string("padding", "valid");
    if (p == "valid") return Padding::kValid;
    if (p == "same") return Padding::kSame;
    unsupported("padding", "'" + p + "' (supported: valid, same)");
  }
  Activation activation() const {
    try {
      return parse_activation(string("activation", "linear"));
    } catch (const Error& e) {
      unsupported("activation", e.what());
    }
  }
  // Layers gaze runs only in channels-last layout without dilation.
  void require_channels_last() const {
    const std::string f = string("data_format", "channels_last");
    if (f != "channels_last") unsupported("data_format", "'" + f + "' (gaze is channels_last)");
  }
  void require_no_dilation() const {
    if (pair("dilation_rate", {1, 1}) != std::pair<int64_t, int64_t>{1, 1})
      unsupported("dilation_rate", "other than 1");
  }
  void require_channel_axis() const {
    const int64_t axis = integer("axis", -1);
    if (axis != -1 && axis != 3)
      unsupported("axis", std::to_string(axis) + " (only the channel axis, -1 or 3)");
  }
  [[noreturn]] void bad(const char* key, const char* expected) const {
    throw Error("layer '" + name_ + "': config field '" + key + "' should be " + expected);
  }
  [[noreturn]] void unsupported(const char* key, const std::string& what) const {
    throw Error("layer '" + name_ + "': unsupported " + key + " " + what);
  }

 private:
  const std::string& name_;
  const json& config_;
};

// The batch input shape: Keras 2 `batch_input_shape`, Keras 3 `batch_shape`.
Shape input_shape(const ConfigReader& r) {
  const json* s = r.find("batch_input_shape");
  if (!s) s = r.find("batch_shape");
  if (!s || !s->is_array()) r.bad("batch_input_shape", "a list like [null, 299, 299, 3]");
  Shape shape;
  for (const json& d : *s) {
    if (d.is_null())
      shape.push_back(-1);
    else if (d.is_number_integer())
      shape.push_back(d.get<int64_t>());
    else
      r.bad("batch_input_shape", "a list of integers and nulls");
  }
  return shape;
}

Padding2D zero_padding(const ConfigReader& r) {
  const json* p = r.find("padding");
  if (!p) return {1, 1, 1, 1};
  if (p->is_number_integer()) {
    const int64_t v = p->get<int64_t>();
    return {v, v, v, v};
  }
  if (p->is_array() && p->size() == 2 && (*p)[0].is_number_integer() &&
      (*p)[1].is_number_integer()) {
    const int64_t h = (*p)[0].get<int64_t>(), w = (*p)[1].get<int64_t>();
    return {h, h, w, w};
  }
  if (p->is_array() && p->size() == 2 && (*p)[0].is_array() && (*p)[1].is_array() &&
      (*p)[0].size() == 2 && (*p)[1].size() == 2) {
    try {
      return {(*p)[0][0].get<int64_t>(), (*p)[0][1].get<int64_t>(), (*p)[1][0].get<int64_t>(),
              (*p)[1][1].get<int64_t>()};
    } catch (const json::exception&) {
    }
  }
  r.bad("padding", "an integer, [h, w] or [[top, bottom], [left, right]]");
}

Window2d pool_window(const ConfigReader& r) {
  r.require_channels_last();
  const auto [kh, kw] = r.pair("pool_size", {2, 2});
  const auto [sh, sw] = r.pair("strides", {kh, kw});  // Keras: strides default to pool_size
  return {kh, kw, sh, sw, r.padding()};
}

using Factory = std::function<std::unique_ptr<Layer>(const std::string&, const ConfigReader&)>;

const std::map<std::string, Factory>& factories() {
  static const std::map<std::string, Factory> table = {
      {"InputLayer",
       [](const std::string& n, const ConfigReader& r) {
         return std::make_unique<InputLayer>(n, input_shape(r));
       }},
      {"Conv2D",
       [](const std::string& n, const ConfigReader& r) {
         r.require_channels_last();
         r.require_no_dilation();
         if (r.integer("groups", 1) != 1) r.unsupported("groups", "other than 1");
         Conv2DConfig c;
         c.filters = r.integer("filters", 0);
         std::tie(c.kernel_h, c.kernel_w) = r.pair("kernel_size", {0, 0});
         std::tie(c.stride_h, c.stride_w) = r.pair("strides", {1, 1});
         c.padding = r.padding();
         c.use_bias = r.boolean("use_bias", true);
         c.activation = r.activation();
         return std::make_unique<Conv2D>(n, c);
       }},
      {"DepthwiseConv2D",
       [](const std::string& n, const ConfigReader& r) {
         r.require_channels_last();
         r.require_no_dilation();
         DepthwiseConv2DConfig c;
         std::tie(c.kernel_h, c.kernel_w) = r.pair("kernel_size", {3, 3});
         std::tie(c.stride_h, c.stride_w) = r.pair("strides", {1, 1});
         c.depth_multiplier = r.integer("depth_multiplier", 1);
         c.padding = r.padding();
         c.use_bias = r.boolean("use_bias", true);
         c.activation = r.activation();
         return std::make_unique<DepthwiseConv2D>(n, c);
       }},
      {"BatchNormalization",
       [](const std::string& n, const ConfigReader& r) {
         r.require_channel_axis();
         BatchNormalizationConfig c;
         c.epsilon = static_cast<float>(r.number("epsilon", 1e-3));
         c.center = r.boolean("center", true);
         c.scale = r.boolean("scale", true);
         return std::make_unique<BatchNormalization>(n, c);
       }},
      {"Activation",
       [](const std::string& n, const ConfigReader& r) {
         return std::make_unique<ActivationLayer>(n, r.activation());
       }},
      {"ReLU",
       [](const std::string& n, const ConfigReader& r) {
         if (r.number("negative_slope", 0.0) != 0.0)
           r.unsupported("negative_slope", "other than 0");
         if (r.number("threshold", 0.0) != 0.0) r.unsupported("threshold", "other than 0");
         std::optional<float> max_value;
         if (r.find("max_value")) max_value = static_cast<float>(r.number("max_value", 0.0));
         return std::make_unique<ReLU>(n, max_value);
       }},
      {"MaxPooling2D",
       [](const std::string& n, const ConfigReader& r) {
         return std::make_unique<Pooling2D>(n, Pooling2D::Kind::kMax, pool_window(r));
       }},
      {"AveragePooling2D",
       [](const std::string& n, const ConfigReader& r) {
         return std::make_unique<Pooling2D>(n, Pooling2D::Kind::kAverage, pool_window(r));
       }},
      {"GlobalAveragePooling2D",
       [](const std::string& n, const ConfigReader& r) {
         r.require_channels_last();
         if (r.boolean("keepdims", false)) r.unsupported("keepdims", "true");
         return std::make_unique<GlobalAveragePooling2D>(n);
       }},
      {"Dense",
       [](const std::string& n, const ConfigReader& r) {
         DenseConfig c;
         c.units = r.integer("units", 0);
         c.use_bias = r.boolean("use_bias", true);
         c.activation = r.activation();
         return std::make_unique<Dense>(n, c);
       }},
      {"Concatenate",
       [](const std::string& n, const ConfigReader& r) {
         r.require_channel_axis();
         return std::make_unique<Concatenate>(n);
       }},
      {"Add", [](const std::string& n, const ConfigReader&) { return std::make_unique<Add>(n); }},
      {"Flatten",
       [](const std::string& n, const ConfigReader& r) {
         r.require_channels_last();
         return std::make_unique<Flatten>(n);
       }},
      {"Dropout",
       [](const std::string& n, const ConfigReader&) { return std::make_unique<Dropout>(n); }},
      {"ZeroPadding2D",
       [](const std::string& n, const ConfigReader& r) {
         r.require_channels_last();
         return std::make_unique<ZeroPadding2D>(n, zero_padding(r));
       }},
  };
  return table;
}

}  // namespace

std::unique_ptr<Layer> make_layer(const std::string& class_name, const std::string& name,
                                  const nlohmann::json& config) {
  auto it = factories().find(class_name);
  if (it == factories().end()) {
    std::string list;
    for (const std::string& s : supported_layer_classes()) list += (list.empty() ? "" : ", ") + s;
    throw Error("layer '" + name + "': unsupported layer type '" + class_name +
                "' (supported: " + list + ")");
  }
  if (!config.is_object()) throw Error("layer '" + name + "': config is not an object");
  return it->second(name, ConfigReader(name, config));
}

std::vector<std::string> supported_layer_classes() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : factories()) names.push_back(name);
  return names;
}

}  // namespace gaze
