// Builds a Model from a Keras model config (the JSON of model.to_json(), or a .h5 file's
// `model_config` attribute): functional models in the Keras 2 and Keras 3 inbound-node formats,
// and Sequential models, made of the layers in layers/registry.cpp. Weights are not loaded.
#pragma once

#include <string>

#include "layers/model.h"

namespace gaze {

// `keras_major` is the Keras version that wrote the config: 3 for a `.keras` file whose
// metadata.json says 3.x. Some semantics changed in Keras 3 (hard_sigmoid, ConfigReader).
Model model_from_keras_config(const std::string& json_text, int keras_major = 2);

}  // namespace gaze
