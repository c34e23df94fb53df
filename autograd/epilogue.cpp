// The epilogue every convolution path shares: scale, bias and an activation of the table,
// applied while the outputs are in cache, and its backward.
#include "autograd/op_helpers.h"

namespace gaze {

void epilogue_row(float* v, int64_t count, const float* scale, const float* bias,
                  const Activation& activation) {
  if (scale && bias) {
    for (int64_t j = 0; j < count; ++j) v[j] = v[j] * scale[j] + bias[j];
  } else if (scale) {
    for (int64_t j = 0; j < count; ++j) v[j] *= scale[j];
  } else if (bias) {
    for (int64_t j = 0; j < count; ++j) v[j] += bias[j];
  }
  if (!is_linear(activation)) activation_forward(activation, v, v, count);
}

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
  Tensor d = dy;
  if (!is_linear(options.activation)) {
    d = Tensor(dy.shape());
    activation_backward(options.activation, nullptr, y.data(), dy.data(), d.data(), d.size(), rule);
  }
  if (d_bias_input) *d_bias_input = d;  // d loss / d bias is summed from this
  if (!options.scale.defined()) return d;
  Tensor scaled(d.shape());
  const int64_t c = options.scale.size();
  const float* s = options.scale.data();
  for (int64_t i = 0; i < d.size(); ++i) scaled.data()[i] = d.data()[i] * s[i % c];
  return scaled;
}

}  // namespace gaze
