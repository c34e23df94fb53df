// Reading and writing Keras HDF5 files (both layouts described in keras_file.h).
#pragma once

#include <string>

#include "weights/keras_file.h"

namespace gaze {

// Reads a full model saved by Keras 2 model.save() or a weights-only file (save_weights(),
// keras.applications), detected from where `layer_names` is. Weights are read by the names listed
// in each layer's `weight_names`; float16/float64 weights are converted to float32. Every failure
// (missing file, not HDF5, not Keras, missing layer or weight, wrong type, corrupt data) is an
// Error whose message starts with `path`.
KerasFile read_keras_h5(const std::string& path);

// Writes the full-model layout when file.model_config is set, the weights-only layout otherwise.
// keras_version ("2.2.4") and backend ("tensorflow") are added unless file.attributes has them.
// The file is written next to `path` and renamed into place, so a failure never leaves a partial
// file at `path` (an existing file there stays as it was).
void write_keras_h5(const std::string& path, const KerasFile& file);

}  // namespace gaze
