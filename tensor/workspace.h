// Scratch memory reused from call to call.
//
// Convolutions need large temporary buffers (im2col columns, Winograd's transformed tiles, up to
// 8 MiB). Allocated anew for every layer of every image, they fragment the heap: over 100 images
// the resident memory crept up by 5-20%. A Workspace is allocated once at the largest size asked
// for and handed out again; its owner (a Model) passes it to the ops it runs.
#pragma once

#include <cstdint>

#include "tensor/tensor.h"

namespace gaze {

class Workspace {
 public:
  // At least `floats` floats, valid until the next call; contents unspecified. Not thread-safe.
  float* get(int64_t floats) {
    if (buffer_.size() < floats) buffer_ = Tensor({floats});
    return buffer_.data();
  }

 private:
  Tensor buffer_;
};

}  // namespace gaze
