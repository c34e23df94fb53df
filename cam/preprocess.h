// From decoded pixels to the tensor a model was trained on. The method is stored in the
// converted model (root attribute gaze_preprocessing) and can be overridden on the command line.
#pragma once

#include <string>

#include "cam/image.h"
#include "tensor/tensor.h"

namespace gaze {

enum class Preprocessing {
  kNsfwjs,          // RGB / 255, then TF.js resizeBilinear(alignCorners=true) if the size differs
  kKerasInception,  // x / 127.5 - 1 (keras.applications inception_v3 / mobilenet)
  kCaffe,           // BGR, minus the ImageNet mean [103.939, 116.779, 123.68]
  kTorch,           // x / 255, minus mean [0.485, 0.456, 0.406], over std [0.229, 0.224, 0.225]
  kNone,            // RGB as float in [0, 255]
};

Preprocessing parse_preprocessing(const std::string& name);  // throws Error listing the names

// TensorFlow.js' CPU resizeBilinear with alignCorners=true and halfPixelCenters=false, reproduced
// operation for operation: source coordinates and interpolation in double precision (JavaScript
// numbers) from float32 inputs, rounded to float32 once. x is [H, W, C].
Tensor resize_bilinear_align_corners(const Tensor& x, int64_t out_h, int64_t out_w);

// The model input [1, height, width, 3] for `image`. Every method resizes with the bilinear
// sampling above when the image is not already height x width (the whole image, stretched; no
// crop). nsfwjs scales before resizing, as nsfwjs does; the others resize the 0..255 values
// first.
Tensor preprocess(const Image& image, Preprocessing method, int64_t height, int64_t width);

}  // namespace gaze
