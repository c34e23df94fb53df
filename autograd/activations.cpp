// relu, sigmoid (entries of the activation table) and softmax.
#include <algorithm>
#include <cmath>

#include "autograd/op_helpers.h"
#include "autograd/ops.h"

namespace gaze {

Var relu(const Var& x, float max_value) {
  if (!(max_value > 0.0f)) throw Error("relu: max_value must be positive");
  return activation(x, {.kind = ActivationKind::kRelu, .max_value = max_value});
}

Var sigmoid(const Var& x) {
  return activation(x, {.kind = ActivationKind::kSigmoid});
}

Var softmax(const Var& x) {
  const Tensor& xv = x.value();
  if (xv.rank() < 1 || xv.dim(-1) == 0)
    throw Error("softmax: empty last axis in " + to_string(xv.shape()));
  const int64_t c = xv.dim(-1);
  const int64_t rows = xv.size() / c;
  Tensor out(xv.shape());
  for (int64_t r = 0; r < rows; ++r) {
    const float* xi = xv.data() + r * c;
    float* o = out.data() + r * c;
    const float mx = *std::max_element(xi, xi + c);
    double sum = 0.0;
    for (int64_t j = 0; j < c; ++j) sum += o[j] = std::exp(xi[j] - mx);
    for (int64_t j = 0; j < c; ++j) o[j] = static_cast<float>(o[j] / sum);
  }
  return make_result(std::move(out), "softmax", {x}, [c, rows](Node& self, const BackwardOptions&) {
    // dx_j = y_j * (dy_j - sum_k dy_k y_k)
    Tensor dx(self.grad.shape());
    for (int64_t r = 0; r < rows; ++r) {
      const float* y = self.value.data() + r * c;
      const float* dy = self.grad.data() + r * c;
      double dot = 0.0;
      for (int64_t j = 0; j < c; ++j) dot += static_cast<double>(dy[j]) * y[j];
      for (int64_t j = 0; j < c; ++j)
        dx.data()[r * c + j] = static_cast<float>(y[j] * (dy[j] - dot));
    }
    self.inputs[0]->accumulate_grad(std::move(dx));
  });
}

}  // namespace gaze
