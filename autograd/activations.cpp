// Element-wise activations and softmax.
#include <algorithm>
#include <cmath>

#include "autograd/op_helpers.h"
#include "autograd/ops.h"

namespace gaze {

Var relu(const Var& x, float max_value) {
  if (!(max_value > 0.0f)) throw Error("relu: max_value must be positive");
  const Tensor& xv = x.value();
  Tensor out(xv.shape());
  const float* xi = xv.data();
  float* o = out.data();
#pragma omp parallel for
  for (int64_t i = 0; i < xv.size(); ++i) o[i] = std::min(std::max(xi[i], 0.0f), max_value);
  return make_result(std::move(out), "relu", {x},
                     [max_value](Node& self, const BackwardOptions& opt) {
                       self.inputs[0]->accumulate_grad(
                           relu_backward(self.value, self.grad, max_value, opt.relu_rule));
                     });
}

Tensor relu_backward(const Tensor& y, const Tensor& dy, float max_value, ReluRule rule) {
  // The output tells where the input was inside (0, max_value): the derivative is 1 there.
  Tensor dx(dy.shape());
  const bool guided = rule == ReluRule::kGuided;
  const float* yv = y.data();
  const float* dyv = dy.data();
  for (int64_t i = 0; i < dx.size(); ++i) {
    const bool pass = yv[i] > 0.0f && yv[i] < max_value && (!guided || dyv[i] > 0.0f);
    dx.data()[i] = pass ? dyv[i] : 0.0f;
  }
  return dx;
}

Var sigmoid(const Var& x) {
  const Tensor& xv = x.value();
  Tensor out(xv.shape());
  for (int64_t i = 0; i < xv.size(); ++i) out.data()[i] = 1.0f / (1.0f + std::exp(-xv.data()[i]));
  return make_result(std::move(out), "sigmoid", {x}, [](Node& self, const BackwardOptions&) {
    const float* y = self.value.data();
    Tensor dx(self.grad.shape());
    for (int64_t i = 0; i < dx.size(); ++i)
      dx.data()[i] = self.grad.data()[i] * y[i] * (1.0f - y[i]);
    self.inputs[0]->accumulate_grad(std::move(dx));
  });
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
