// One input of a run: an image file (decoded and preprocessed for the model) or a .npy tensor
// (already preprocessed, used as it is).
#pragma once

#include <string>
#include <vector>

#include "cam/image.h"
#include "cam/preprocess.h"
#include "layers/model.h"

namespace gaze {

struct ModelInput {
  std::string path;
  Tensor tensor;   // [1, H, W, C], what the model runs on
  Image original;  // the decoded image; for a .npy input, the tensor rendered as an image
};

// `path` ending in .npy is read as float32 [H, W, C] or [1, H, W, C] and must match the model's
// input exactly; anything else is decoded as an image and preprocessed with `method`.
// Throws Error naming the file.
ModelInput load_model_input(const std::string& path, const Model& model, Preprocessing method);

struct Prediction {
  int index = 0;
  std::string label;
  float probability = 0.0f;
};

// The classes of one row of probabilities, most probable first. Labels come from
// `class_names`, or are "class_<i>" when there are none. top <= 0 means all.
std::vector<Prediction> rank_predictions(const Tensor& probabilities,
                                         const std::vector<std::string>& class_names, int top);

}  // namespace gaze
