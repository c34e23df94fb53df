// Builds a Model from a Keras model config (the JSON of model.to_json(), or a .h5 file's
// `model_config` attribute): functional models in the Keras 2 and Keras 3 inbound-node formats,
// and Sequential models, made of the layers in layers/registry.cpp. Weights are not loaded.
#pragma once

#include <string>

#include "layers/model.h"

namespace gaze {

Model model_from_keras_config(const std::string& json_text);

}  // namespace gaze
