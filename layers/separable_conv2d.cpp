// Keras SeparableConv2D (Xception): a depthwise convolution with depth_multiplier filters per
// input channel, then a pointwise 1x1 convolution mixing its Cin*M channels, the bias, and the
// activation. keras/src/layers/convolutional/base_separable_conv.py creates the weights
// depthwise_kernel [kh, kw, Cin, M], pointwise_kernel [1, 1, Cin*M, filters] and bias
// [filters], and runs ops.separable_conv; both it and Keras 2 (tf.nn.separable_conv2d) apply the
// strides and the padding in the depthwise step, the pointwise step being 1x1 with stride 1.
#include "layers/config_reader.h"
#include "layers/keras_layers.h"
#include "layers/layer_checks.h"

namespace gaze {
namespace {

struct SeparableConv2DConfig {
  int64_t filters = 0;
  int64_t kernel_h = 0, kernel_w = 0;
  int64_t stride_h = 1, stride_w = 1;
  int64_t depth_multiplier = 1;
  Padding padding = Padding::kValid;
  bool use_bias = true;
  Activation activation = {};
  int64_t dilation_h = 1, dilation_w = 1;  // of the depthwise step
};

class SeparableConv2D : public Layer {
 public:
  SeparableConv2D(std::string name, SeparableConv2DConfig config)
      : Layer(std::move(name)), config_(config) {
    if (config_.filters <= 0) fail("filters must be positive");
    if (config_.depth_multiplier <= 0) fail("depth_multiplier must be positive");
    if (config_.kernel_h <= 0 || config_.kernel_w <= 0) fail("kernel_size must be positive");
    if (config_.stride_h <= 0 || config_.stride_w <= 0) fail("strides must be positive");
  }
  const char* class_name() const override { return "SeparableConv2D"; }

  Shape build(const std::vector<Shape>& inputs) override {
    expect_inputs(inputs, 1);
    require_image_input(*this, inputs[0]);
    const SeparableConv2DConfig& c = config_;
    const Shape& in = inputs[0];
    add_weight("depthwise_kernel", {c.kernel_h, c.kernel_w, in[3], c.depth_multiplier});
    add_weight("pointwise_kernel", {1, 1, in[3] * c.depth_multiplier, c.filters});
    if (c.use_bias) add_weight("bias", {c.filters});
    try {
      return {in[0],
              padded_size(in[1], (c.kernel_h - 1) * c.dilation_h + 1, c.stride_h, c.padding).out,
              padded_size(in[2], (c.kernel_w - 1) * c.dilation_w + 1, c.stride_w, c.padding).out,
              c.filters};
    } catch (const Error& e) {
      fail(e.what());
    }
  }

  std::optional<ConvolutionSpec> convolution() const override {
    ConvolutionSpec spec;
    spec.kind = ConvolutionSpec::Kind::kSeparable;
    spec.activation = config_.activation;
    spec.depthwise_options = {config_.stride_h, config_.stride_w, config_.padding};
    spec.kernel = "pointwise_kernel";
    spec.depthwise_options.dilation_h = config_.dilation_h;
    spec.depthwise_options.dilation_w = config_.dilation_w;
    return spec;
  }

  LayerOutput forward(const std::vector<Var>& inputs) const override {
    const ConvOptions spatial = convolution()->depthwise_options;
    const Var depthwise = depthwise_conv2d(inputs[0], param("depthwise_kernel"), Var(), spatial);
    ConvOptions pointwise;
    if (!is_class_score_activation(config_.activation)) pointwise.activation = config_.activation;
    const Var y = conv2d(depthwise, param("pointwise_kernel"), param("bias"), pointwise);
    return is_linear(pointwise.activation) ? activate(y, config_.activation)
                                           : LayerOutput{y, Var()};
  }

 private:
  SeparableConv2DConfig config_;
};

}  // namespace

std::unique_ptr<Layer> make_SeparableConv2D(const std::string& name, const ConfigReader& r) {
  SeparableConv2DConfig c;
  read_convolution_fields(r, c);
  c.depth_multiplier = r.integer("depth_multiplier", 1);
  return std::make_unique<SeparableConv2D>(name, c);
}

}  // namespace gaze
