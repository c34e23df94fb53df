// The epilogue every convolution path shares: scale, bias and an activation of the table,
// applied while the outputs are in cache, and its backward.
#include <algorithm>

#include "autograd/op_helpers.h"

namespace gaze {

void epilogue_rows(float* out, int64_t rows, int64_t cout, const ConvOptions& options,
                   const Tensor& bias) {
  const float* s = options.scale.defined() ? options.scale.data() : nullptr;
  const float* b = bias.defined() ? bias.data() : nullptr;
  if (!s && !b && is_linear(options.activation)) return;
#pragma omp parallel for
  for (int64_t r = 0; r < rows; ++r) epilogue_row(out + r * cout, cout, s, b, options.activation);
}

bool fuses_activation(const ConvOptions& options, bool needs_gradient) {
  return !needs_gradient || !backward_needs_input(options.activation);
}

Tensor epilogue_backward(const Tensor& y, const Tensor& dy, const ConvOptions& options,
                         ReluRule rule, Tensor* d_bias_input) {
  const bool scaled = options.scale.defined();
  if (is_linear(options.activation) && !scaled) {
    if (d_bias_input) *d_bias_input = dy;
    return dy;
  }
  Tensor d(dy.shape());
  if (is_linear(options.activation))
    std::copy_n(dy.data(), dy.size(), d.data());
  else
    activation_backward(options.activation, nullptr, y.data(), dy.data(), d.data(), d.size(), rule);
  // d loss / d bias is summed from d before the scale; only a recorded bias needs that copy.
  if (d_bias_input) *d_bias_input = scaled ? d.clone() : d;
  if (scaled) {
    const int64_t c = options.scale.size();
    const float* s = options.scale.data();
    float* v = d.data();
    for (int64_t p = 0; p < d.size(); p += c)
      for (int64_t k = 0; k < c; ++k) v[p + k] *= s[k];
  }
  return d;
}

}  // namespace gaze
