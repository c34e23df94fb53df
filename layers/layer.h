// The layer contract: a Keras layer as an object that owns its parameters.
//
//  - A layer is created from its Keras config (layers/registry.cpp maps class_name to a factory)
//    or in code (layers/inception_v3.cpp), with the name Keras gives it.
//  - build() is called once, when the layer is connected: it checks the input shapes, creates the
//    weight slots (in Keras order, with the shapes Keras would give them) and returns the output
//    shape. Batch dimensions are -1 ("None").
//  - forward() maps input Vars to an output Var using the ops of autograd/ops.h; layers with a
//    class-score activation (softmax, sigmoid) also return the value before it, so Grad-CAM can
//    take the pre-softmax score.
//  - A layer never changes once its weights are loaded: speed-ups that derive other kernels
//    (folding, Winograd, merged GEMMs) live in the model's compiled plan (layers/plan.h).
//  - Parameters never require gradients: gaze explains, it does not train.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "autograd/activation.h"
#include "autograd/ops.h"

namespace gaze {

// A layer's products `y` through its `activation=` (the activation table, autograd/activation.h).
// The value before a class-score activation (softmax, sigmoid) is kept as the pre-activation.
struct LayerOutput;
LayerOutput activate(const Var& y, const Activation& activation);

// One parameter slot: Keras' short name ("kernel", "bias", "gamma", "beta", "moving_mean",
// "moving_variance", "depthwise_kernel"), the shape it must have, and its value once loaded.
struct Weight {
  std::string name;
  Shape shape;
  Tensor value;
};

// How a convolution layer computes, for the inference plan (layers/plan.h), which runs it with
// the batch normalization and activation after it fused into its epilogue.
struct ConvolutionSpec {
  enum class Kind { kConv2D, kDepthwise, kSeparable };
  Kind kind = Kind::kConv2D;
  ConvOptions options;            // the (last) convolution: strides, padding, dilation, groups
  Activation activation;          // the layer's own activation=
  ConvOptions depthwise_options;  // kSeparable: its depthwise step, before the 1x1 kernel
  const char* kernel = "kernel";  // the weight names: the (last) kernel, the bias,
  const char* bias = "bias";      // and kSeparable's depthwise kernel
  const char* depthwise_kernel = "depthwise_kernel";
};

struct LayerOutput {
  Var output;
  Var pre_activation;  // the output before a fused non-linear activation; undefined otherwise
};

class Layer {
 public:
  explicit Layer(std::string name) : name_(std::move(name)) {}
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  const std::string& name() const { return name_; }
  virtual const char* class_name() const = 0;
  // Creates the weight slots and returns the output shape; throws Error on unfit inputs.
  virtual Shape build(const std::vector<Shape>& input_shapes) = 0;
  // Runs the layer; every weight must have a value (Model checks before running).
  virtual LayerOutput forward(const std::vector<Var>& inputs) const = 0;
  // For layers that are nothing but an elementwise activation of their one input (Activation,
  // ReLU, LeakyReLU, ...): that activation, which a plan may fuse into the convolution before.
  virtual const Activation* elementwise_activation() const { return nullptr; }
  // For layers that pass their input through unchanged at inference (Dropout, GaussianNoise,
  // ...): CAM's head may contain them.
  virtual bool is_identity_at_inference() const { return false; }
  // For convolution layers (Conv2D, DepthwiseConv2D, SeparableConv2D): how they compute.
  virtual std::optional<ConvolutionSpec> convolution() const { return std::nullopt; }

  std::vector<Weight>& weights() { return weights_; }
  const std::vector<Weight>& weights() const { return weights_; }
  int64_t parameter_count() const;

 protected:
  void add_weight(std::string name, Shape shape);
  // The weight's value as a constant Var (undefined Var if the slot does not exist).
  Var param(const std::string& name) const;
  // Throws Error("<class> '<name>': ...") unless there are exactly n inputs.
  void expect_inputs(const std::vector<Shape>& inputs, size_t n) const;
  [[noreturn]] void fail(const std::string& message) const;

 private:
  std::string name_;
  std::vector<Weight> weights_;
};

}  // namespace gaze
