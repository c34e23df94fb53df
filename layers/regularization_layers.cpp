// The regularization layers that are the identity at inference: SpatialDropout2D, GaussianNoise,
// GaussianDropout and ActivityRegularization (keras/src/layers/regularization/: each acts only
// when training=True; ActivityRegularization only adds a loss). Dropout is in core_layers.cpp.
// Their fields (rate, stddev, seed, l1, l2, noise_shape, data_format) change nothing at
// inference, so only their types are checked.
#include "layers/config_reader.h"
#include "layers/layer_checks.h"

namespace gaze {
namespace {

class InferenceIdentity : public Layer {
 public:
  InferenceIdentity(std::string name, const char* keras_class, bool image_input)
      : Layer(std::move(name)), class_(keras_class), image_input_(image_input) {}
  const char* class_name() const override { return class_; }
  bool is_identity_at_inference() const override { return true; }

  Shape build(const std::vector<Shape>& inputs) override {
    expect_inputs(inputs, 1);
    if (image_input_) require_image_input(*this, inputs[0]);  // Keras: InputSpec(ndim=4)
    return inputs[0];
  }

  LayerOutput forward(const std::vector<Var>& inputs) const override {
    return {dropout(inputs[0]), Var()};
  }

 private:
  const char* class_;
  bool image_input_;
};

void check_numbers(const ConfigReader& r, std::initializer_list<const char*> keys) {
  for (const char* key : keys) r.number(key, 0.0);
}

}  // namespace

std::unique_ptr<Layer> make_SpatialDropout2D(const std::string& name, const ConfigReader& r) {
  check_numbers(r, {"rate"});
  return std::make_unique<InferenceIdentity>(name, "SpatialDropout2D", true);
}

std::unique_ptr<Layer> make_GaussianNoise(const std::string& name, const ConfigReader& r) {
  check_numbers(r, {"stddev"});
  return std::make_unique<InferenceIdentity>(name, "GaussianNoise", false);
}

std::unique_ptr<Layer> make_GaussianDropout(const std::string& name, const ConfigReader& r) {
  check_numbers(r, {"rate"});
  return std::make_unique<InferenceIdentity>(name, "GaussianDropout", false);
}

std::unique_ptr<Layer> make_ActivityRegularization(const std::string& name, const ConfigReader& r) {
  check_numbers(r, {"l1", "l2"});
  return std::make_unique<InferenceIdentity>(name, "ActivityRegularization", false);
}

}  // namespace gaze
