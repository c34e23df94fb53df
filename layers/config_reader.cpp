#include "layers/config_reader.h"

namespace gaze {

const ConfigReader::json* ConfigReader::find(const char* key) const {
  auto it = config_.find(key);
  return it == config_.end() || it->is_null() ? nullptr : &*it;
}

int64_t ConfigReader::integer(const char* key, int64_t fallback) const {
  const json* v = find(key);
  if (!v) return fallback;
  if (!v->is_number_integer()) bad(key, "an integer");
  return v->get<int64_t>();
}

double ConfigReader::number(const char* key, double fallback) const {
  const json* v = find(key);
  if (!v) return fallback;
  if (!v->is_number()) bad(key, "a number");
  return v->get<double>();
}

bool ConfigReader::boolean(const char* key, bool fallback) const {
  const json* v = find(key);
  if (!v) return fallback;
  if (!v->is_boolean()) bad(key, "true or false");
  return v->get<bool>();
}

std::string ConfigReader::string(const char* key, const std::string& fallback) const {
  const json* v = find(key);
  if (!v) return fallback;
  if (!v->is_string()) bad(key, "a string");
  return v->get<std::string>();
}

std::pair<int64_t, int64_t> ConfigReader::pair(const char* key,
                                               std::pair<int64_t, int64_t> fallback) const {
  const json* v = find(key);
  if (!v) return fallback;
  if (v->is_number_integer()) return {v->get<int64_t>(), v->get<int64_t>()};
  if (!v->is_array() || v->size() != 2 || !(*v)[0].is_number_integer() ||
      !(*v)[1].is_number_integer()) {
    bad(key, "an integer or a pair of integers");
  }
  return {(*v)[0].get<int64_t>(), (*v)[1].get<int64_t>()};
}

Padding ConfigReader::padding() const {
  const std::string p = string("padding", "valid");
  if (p == "valid") return Padding::kValid;
  if (p == "same") return Padding::kSame;
  unsupported("padding", "'" + p + "' (supported: valid, same)");
}

Activation ConfigReader::activation() const {
  try {
    return parse_activation(string("activation", "linear"), keras_major_);
  } catch (const Error& e) {
    unsupported("activation", e.what());
  }
}

void ConfigReader::require_channels_last() const {
  const std::string f = string("data_format", "channels_last");
  if (f != "channels_last") unsupported("data_format", "'" + f + "' (gaze is channels_last)");
}

void ConfigReader::require_no_dilation() const {
  if (pair("dilation_rate", {1, 1}) != std::pair<int64_t, int64_t>{1, 1})
    unsupported("dilation_rate", "other than 1");
}

void ConfigReader::require_channel_axis() const {
  const int64_t axis = integer("axis", -1);
  if (axis != -1 && axis != 3)
    unsupported("axis", std::to_string(axis) + " (only the channel axis, -1 or 3)");
}

void ConfigReader::bad(const char* key, const char* expected) const {
  throw Error("layer '" + name_ + "': config field '" + key + "' should be " + expected);
}

void ConfigReader::unsupported(const char* key, const std::string& what) const {
  throw Error("layer '" + name_ + "': unsupported " + key + " " + what);
}

}  // namespace gaze
