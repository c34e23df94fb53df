// InputLayer, Dense, BatchNormalization, activations, Concatenate and the shape-only layers.
#include <algorithm>

#include "layers/config_reader.h"
#include "layers/keras_layers.h"

namespace gaze {

InputLayer::InputLayer(std::string name, Shape shape)
    : Layer(std::move(name)), shape_(std::move(shape)) {
  if (shape_.size() < 2) fail("input shape " + to_string(shape_) + " has no batch dimension");
  for (size_t i = 1; i < shape_.size(); ++i) {
    if (shape_[i] <= 0)
      fail("input shape " + to_string(shape_) + " must be fully known (besides the batch)");
  }
}

Shape InputLayer::build(const std::vector<Shape>& inputs) {
  expect_inputs(inputs, 0);
  return shape_;
}

LayerOutput InputLayer::forward(const std::vector<Var>& inputs) const {
  return {inputs.at(0), Var()};
}

Dense::Dense(std::string name, DenseConfig config) : Layer(std::move(name)), config_(config) {
  if (config_.units <= 0) fail("units must be positive");
}

// On an input of rank > 2, Keras' Dense applies the kernel to the last axis at every position
// (ConvNeXt's pointwise layers): the same as on the rows of [positions, features].
Shape Dense::build(const std::vector<Shape>& inputs) {
  expect_inputs(inputs, 1);
  if (inputs[0].size() < 2 || inputs[0].back() <= 0) {
    fail("expects input [batch, ..., features], got " + to_string(inputs[0]));
  }
  add_weight("kernel", {inputs[0].back(), config_.units});
  if (config_.use_bias) add_weight("bias", {config_.units});
  Shape out = inputs[0];
  out.back() = config_.units;
  return out;
}

LayerOutput Dense::forward(const std::vector<Var>& inputs) const {
  const Var& x = inputs[0];
  Var y;
  if (x.shape().size() == 2) {
    y = dense(x, param("kernel"), param("bias"));
  } else {
    Shape out = x.shape();
    out.back() = config_.units;
    y = reshape(dense(reshape(x, {-1, x.shape().back()}), param("kernel"), param("bias")), out);
  }
  return activate(y, config_.activation);
}

BatchNormalization::BatchNormalization(std::string name, BatchNormalizationConfig config)
    : Layer(std::move(name)), config_(config) {}

Shape BatchNormalization::build(const std::vector<Shape>& inputs) {
  expect_inputs(inputs, 1);
  if (inputs[0].size() < 2 || inputs[0].back() <= 0)
    fail("input " + to_string(inputs[0]) + " has no channel axis");
  const int64_t c = inputs[0].back();
  if (config_.scale) add_weight("gamma", {c});
  if (config_.center) add_weight("beta", {c});
  add_weight("moving_mean", {c});
  add_weight("moving_variance", {c});
  return inputs[0];
}

LayerOutput BatchNormalization::forward(const std::vector<Var>& inputs) const {
  return {batch_norm(inputs[0], param("moving_mean"), param("moving_variance"), param("gamma"),
                     param("beta"), config_.epsilon),
          Var()};
}

Shape Concatenate::build(const std::vector<Shape>& inputs) {
  if (inputs.size() < 2) fail("expects at least 2 inputs");
  Shape out = inputs[0];
  out.back() = 0;
  for (const Shape& s : inputs) {
    if (s.size() != out.size() || !std::equal(s.begin(), s.end() - 1, out.begin())) {
      fail("input shapes " + to_string(inputs[0]) + " and " + to_string(s) +
           " differ outside the channel axis");
    }
    out.back() += s.back();
  }
  return out;
}

LayerOutput Concatenate::forward(const std::vector<Var>& inputs) const {
  return {concat_channels(inputs), Var()};
}

Shape Flatten::build(const std::vector<Shape>& inputs) {
  expect_inputs(inputs, 1);
  int64_t features = 1;
  for (size_t i = 1; i < inputs[0].size(); ++i) features *= inputs[0][i];
  return {inputs[0][0], features};
}

LayerOutput Flatten::forward(const std::vector<Var>& inputs) const {
  return {flatten(inputs[0]), Var()};
}

Shape Dropout::build(const std::vector<Shape>& inputs) {
  expect_inputs(inputs, 1);
  return inputs[0];
}

LayerOutput Dropout::forward(const std::vector<Var>& inputs) const {
  return {dropout(inputs[0]), Var()};
}

// ---- Keras configs ----

namespace {

// The batch input shape: Keras 2 `batch_input_shape`, Keras 3 `batch_shape`.
Shape input_shape(const ConfigReader& r) {
  const nlohmann::json* s = r.find("batch_input_shape");
  if (!s) s = r.find("batch_shape");
  if (!s || !s->is_array()) r.bad("batch_input_shape", "a list like [null, 299, 299, 3]");
  Shape shape;
  for (const nlohmann::json& d : *s) {
    if (d.is_null())
      shape.push_back(-1);
    else if (d.is_number_integer())
      shape.push_back(d.get<int64_t>());
    else
      r.bad("batch_input_shape", "a list of integers and nulls");
  }
  return shape;
}

}  // namespace

std::unique_ptr<Layer> make_InputLayer(const std::string& name, const ConfigReader& r) {
  return std::make_unique<InputLayer>(name, input_shape(r));
}

std::unique_ptr<Layer> make_BatchNormalization(const std::string& name, const ConfigReader& r) {
  r.require_channel_axis();
  BatchNormalizationConfig c;
  c.epsilon = static_cast<float>(r.number("epsilon", 1e-3));
  c.center = r.boolean("center", true);
  c.scale = r.boolean("scale", true);
  return std::make_unique<BatchNormalization>(name, c);
}

std::unique_ptr<Layer> make_Dense(const std::string& name, const ConfigReader& r) {
  DenseConfig c;
  c.units = r.integer("units", 0);
  c.use_bias = r.boolean("use_bias", true);
  c.activation = r.activation();
  return std::make_unique<Dense>(name, c);
}

std::unique_ptr<Layer> make_Concatenate(const std::string& name, const ConfigReader& r) {
  r.require_channel_axis();
  return std::make_unique<Concatenate>(name);
}

std::unique_ptr<Layer> make_Flatten(const std::string& name, const ConfigReader& r) {
  r.require_channels_last();
  return std::make_unique<Flatten>(name);
}

std::unique_ptr<Layer> make_Dropout(const std::string& name, const ConfigReader&) {
  return std::make_unique<Dropout>(name);
}

}  // namespace gaze
