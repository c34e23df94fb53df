// The Keras layers gaze implements. Each is a thin object over the ops of autograd/ops.h; its
// config struct holds the Keras config fields that matter for inference.
#pragma once

#include <optional>

#include "layers/config_reader.h"
#include "layers/layer.h"

namespace gaze {

class InputLayer : public Layer {
 public:
  InputLayer(std::string name, Shape shape);  // shape with batch: [-1, H, W, C]
  const char* class_name() const override { return "InputLayer"; }
  Shape build(const std::vector<Shape>& inputs) override;
  LayerOutput forward(const std::vector<Var>& inputs) const override;
  const Shape& shape() const { return shape_; }

 private:
  Shape shape_;
};

struct Conv2DConfig {
  int64_t filters = 0;
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  Padding padding = Padding::kValid;
  bool use_bias = true;
  Activation activation = {};
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t groups = 1;
};

// The fields every convolution's Keras config has, into a config struct that has them.
template <class Config>
void read_convolution_fields(const ConfigReader& r, Config& c) {
  r.require_channels_last();
  constexpr bool has_filters = requires {
    c.filters;
  };  // not DepthwiseConv2D
  if constexpr (has_filters) c.filters = r.integer("filters", 0);
  const int64_t k = has_filters ? 0 : 3;
  std::tie(c.kernel_h, c.kernel_w) = r.pair("kernel_size", {k, k});
  std::tie(c.stride_h, c.stride_w) = r.pair("strides", {1, 1});
  std::tie(c.dilation_h, c.dilation_w) = r.dilation();
  c.padding = r.padding();
  c.use_bias = r.boolean("use_bias", true);
  c.activation = r.activation();
}

class Conv2D : public Layer {
 public:
  Conv2D(std::string name, Conv2DConfig config);
  const char* class_name() const override { return "Conv2D"; }
  Shape build(const std::vector<Shape>& inputs) override;
  LayerOutput forward(const std::vector<Var>& inputs) const override;
  std::optional<ConvolutionSpec> convolution() const override;
  const Conv2DConfig& config() const { return config_; }

 private:
  Conv2DConfig config_;
};

struct DepthwiseConv2DConfig {
  int64_t kernel_h = 3, kernel_w = 3;
  int64_t stride_h = 1, stride_w = 1;
  int64_t depth_multiplier = 1;
  Padding padding = Padding::kValid;
  bool use_bias = true;
  Activation activation = {};
  int64_t dilation_h = 1, dilation_w = 1;
};

class DepthwiseConv2D : public Layer {
 public:
  DepthwiseConv2D(std::string name, DepthwiseConv2DConfig config);
  const char* class_name() const override { return "DepthwiseConv2D"; }
  Shape build(const std::vector<Shape>& inputs) override;
  LayerOutput forward(const std::vector<Var>& inputs) const override;
  std::optional<ConvolutionSpec> convolution() const override;
  const DepthwiseConv2DConfig& config() const { return config_; }

 private:
  DepthwiseConv2DConfig config_;
};

struct BatchNormalizationConfig {
  float epsilon = 1e-3f;
  bool center = true;  // has beta
  bool scale = true;   // has gamma
};

class BatchNormalization : public Layer {
 public:
  BatchNormalization(std::string name, BatchNormalizationConfig config);
  const char* class_name() const override { return "BatchNormalization"; }
  Shape build(const std::vector<Shape>& inputs) override;
  LayerOutput forward(const std::vector<Var>& inputs) const override;
  const BatchNormalizationConfig& config() const { return config_; }

 private:
  BatchNormalizationConfig config_;
};

// Keras "Activation", and the activation layers ReLU, LeakyReLU, ELU and Softmax
// (activation_layers.cpp): one activation of the table applied to one input.
class ActivationLayer : public Layer {
 public:
  ActivationLayer(std::string name, Activation activation, const char* keras_class = "Activation");
  const char* class_name() const override { return class_name_; }
  Shape build(const std::vector<Shape>& inputs) override;
  LayerOutput forward(const std::vector<Var>& inputs) const override;
  const Activation& activation() const { return activation_; }
  const Activation* elementwise_activation() const override;

 private:
  Activation activation_;
  const char* class_name_;
};

class Pooling2D : public Layer {  // Keras "MaxPooling2D" and "AveragePooling2D"
 public:
  enum class Kind { kMax, kAverage };
  Pooling2D(std::string name, Kind kind, Window2d window);
  const char* class_name() const override;
  Shape build(const std::vector<Shape>& inputs) override;
  LayerOutput forward(const std::vector<Var>& inputs) const override;

 private:
  Kind kind_;
  Window2d window_;
};

class GlobalAveragePooling2D : public Layer {
 public:
  // keepdims: [N, 1, 1, C] instead of [N, C] (MobileNetV3's squeeze-excite).
  explicit GlobalAveragePooling2D(std::string name, bool keepdims = false)
      : Layer(std::move(name)), keepdims_(keepdims) {}
  const char* class_name() const override { return "GlobalAveragePooling2D"; }
  Shape build(const std::vector<Shape>& inputs) override;
  LayerOutput forward(const std::vector<Var>& inputs) const override;

 private:
  bool keepdims_;
};

struct DenseConfig {
  int64_t units = 0;
  bool use_bias = true;
  Activation activation = {};
};

class Dense : public Layer {
 public:
  Dense(std::string name, DenseConfig config);
  const char* class_name() const override { return "Dense"; }
  Shape build(const std::vector<Shape>& inputs) override;
  LayerOutput forward(const std::vector<Var>& inputs) const override;
  const DenseConfig& config() const { return config_; }

 private:
  DenseConfig config_;
};

class Concatenate : public Layer {  // on the channel axis only (Keras axis -1 or 3)
 public:
  using Layer::Layer;
  const char* class_name() const override { return "Concatenate"; }
  Shape build(const std::vector<Shape>& inputs) override;
  LayerOutput forward(const std::vector<Var>& inputs) const override;
};

class Flatten : public Layer {
 public:
  using Layer::Layer;
  const char* class_name() const override { return "Flatten"; }
  Shape build(const std::vector<Shape>& inputs) override;
  LayerOutput forward(const std::vector<Var>& inputs) const override;
};

class Dropout : public Layer {  // the identity at inference
 public:
  using Layer::Layer;
  const char* class_name() const override { return "Dropout"; }
  bool is_identity_at_inference() const override { return true; }
  Shape build(const std::vector<Shape>& inputs) override;
  LayerOutput forward(const std::vector<Var>& inputs) const override;
};

struct Padding2D {
  int64_t top = 0, bottom = 0, left = 0, right = 0;
};

class ZeroPadding2D : public Layer {
 public:
  ZeroPadding2D(std::string name, Padding2D padding);
  const char* class_name() const override { return "ZeroPadding2D"; }
  Shape build(const std::vector<Shape>& inputs) override;
  LayerOutput forward(const std::vector<Var>& inputs) const override;
  const Padding2D& padding() const { return padding_; }

 private:
  Padding2D padding_;
};

}  // namespace gaze
