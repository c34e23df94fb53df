#include "layers/layer.h"

namespace gaze {

Activation parse_activation(const std::string& keras_name) {
  if (keras_name == "linear") return Activation::kLinear;
  if (keras_name == "relu") return Activation::kRelu;
  if (keras_name == "sigmoid") return Activation::kSigmoid;
  if (keras_name == "softmax") return Activation::kSoftmax;
  throw Error("unsupported activation '" + keras_name +
              "' (supported: linear, relu, sigmoid, softmax)");
}

Var apply_activation(Activation a, const Var& x) {
  switch (a) {
    case Activation::kLinear:
      return x;
    case Activation::kRelu:
      return relu(x);
    case Activation::kSigmoid:
      return sigmoid(x);
    case Activation::kSoftmax:
      return softmax(x);
  }
  return x;
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
