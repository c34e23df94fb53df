// One Keras layer made as the config builder makes it (layers/registry.cpp), for the layer
// tests: built on given input shapes, with weights set, run on constant inputs, and its forward
// checked against finite differences.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "layers/registry.h"
#include "tests/support/gradient_check.h"

#include "tests/support/test_util.h"

namespace gaze::testing {

// The shape with its first (batch) dimension unknown, as the model builds layers.
inline Shape with_unknown_batch(Shape s) {
  if (!s.empty()) s[0] = -1;
  return s;
}

struct BuiltLayer {
  std::unique_ptr<Layer> layer;
  Shape output_shape;  // from build(), batch -1
};

// The layer `class_name` named "l" from its Keras config JSON, built on input shapes whose
// batch dimension is taken as unknown.
inline BuiltLayer keras_layer(const std::string& class_name, const std::string& config,
                              const std::vector<Shape>& input_shapes) {
  BuiltLayer b;
  b.layer = make_layer(class_name, "l", nlohmann::json::parse(config));
  std::vector<Shape> shapes;
  for (const Shape& s : input_shapes) shapes.push_back(with_unknown_batch(s));
  b.output_shape = b.layer->build(shapes);
  return b;
}

// Sets the weight slots, in their order, to `values` (shapes must match).
inline void set_weights(Layer& layer, const std::vector<Tensor>& values) {
  ASSERT_EQ(layer.weights().size(), values.size()) << layer.name();
  for (size_t i = 0; i < values.size(); ++i) {
    ASSERT_EQ(to_string(layer.weights()[i].shape), to_string(values[i].shape()))
        << "weight " << layer.weights()[i].name;
    layer.weights()[i].value = values[i];
  }
}

// The layer's output on constant inputs.
inline Tensor run(const Layer& layer, const std::vector<Tensor>& inputs) {
  std::vector<Var> vars;
  for (const Tensor& t : inputs) vars.push_back(Var(t));
  return layer.forward(vars).output.value();
}

// Finite differences against backward for every input of the layer's forward.
inline void check_layer_gradients(const Layer& layer, const std::vector<Tensor>& inputs) {
  check_gradients([&layer](const std::vector<Var>& v) { return layer.forward(v).output; }, inputs);
}

// The Error make_layer + build give for this config, or "no error".
inline std::string config_error(const std::string& class_name, const std::string& config,
                                const std::vector<Shape>& input_shapes) {
  return error_of([&] { keras_layer(class_name, config, input_shapes); });
}

// The base-layer fields each Keras version writes into every layer config (Keras 3's dtype is a
// DTypePolicy object), to splice in front of a layer's own fields: "{" + kKeras3Base + ", ...}".
inline constexpr const char* kKeras2Base = R"("name": "l", "trainable": true, "dtype": "float32")";
inline constexpr const char* kKeras3Base =
    R"("name": "l", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy",
       "config": {"name": "float32"}, "registered_name": null})";

}  // namespace gaze::testing
