// The one place that maps a Keras class_name to gaze's implementation.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "layers/layer.h"

namespace gaze {

// Creates the layer `name` of Keras class `class_name` from its Keras config object. Throws
// Error naming the layer and listing the supported classes when class_name is unknown, and
// naming the field when a config value is unsupported (e.g. dilation_rate other than 1).
std::unique_ptr<Layer> make_layer(const std::string& class_name, const std::string& name,
                                  const nlohmann::json& config, int keras_major = 2);
std::vector<std::string> supported_layer_classes();

}  // namespace gaze
