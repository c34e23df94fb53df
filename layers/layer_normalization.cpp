// Keras LayerNormalization over the last axis: each position's channels normalized by their own
// mean and biased variance, (x - mean) / sqrt(variance + epsilon) * gamma + beta, epsilon inside
// the square root (keras/src/ops/nn.py _layer_normalization; Keras 2's
// keras/layers/normalization/layer_normalization.py via tf.nn.batch_normalization; TF.js's
// layerNormalization the same). Weights gamma (scale=True) then beta (center=True), [C].
#include "layers/config_reader.h"

namespace gaze {
namespace {

struct LayerNormalizationConfig {
  int64_t axis = -1;
  float epsilon = 1e-3f;
  bool center = true, scale = true;
};

class LayerNormalization : public Layer {
 public:
  LayerNormalization(std::string name, LayerNormalizationConfig config)
      : Layer(std::move(name)), config_(config) {
    if (!(config_.epsilon > 0.0f)) fail("epsilon must be positive");
  }
  const char* class_name() const override { return "LayerNormalization"; }

  Shape build(const std::vector<Shape>& inputs) override {
    expect_inputs(inputs, 1);
    const Shape& in = inputs[0];
    const auto rank = static_cast<int64_t>(in.size());
    if (rank < 2 || in.back() <= 0) fail("input " + to_string(in) + " has no channel axis");
    if (config_.axis != -1 && config_.axis != rank - 1) {
      fail("axis " + std::to_string(config_.axis) + " is not the last axis of input " +
           to_string(in) + " (only the last axis is supported)");
    }
    if (config_.scale) add_weight("gamma", {in.back()});
    if (config_.center) add_weight("beta", {in.back()});
    return in;
  }

  LayerOutput forward(const std::vector<Var>& inputs) const override {
    return {layer_norm(inputs[0], param("gamma"), param("beta"), config_.epsilon), Var()};
  }

 private:
  LayerNormalizationConfig config_;
};

}  // namespace

std::unique_ptr<Layer> make_LayerNormalization(const std::string& name, const ConfigReader& r) {
  // Keras 3's deprecated rms_scaling divides by the variance instead (RMSNormalization).
  if (r.boolean("rms_scaling", false)) r.unsupported("rms_scaling", "true");
  LayerNormalizationConfig c;
  c.axis = r.single_axis("axis", -1);
  c.epsilon = static_cast<float>(r.number("epsilon", 1e-3));
  c.center = r.boolean("center", true);
  c.scale = r.boolean("scale", true);
  return std::make_unique<LayerNormalization>(name, c);
}

}  // namespace gaze
