// Keras GlobalMaxPooling2D: each channel's maximum over the map, [N, C], or [N, 1, 1, C] with
// keepdims (keras/src/layers/pooling/base_global_pooling.py; Keras 2 the same). The gradient
// goes to the first maximum, in row-major order, of each channel.
#include "layers/config_reader.h"
#include "layers/layer_checks.h"

namespace gaze {
namespace {

class GlobalMaxPooling2D : public Layer {
 public:
  GlobalMaxPooling2D(std::string name, bool keepdims)
      : Layer(std::move(name)), keepdims_(keepdims) {}
  const char* class_name() const override { return "GlobalMaxPooling2D"; }

  Shape build(const std::vector<Shape>& inputs) override {
    expect_inputs(inputs, 1);
    require_image_input(*this, inputs[0]);
    if (keepdims_) return {inputs[0][0], 1, 1, inputs[0][3]};
    return {inputs[0][0], inputs[0][3]};
  }

  LayerOutput forward(const std::vector<Var>& inputs) const override {
    const Var y = global_max_pool2d(inputs[0]);
    return {keepdims_ ? reshape(y, {y.shape()[0], 1, 1, y.shape()[1]}) : y, Var()};
  }

 private:
  bool keepdims_;
};

}  // namespace

std::unique_ptr<Layer> make_GlobalMaxPooling2D(const std::string& name, const ConfigReader& r) {
  r.require_channels_last();
  return std::make_unique<GlobalMaxPooling2D>(name, r.boolean("keepdims", false));
}

}  // namespace gaze
