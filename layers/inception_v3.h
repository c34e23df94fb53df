// Inception-v3 written out by hand, block by block, following keras.applications' inception_v3.py
// (Szegedy et al., "Rethinking the Inception Architecture", 2015). Layer names are the ones
// Keras 2 gives (conv2d_1 ... conv2d_94, batch_normalization_N, activation_N, mixed0 ... mixed10),
// so keras.applications weight files and models built on its base load into it.
#pragma once

#include "layers/model.h"

namespace gaze {

struct InceptionV3Options {
  bool include_top = true;  // GlobalAveragePooling2D 'avg_pool' + Dense 'predictions' (softmax)
  int64_t classes = 1000;
  int64_t input_size = 299;  // height and width; at least 75
};

Model inception_v3(const InceptionV3Options& options = {});

}  // namespace gaze
