// From Keras files to runnable models: build the model and fill its weights.
#pragma once

#include <string>
#include <vector>

#include "layers/model.h"
#include "layers/registry.h"
#include "weights/keras_file.h"

namespace gaze {

struct LoadedModel {
  Model model;
  std::string path;
  std::vector<std::string> class_names;  // from gaze_class_names; empty when the file has none
  std::string preprocessing;             // from gaze_preprocessing; empty when unknown
};

// Any model file gaze reads, told apart by its content (load_model.cpp), not by its name:
//  - a zip: a Keras 3 `.keras` file (config.json, metadata.json, model.weights.h5), whose
//    metadata.json's keras_version decides version-dependent semantics;
//  - an HDF5 file: a Keras 2 full model (model_config; `gaze convert`'s output), a Keras 2
//    weights-only file (layer_names; loaded by order, as Keras' load_weights does), or a Keras 3
//    `.weights.h5` (keras3_weights.h). The two weights-only kinds need `config_path`, the model's
//    config.json or model.to_json(), and the others refuse one.
// Anything else is Error("<path>: not a Keras model: neither HDF5 nor a .keras zip"). Errors
// name the file at fault (the config's when the config is). `layers` makes the layers: the
// built-in ones, or a copy with a program's own classes added (layers/registry.h).
LoadedModel load_model(const std::string& path, const std::string& config_path = "",
                       const LayerRegistry& layers = LayerRegistry::builtin());

// A full Keras model file (model.save(), or `gaze convert`'s output): builds the model from its
// model_config and loads every weight. Errors name the file.
LoadedModel load_keras_model(const std::string& path,
                             const LayerRegistry& layers = LayerRegistry::builtin());

// The major version of a keras_version string: "2.15.0" -> 2, "3.6.0" -> 3; 2 for an empty one
// and for TF.js's "tfjs-layers 4.22.0". Error for other text that does not start with a number
// and a dot.
int keras_major_version(const std::string& keras_version);

// Fills each of the model's layers that has weights from the file's layer of the same name
// (Keras' by_name=True): file layers the model lacks are ignored, a model layer the file lacks is
// an error. `path` is only used in messages.
void load_weights_by_name(Model& model, const KerasFile& file, const std::string& path);

// The model compiles its inference plan from the loaded weights on its first forward().

// Keras' own rule for weights-only files (keras.applications): the i-th layer with weights in
// the file goes to the i-th layer with weights of the model, in Keras' layer order; names are
// not compared, since Keras versions name layers differently (conv2d_1 vs conv2d).
void load_weights_by_order(Model& model, const KerasFile& file, const std::string& path);

}  // namespace gaze
