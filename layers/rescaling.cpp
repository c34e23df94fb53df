// Keras Rescaling: x * scale + offset, in float32, the multiply and the add as two operations
// (keras/src/layers/preprocessing/rescaling.py; Keras 2 the same). scale and offset are numbers
// or lists with one value per channel, which broadcast over the last axis:
// keras.applications' EfficientNet divides by the ImageNet standard deviations with
// Rescaling([1/sqrt(s) for s in IMAGENET_STDDEV_RGB]).
#include <algorithm>

#include "layers/config_reader.h"

namespace gaze {
namespace {

class Rescaling : public Layer {
 public:
  // scale and offset: [1] or [channels].
  Rescaling(std::string name, Tensor scale, Tensor offset)
      : Layer(std::move(name)), scale_(std::move(scale)), offset_(std::move(offset)) {}
  const char* class_name() const override { return "Rescaling"; }

  Shape build(const std::vector<Shape>& inputs) override {
    expect_inputs(inputs, 1);
    const Shape& in = inputs[0];
    for (const Tensor* t : {&scale_, &offset_}) {
      const int64_t k = t->size();
      if (k > 1 && (in.size() < 2 || in.back() != k)) {
        fail("has " + std::to_string(k) + " per-channel values for input " + to_string(in));
      }
    }
    return in;
  }

  LayerOutput forward(const std::vector<Var>& inputs) const override {
    const Var y = binary(BinaryOp::kMultiply, inputs[0], Var(scale_));
    const bool no_offset = std::all_of(offset_.values().begin(), offset_.values().end(),
                                       [](float v) { return v == 0; });
    return {no_offset ? y : binary(BinaryOp::kAdd, y, Var(offset_)), Var()};
  }

 private:
  Tensor scale_, offset_;
};

Tensor channel_values(const ConfigReader& r, const char* key, float fallback) {
  const std::vector<float> v = r.numbers(key).value_or(std::vector<float>{fallback});
  return Tensor::from({static_cast<int64_t>(v.size())}, v);
}

}  // namespace

std::unique_ptr<Layer> make_Rescaling(const std::string& name, const ConfigReader& r) {
  if (!r.find("scale")) r.bad("scale", "a number or a list of numbers");  // Keras requires it
  return std::make_unique<Rescaling>(name, channel_values(r, "scale", 1.0f),
                                     channel_values(r, "offset", 0.0f));
}

}  // namespace gaze
