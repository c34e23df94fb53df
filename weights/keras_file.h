// The contents of a Keras HDF5 file, independent of any model object: what read_keras_h5()
// returns and write_keras_h5() takes. Both Keras layouts map onto it:
//  - a full model (model.save()): root attribute `model_config` (JSON) and group `model_weights`;
//  - weights only (save_weights(), keras.applications' files): root `layer_names`, one group per
//    layer; model_config is empty.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace gaze {

struct NamedTensor {
  std::string name;  // as listed in the layer's `weight_names`, e.g. "conv2d_1/kernel:0"
  Tensor value;
};

struct LayerWeights {
  std::string layer;                 // layer name, as in `layer_names`
  std::vector<NamedTensor> weights;  // in `weight_names` order; empty for layers without weights
};

struct KerasFile {
  std::string model_config;          // JSON text; empty for a weights-only file
  std::vector<LayerWeights> layers;  // in `layer_names` order (layers without weights included)
  // Other root string attributes: keras_version, backend, and gaze's own:
  //   gaze_class_names   JSON array of class names, e.g. ["Drawing","Hentai",...]
  //   gaze_preprocessing "nsfwjs" | "keras-inception" | "caffe" | "torch"
  //   gaze_converter_version  the version of `gaze convert` that wrote the file, e.g. "1"
  std::map<std::string, std::string> attributes;
};

}  // namespace gaze
