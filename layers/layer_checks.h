// Input checks shared by the layers' build() functions.
#pragma once

#include <string>

#include "layers/layer.h"

namespace gaze {

// Throws Error("<class> '<name>': expects input [batch, height, width, channels], got ...")
// unless `s` is [N, H, W, C] with known H, W and C.
inline void require_image_input(const Layer& layer, const Shape& s) {
  if (s.size() != 4 || s[1] <= 0 || s[2] <= 0 || s[3] <= 0) {
    throw Error(std::string(layer.class_name()) + " '" + layer.name() +
                "': expects input [batch, height, width, channels], got " + to_string(s));
  }
}

}  // namespace gaze
