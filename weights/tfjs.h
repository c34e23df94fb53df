// TensorFlow.js "layers" models, read into a KerasFile so they can be written as Keras HDF5.
//
// Two packagings are read:
//  - a plain TF.js model.json, with its binary weight shards beside it (the file names listed
//    in weightsManifest[].paths);
//  - nsfwjs's JavaScript bundles: model.min.js, a browserify UMD module exporting the model.json
//    object as a JavaScript object literal, and group1-shardNofM.min.js beside it, each exporting
//    one shard as a base64 string.
//
// The result is what Keras's model.save() would hold: the Keras model config, and every layer of
// that config in config order with its weights named "<layer>/<weight>:0" in Keras order (kernel
// or depthwise_kernel, bias, gamma, beta, moving_mean, moving_variance). Quantized weights are
// dequantized exactly as TF.js does: float32(q * scale + min), computed in double precision.
#pragma once

#include <string>

#include "weights/keras_file.h"

namespace gaze {

// Throws gaze::Error, its message starting with `path`, when a file or shard is missing or
// malformed, or when the weights manifest and the model config disagree.
KerasFile read_tfjs_model(const std::string& path);

}  // namespace gaze
