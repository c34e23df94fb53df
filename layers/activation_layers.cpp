// Keras' Activation layer and the activation layers ReLU, LeakyReLU, ELU and Softmax: each is
// one activation of the table (autograd/activation.h) applied to its input.
#include "layers/config_reader.h"
#include "layers/keras_layers.h"

namespace gaze {

ActivationLayer::ActivationLayer(std::string name, Activation activation, const char* keras_class)
    : Layer(std::move(name)), activation_(activation), class_name_(keras_class) {}

Shape ActivationLayer::build(const std::vector<Shape>& inputs) {
  expect_inputs(inputs, 1);
  return inputs[0];
}

LayerOutput ActivationLayer::forward(const std::vector<Var>& inputs) const {
  return activate(inputs[0], activation_);
}

const Activation* ActivationLayer::elementwise_activation() const {
  return is_elementwise(activation_) ? &activation_ : nullptr;
}

std::unique_ptr<Layer> make_Activation(const std::string& name, const ConfigReader& r) {
  return std::make_unique<ActivationLayer>(name, r.activation());
}

// keras/src/layers/activations/relu.py: max_value (None), negative_slope (0), threshold (0).
std::unique_ptr<Layer> make_ReLU(const std::string& name, const ConfigReader& r) {
  Activation a{.kind = ActivationKind::kRelu};
  a.negative_slope = static_cast<float>(r.number("negative_slope", 0.0));
  a.threshold = static_cast<float>(r.number("threshold", 0.0));
  if (r.find("max_value")) a.max_value = static_cast<float>(r.number("max_value", 0.0));
  if (!(a.max_value > 0.0f)) r.bad("max_value", "positive");
  if (a.negative_slope < 0.0f) r.bad("negative_slope", "at least 0");
  return std::make_unique<ActivationLayer>(name, a, "ReLU");
}

// keras/src/layers/activations/leaky_relu.py: negative_slope (Keras 3), alpha (Keras 2 and
// TF.js); 0.3 by default in all three.
std::unique_ptr<Layer> make_LeakyReLU(const std::string& name, const ConfigReader& r) {
  Activation a{.kind = ActivationKind::kRelu};
  a.negative_slope = static_cast<float>(r.find("negative_slope") ? r.number("negative_slope", 0.3)
                                                                 : r.number("alpha", 0.3));
  return std::make_unique<ActivationLayer>(name, a, "LeakyReLU");
}

// keras/src/layers/activations/elu.py: alpha (1.0).
std::unique_ptr<Layer> make_ELU(const std::string& name, const ConfigReader& r) {
  Activation a{.kind = ActivationKind::kElu};
  a.alpha = static_cast<float>(r.number("alpha", 1.0));
  return std::make_unique<ActivationLayer>(name, a, "ELU");
}

// keras/src/layers/activations/softmax.py: over `axis` (-1); gaze supports the last axis.
std::unique_ptr<Layer> make_Softmax(const std::string& name, const ConfigReader& r) {
  const ConfigReader::json* axis = r.find("axis");
  if (axis && !(axis->is_number_integer() && axis->get<int64_t>() == -1) &&
      !(axis->is_array() && axis->size() == 1 && (*axis)[0] == -1)) {
    r.unsupported("axis", axis->dump() + " (only the last axis, -1)");
  }
  return std::make_unique<ActivationLayer>(name, Activation{.kind = ActivationKind::kSoftmax},
                                           "Softmax");
}

}  // namespace gaze
