// From Keras files to runnable models: build the model and fill its weights.
#pragma once

#include <string>
#include <vector>

#include "layers/model.h"
#include "weights/keras_file.h"

namespace gaze {

struct LoadedModel {
  Model model;
  std::string path;
  std::vector<std::string> class_names;  // from gaze_class_names; empty when the file has none
  std::string preprocessing;             // from gaze_preprocessing; empty when unknown
};

// A full Keras model file (model.save(), or `gaze convert`'s output): builds the model from its
// model_config and loads every weight. Errors name the file.
LoadedModel load_keras_model(const std::string& path);

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
