#include "layers/config_reader.h"

#include <tuple>

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

std::optional<std::vector<float>> ConfigReader::numbers(const char* key) const {
  const json* v = find(key);
  if (!v) return std::nullopt;
  if (v->is_object() && v->contains("config") && (*v)["config"].is_object() &&
      (*v)["config"].contains("value")) {
    v = &(*v)["config"]["value"];  // serialization_lib.py: __numpy__ and __tensor__ objects
  }
  if (v->is_number()) return std::vector<float>{v->get<float>()};
  std::vector<float> values;
  if (v->is_array() && !v->empty()) {
    for (const json& e : *v) {
      if (!e.is_number()) unsupported(key, v->dump() + " (a number or a list of numbers)");
      values.push_back(e.get<float>());
    }
    return values;
  }
  bad(key, "a number or a list of numbers");
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

Borders ConfigReader::borders(const char* key, int64_t fallback) const {
  const json* v = find(key);
  if (!v) return {fallback, fallback, fallback, fallback};
  const char* expected = "an integer, [h, w] or [[top, bottom], [left, right]]";
  // One axis: an integer for both sides, or [before, after].
  auto sides = [&](const json& a) -> std::pair<int64_t, int64_t> {
    if (a.is_number_integer()) return {a.get<int64_t>(), a.get<int64_t>()};
    if (a.is_array() && a.size() == 2 && a[0].is_number_integer() && a[1].is_number_integer())
      return {a[0].get<int64_t>(), a[1].get<int64_t>()};
    bad(key, expected);
  };
  Borders b;
  if (v->is_number_integer()) {
    b = {v->get<int64_t>(), v->get<int64_t>(), v->get<int64_t>(), v->get<int64_t>()};
  } else if (v->is_array() && v->size() == 2) {
    std::tie(b.top, b.bottom) = sides((*v)[0]);
    std::tie(b.left, b.right) = sides((*v)[1]);
  } else {
    bad(key, expected);
  }
  if (b.top < 0 || b.bottom < 0 || b.left < 0 || b.right < 0) bad(key, "non-negative");
  return b;
}

int64_t ConfigReader::single_axis(const char* key, int64_t fallback) const {
  auto it = config_.find(key);
  if (it == config_.end()) return fallback;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_array() && it->size() == 1 && (*it)[0].is_number_integer())
    return (*it)[0].get<int64_t>();
  if (it->is_null() || it->is_array()) unsupported(key, it->dump() + " (only the last axis)");
  bad(key, "an integer or a list of one integer");
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

std::pair<int64_t, int64_t> ConfigReader::dilation() const {
  const auto d = pair("dilation_rate", {1, 1});
  if (d.first < 1 || d.second < 1) bad("dilation_rate", "positive");
  if (d != std::pair<int64_t, int64_t>{1, 1} &&
      pair("strides", {1, 1}) != std::pair<int64_t, int64_t>{1, 1})
    unsupported("dilation_rate", "together with strides other than 1 (Keras forbids it too)");
  return d;
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
