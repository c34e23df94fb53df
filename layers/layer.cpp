#include "layers/layer.h"

namespace gaze {

LayerOutput activate(const Var& y, const Activation& activation) {
  if (is_linear(activation)) return {y, Var()};
  return {gaze::activation(y, activation), is_class_score_activation(activation) ? y : Var()};
}

int64_t Layer::parameter_count() const {
  int64_t n = 0;
  for (const Weight& w : weights_) n += element_count(w.shape);
  return n;
}

void Layer::add_weight(std::string name, Shape shape) {
  weights_.push_back({std::move(name), std::move(shape), Tensor()});
}

Var Layer::param(const std::string& name) const {
  for (const Weight& w : weights_) {
    if (w.name == name) return Var(w.value);
  }
  return Var();
}

void Layer::expect_inputs(const std::vector<Shape>& inputs, size_t n) const {
  if (inputs.size() != n) {
    fail("expects " + std::to_string(n) + " input(s), got " + std::to_string(inputs.size()));
  }
}

void Layer::fail(const std::string& message) const {
  throw Error(std::string(class_name()) + " '" + name_ + "': " + message);
}

}  // namespace gaze
