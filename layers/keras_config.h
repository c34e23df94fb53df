// Builds a Model from a Keras model config (the JSON of model.to_json(), or a .h5 file's
// `model_config` attribute): functional models in the Keras 2 and Keras 3 inbound-node formats,
// and Sequential models, made of the layers in layers/registry.cpp. Weights are not loaded.
#pragma once

#include <string>

#include "layers/model.h"
#include "layers/registry.h"

namespace gaze {

// `keras_major`: the Keras version that wrote it, where semantics changed (hard_sigmoid).
// Models nested as layers are inlined with their layers named `outer/inner`; a layer called
// more than once becomes `name`, `name@1`, ... sharing the first call's weights. Each layer is
// made by `layers`: the built-in ones, or a copy with a program's own classes added.
Model model_from_keras_config(const std::string& json_text, int keras_major = 2,
                              const LayerRegistry& layers = LayerRegistry::builtin());

}  // namespace gaze
