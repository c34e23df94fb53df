// The one place that maps a Keras class_name to gaze's implementation.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "layers/config_reader.h"
#include "layers/layer.h"

namespace gaze {

// Makes the layer `name` from its Keras config (read through `config`, which names the layer
// and the field in its errors).
using LayerFactory =
    std::function<std::unique_ptr<Layer>(const std::string& name, const ConfigReader& config)>;

// Keras class names and their factories. builtin() holds the layers gaze implements; a program
// that adds its own copies it and passes the copy to the loaders (model_from_keras_config,
// load_model), so no registration is global:
//   LayerRegistry layers = LayerRegistry::builtin();
//   layers.add("MyLayer", make_my_layer);
//   LoadedModel m = load_model("my.keras", "", layers);
class LayerRegistry {
 public:
  static const LayerRegistry& builtin();

  // Throws Error if `class_name` is already registered (a built-in cannot be replaced by
  // accident) or the factory is empty.
  void add(const std::string& class_name, LayerFactory factory);
  bool contains(const std::string& class_name) const { return factories_.count(class_name) > 0; }
  // Throws Error naming the layer and listing the registered classes when class_name is
  // unknown, and naming the field when a config value is unsupported.
  std::unique_ptr<Layer> make(const std::string& class_name, const std::string& name,
                              const nlohmann::json& config, int keras_major = 2) const;
  std::vector<std::string> classes() const;  // sorted

 private:
  std::map<std::string, LayerFactory> factories_;
};

// LayerRegistry::builtin().make(...) and .classes().
std::unique_ptr<Layer> make_layer(const std::string& class_name, const std::string& name,
                                  const nlohmann::json& config, int keras_major = 2);
std::vector<std::string> supported_layer_classes();

}  // namespace gaze
