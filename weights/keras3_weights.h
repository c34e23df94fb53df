// Keras 3's weights layout: `model.weights.h5` inside a `.keras` file, and `.weights.h5` files.
//
// keras/src/saving/saving_lib.py writes it (_save_state, _save_container_state, H5IOStore):
//  - a model's layers are visited in `model.layers` order, each under
//    `layers/<snake_case(class name)>`, with `_1`, `_2`, ... added for the second, third, ... of a
//    class (_get_unique_name): `layers/conv2d`, `layers/conv2d_1`, `layers/batch_normalization`.
//    Layer names are not used: they are not reproducible across model instances.
//  - a layer's variables are the datasets `<path>/vars/0`, `1`, ... in the order
//    `layer._trainable_variables + layer._non_trainable_variables` (Layer.save_own_variables),
//    e.g. Dense: kernel, bias; BatchNormalization: gamma, beta, moving_mean, moving_variance.
//    gaze's weight slots are in that order (layers/layer.h).
//  - a nested model (Functional, Sequential) recurses: `layers/functional/layers/conv2d`.
//  - `model.layers` is the config's layer list in order for a Functional model (InputLayers
//    included); a Sequential model's omits its leading InputLayer (Sequential.layers).
// Keras 2.13 to 2.15 wrote the same layout with `_layer_checkpoint_dependencies` for `layers`,
// which H5IOStore.get still reads; so does gaze.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "layers/model.h"
#include "weights/hdf5_file.h"

namespace gaze {

// keras/src/utils/naming.py to_snake_case: "Conv2D" -> "conv2d", "ReLU" -> "re_lu",
// "BatchNormalization" -> "batch_normalization".
std::string keras_snake_case(const std::string& class_name);

// True if the file's root holds Keras 3's layout (a `layers` group, or Keras 2.13's
// `_layer_checkpoint_dependencies`) rather than Keras 2's `layer_names`.
bool has_keras3_layout(const hdf5::Group& root);

// Fills `model`, built from `config` (a model config as in config.json or model.to_json()), with
// the variables of the Keras 3 weights file whose root is `root`. The config's layers are walked
// in parallel with the file's groups; each layer's variables go to the model's layer of that name
// (`outer/inner` for a layer inside a nested model), in order, shapes checked. Errors start with
// `label` and name the layer, its class and the variable: a missing or extra variable, a shape
// that differs, weights in the file that no layer of the config takes, a model layer left empty.
void load_keras3_weights(Model& model, const nlohmann::json& config, const hdf5::Group& root,
                         const std::string& label);

}  // namespace gaze
