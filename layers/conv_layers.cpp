// Conv2D and DepthwiseConv2D.
#include "layers/config_reader.h"
#include "layers/keras_layers.h"
#include "layers/layer_checks.h"

namespace gaze {
namespace {

Shape windowed_shape(const Shape& in, int64_t kh, int64_t kw, int64_t sh, int64_t sw, Padding p,
                     int64_t channels) {
  return {in[0], padded_size(in[1], kh, sh, p).out, padded_size(in[2], kw, sw, p).out, channels};
}

}  // namespace

Conv2D::Conv2D(std::string name, Conv2DConfig config) : Layer(std::move(name)), config_(config) {
  if (config_.filters <= 0) fail("filters must be positive");
}

Shape Conv2D::build(const std::vector<Shape>& inputs) {
  expect_inputs(inputs, 1);
  require_image_input(*this, inputs[0]);
  const Conv2DConfig& c = config_;
  if (inputs[0][3] % c.groups != 0 || c.filters % c.groups != 0) {
    fail(std::to_string(inputs[0][3]) + " input channels and " + std::to_string(c.filters) +
         " filters must both split into " + std::to_string(c.groups) + " groups");
  }
  add_weight("kernel", {c.kernel_h, c.kernel_w, inputs[0][3] / c.groups, c.filters});
  if (c.use_bias) add_weight("bias", {c.filters});
  try {
    return windowed_shape(inputs[0], (c.kernel_h - 1) * c.dilation_h + 1,
                          (c.kernel_w - 1) * c.dilation_w + 1, c.stride_h, c.stride_w, c.padding,
                          c.filters);
  } catch (const Error& e) {
    fail(e.what());
  }
}

std::optional<ConvolutionSpec> Conv2D::convolution() const {
  ConvolutionSpec spec;
  spec.kind = ConvolutionSpec::Kind::kConv2D;
  spec.options = {config_.stride_h, config_.stride_w, config_.padding};
  spec.activation = config_.activation;
  spec.options.dilation_h = config_.dilation_h, spec.options.dilation_w = config_.dilation_w;
  spec.options.groups = config_.groups;
  return spec;
}

LayerOutput Conv2D::forward(const std::vector<Var>& inputs) const {
  ConvOptions options = convolution()->options;
  if (!is_class_score_activation(config_.activation)) options.activation = config_.activation;
  const Var y = conv2d(inputs[0], param("kernel"), param("bias"), options);
  return is_linear(options.activation) ? activate(y, config_.activation) : LayerOutput{y, Var()};
}

DepthwiseConv2D::DepthwiseConv2D(std::string name, DepthwiseConv2DConfig config)
    : Layer(std::move(name)), config_(config) {
  if (config_.depth_multiplier <= 0) fail("depth_multiplier must be positive");
}

Shape DepthwiseConv2D::build(const std::vector<Shape>& inputs) {
  expect_inputs(inputs, 1);
  require_image_input(*this, inputs[0]);
  const DepthwiseConv2DConfig& c = config_;
  const int64_t channels = inputs[0][3] * c.depth_multiplier;
  add_weight("depthwise_kernel", {c.kernel_h, c.kernel_w, inputs[0][3], c.depth_multiplier});
  if (c.use_bias) add_weight("bias", {channels});
  try {
    return windowed_shape(inputs[0], (c.kernel_h - 1) * c.dilation_h + 1,
                          (c.kernel_w - 1) * c.dilation_w + 1, c.stride_h, c.stride_w, c.padding,
                          channels);
  } catch (const Error& e) {
    fail(e.what());
  }
}

std::optional<ConvolutionSpec> DepthwiseConv2D::convolution() const {
  ConvolutionSpec spec;
  spec.kind = ConvolutionSpec::Kind::kDepthwise;
  spec.options = {config_.stride_h, config_.stride_w, config_.padding};
  spec.activation = config_.activation;
  spec.kernel = "depthwise_kernel";
  spec.options.dilation_h = config_.dilation_h, spec.options.dilation_w = config_.dilation_w;
  return spec;
}

LayerOutput DepthwiseConv2D::forward(const std::vector<Var>& inputs) const {
  ConvOptions options = convolution()->options;
  if (!is_class_score_activation(config_.activation)) options.activation = config_.activation;
  const Var y = depthwise_conv2d(inputs[0], param("depthwise_kernel"), param("bias"), options);
  return is_linear(options.activation) ? activate(y, config_.activation) : LayerOutput{y, Var()};
}

Pooling2D::Pooling2D(std::string name, Kind kind, Window2d window)
    : Layer(std::move(name)), kind_(kind), window_(window) {}

const char* Pooling2D::class_name() const {
  return kind_ == Kind::kMax ? "MaxPooling2D" : "AveragePooling2D";
}

Shape Pooling2D::build(const std::vector<Shape>& inputs) {
  expect_inputs(inputs, 1);
  require_image_input(*this, inputs[0]);
  const Window2d& w = window_;
  try {
    return windowed_shape(inputs[0], w.kernel_h, w.kernel_w, w.stride_h, w.stride_w, w.padding,
                          inputs[0][3]);
  } catch (const Error& e) {
    fail(e.what());
  }
}

LayerOutput Pooling2D::forward(const std::vector<Var>& inputs) const {
  return {kind_ == Kind::kMax ? max_pool2d(inputs[0], window_) : avg_pool2d(inputs[0], window_),
          Var()};
}

Shape GlobalAveragePooling2D::build(const std::vector<Shape>& inputs) {
  expect_inputs(inputs, 1);
  require_image_input(*this, inputs[0]);
  if (keepdims_) return {inputs[0][0], 1, 1, inputs[0][3]};
  return {inputs[0][0], inputs[0][3]};
}

LayerOutput GlobalAveragePooling2D::forward(const std::vector<Var>& inputs) const {
  const Var y = global_avg_pool2d(inputs[0]);
  return {keepdims_ ? reshape(y, {y.shape()[0], 1, 1, y.shape()[1]}) : y, Var()};
}

ZeroPadding2D::ZeroPadding2D(std::string name, Padding2D padding)
    : Layer(std::move(name)), padding_(padding) {
  if (padding_.top < 0 || padding_.bottom < 0 || padding_.left < 0 || padding_.right < 0) {
    fail("negative padding");
  }
}

Shape ZeroPadding2D::build(const std::vector<Shape>& inputs) {
  expect_inputs(inputs, 1);
  require_image_input(*this, inputs[0]);
  const Shape& s = inputs[0];
  return {s[0], s[1] + padding_.top + padding_.bottom, s[2] + padding_.left + padding_.right, s[3]};
}

LayerOutput ZeroPadding2D::forward(const std::vector<Var>& inputs) const {
  return {zero_pad2d(inputs[0], padding_.top, padding_.bottom, padding_.left, padding_.right),
          Var()};
}

// ---- Keras configs ----

namespace {

Window2d pool_window(const ConfigReader& r) {
  r.require_channels_last();
  const auto [kh, kw] = r.pair("pool_size", {2, 2});
  const auto [sh, sw] = r.pair("strides", {kh, kw});  // Keras: strides default to pool_size
  return {kh, kw, sh, sw, r.padding()};
}

}  // namespace

std::unique_ptr<Layer> make_Conv2D(const std::string& name, const ConfigReader& r) {
  Conv2DConfig c;
  read_convolution_fields(r, c);
  c.groups = r.integer("groups", 1);
  if (c.groups < 1) r.bad("groups", "a positive integer");
  return std::make_unique<Conv2D>(name, c);
}

std::unique_ptr<Layer> make_DepthwiseConv2D(const std::string& name, const ConfigReader& r) {
  DepthwiseConv2DConfig c;
  read_convolution_fields(r, c);
  c.depth_multiplier = r.integer("depth_multiplier", 1);
  return std::make_unique<DepthwiseConv2D>(name, c);
}

std::unique_ptr<Layer> make_MaxPooling2D(const std::string& name, const ConfigReader& r) {
  return std::make_unique<Pooling2D>(name, Pooling2D::Kind::kMax, pool_window(r));
}

std::unique_ptr<Layer> make_AveragePooling2D(const std::string& name, const ConfigReader& r) {
  return std::make_unique<Pooling2D>(name, Pooling2D::Kind::kAverage, pool_window(r));
}

std::unique_ptr<Layer> make_GlobalAveragePooling2D(const std::string& name, const ConfigReader& r) {
  r.require_channels_last();
  return std::make_unique<GlobalAveragePooling2D>(name, r.boolean("keepdims", false));
}

std::unique_ptr<Layer> make_ZeroPadding2D(const std::string& name, const ConfigReader& r) {
  r.require_channels_last();
  const Borders b = r.borders("padding", 1);
  return std::make_unique<ZeroPadding2D>(name, Padding2D{b.top, b.bottom, b.left, b.right});
}

}  // namespace gaze
