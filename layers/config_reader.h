// Reads a Keras layer's config fields, turning type mismatches and unsupported values into
// Errors that name the layer and the field. Every layer's factory takes one (registry.cpp).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "layers/layer.h"

namespace gaze {

// Rows or columns at each border of an image.
struct Borders {
  int64_t top = 0, bottom = 0, left = 0, right = 0;
};

class ConfigReader {
 public:
  using json = nlohmann::json;
  // `keras_major`: the Keras version that wrote the config (some semantics changed in Keras 3).
  ConfigReader(const std::string& name, const json& config, int keras_major = 2)
      : name_(name), config_(config), keras_major_(keras_major) {}

  const std::string& layer_name() const { return name_; }
  const json& config() const { return config_; }
  // The field, or nullptr when it is absent or null.
  const json* find(const char* key) const;
  int64_t integer(const char* key, int64_t fallback) const;
  double number(const char* key, double fallback) const;
  bool boolean(const char* key, bool fallback) const;
  std::string string(const char* key, const std::string& fallback) const;
  // A number or a flat list of numbers (one per channel), also in Keras 3's serialized form
  // {"class_name": "__numpy__" or "__tensor__", "config": {"value": ...}}; nullopt when absent
  // or null. Rescaling's scale, Normalization's mean.
  std::optional<std::vector<float>> numbers(const char* key) const;
  // A pair such as kernel_size: [h, w] or a single integer for both.
  std::pair<int64_t, int64_t> pair(const char* key, std::pair<int64_t, int64_t> fallback) const;
  Padding padding() const;
  // ZeroPadding2D's padding, Cropping2D's cropping: an integer for all four borders, [h, w]
  // (each for both sides of its axis) or [[top, bottom], [left, right]]; never negative.
  Borders borders(const char* key, int64_t fallback) const;
  // An axis given as an integer or a list of one integer (Keras 3 writes [3], Keras 2 often -1);
  // null or several axes are unsupported. The layer checks it against the input's rank.
  int64_t single_axis(const char* key, int64_t fallback) const;
  // The `activation` field (default linear), from the activation table.
  Activation activation() const;
  // Layers gaze runs only in channels-last layout.
  void require_channels_last() const;
  // dilation_rate (default 1); Keras forbids it together with strides other than 1.
  std::pair<int64_t, int64_t> dilation() const;
  void require_channel_axis() const;
  [[noreturn]] void bad(const char* key, const char* expected) const;
  [[noreturn]] void unsupported(const char* key, const std::string& what) const;

 private:
  const std::string& name_;
  const json& config_;
  int keras_major_;
};

}  // namespace gaze
