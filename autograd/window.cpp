#include <string>

#include "autograd/ops.h"

namespace gaze {

PaddedSize padded_size(int64_t in, int64_t kernel, int64_t stride, Padding padding) {
  if (kernel < 1 || stride < 1) {
    throw Error("window: kernel " + std::to_string(kernel) + " and stride " +
                std::to_string(stride) + " must be positive");
  }
  if (padding == Padding::kValid) {
    if (in < kernel) {
      throw Error("window: kernel " + std::to_string(kernel) + " is larger than the input (" +
                  std::to_string(in) + ") with 'valid' padding");
    }
    return {(in - kernel) / stride + 1, 0};
  }
  const int64_t out = (in + stride - 1) / stride;
  const int64_t total = std::max<int64_t>((out - 1) * stride + kernel - in, 0);
  return {out, total / 2};  // the odd cell goes after: bottom/right, as TensorFlow does
}

}  // namespace gaze
