// Keras Normalization (keras/src/layers/preprocessing/normalization.py; Keras 2's
// keras/layers/preprocessing/normalization.py is the same): per channel,
//   (x - mean) / max(sqrt(variance), epsilon),  epsilon = backend.epsilon() = 1e-7,
// in float32, which is NOT (x - mean) / sqrt(variance + epsilon).
//
// mean and variance come from the config when the model was built with Normalization(mean=...,
// variance=...) (EfficientNetV2's stem); otherwise from the weights, which both Keras versions
// create in this order: `mean` and `variance` of shape [channels] and `count` (an int64
// scalar, the number of samples adapt() saw, unused at inference). Only axis=-1 (the channel
// axis) and invert=False are supported.
#include <algorithm>
#include <cmath>
#include <optional>

#include "layers/config_reader.h"

namespace gaze {
namespace {

constexpr float kEpsilon = 1e-7f;  // keras/src/backend/config.py: epsilon()

class Normalization : public Layer {
 public:
  // mean and variance from the config ([1] or [channels]), or undefined: from the weights.
  Normalization(std::string name, int64_t axis, Tensor mean, Tensor variance)
      : Layer(std::move(name)),
        axis_(axis),
        mean_(std::move(mean)),
        variance_(std::move(variance)) {}
  const char* class_name() const override { return "Normalization"; }

  Shape build(const std::vector<Shape>& inputs) override {
    expect_inputs(inputs, 1);
    const Shape& in = inputs[0];
    const auto rank = static_cast<int64_t>(in.size());
    if (rank < 2 || in.back() <= 0) fail("input " + to_string(in) + " has no channel axis");
    if (axis_ != -1 && axis_ != rank - 1) {
      fail("axis " + std::to_string(axis_) + " is not the last axis of input " + to_string(in) +
           " (only the channel axis is supported)");
    }
    const int64_t c = in.back();
    if (mean_.defined()) {
      for (const Tensor* t : {&mean_, &variance_}) {
        if (t->size() != 1 && t->size() != c) {
          fail("has " + std::to_string(t->size()) + " mean/variance values for " +
               std::to_string(c) + " channels");
        }
      }
      return in;
    }
    add_weight("mean", {c});
    add_weight("variance", {c});
    add_weight("count", {});
    return in;
  }

  LayerOutput forward(const std::vector<Var>& inputs) const override {
    const Tensor& mean = mean_.defined() ? mean_ : weights()[0].value;
    const Tensor& variance = variance_.defined() ? variance_ : weights()[1].value;
    Tensor denominator(variance.shape());
    for (int64_t j = 0; j < variance.size(); ++j)
      denominator.data()[j] = std::max(std::sqrt(variance.data()[j]), kEpsilon);
    return {binary(BinaryOp::kDivide, binary(BinaryOp::kSubtract, inputs[0], Var(mean)),
                   Var(denominator)),
            Var()};
  }

 private:
  int64_t axis_;
  Tensor mean_, variance_;
};

}  // namespace

std::unique_ptr<Layer> make_Normalization(const std::string& name, const ConfigReader& r) {
  if (r.boolean("invert", false)) r.unsupported("invert", "true (only normalization)");
  const int64_t axis = r.single_axis("axis", -1);
  const std::optional<std::vector<float>> mean = r.numbers("mean"),
                                          variance = r.numbers("variance");
  if (mean.has_value() != variance.has_value())
    r.bad(mean ? "variance" : "mean", "given when the other one is");
  auto tensor = [](const std::optional<std::vector<float>>& v) {
    return v ? Tensor::from({static_cast<int64_t>(v->size())}, *v) : Tensor();
  };
  return std::make_unique<Normalization>(name, axis, tensor(mean), tensor(variance));
}

}  // namespace gaze
