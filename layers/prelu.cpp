// Keras PReLU: x where x > 0, alpha * x elsewhere, with a learned alpha per element of the input's
// non-batch shape, shared (size 1) along `shared_axes` (keras/src/layers/activations/prelu.py:
// pos = relu(x), neg = -alpha * relu(-x); Keras 2 the same). Composed from the ops as
// relu(x) + alpha * (x - relu(x)), so its gradient is theirs.
#include "layers/config_reader.h"
#include "layers/layer_checks.h"

namespace gaze {
namespace {

class PReLU : public Layer {
 public:
  PReLU(std::string name, std::vector<int64_t> shared_axes)
      : Layer(std::move(name)), shared_axes_(std::move(shared_axes)) {}
  const char* class_name() const override { return "PReLU"; }

  Shape build(const std::vector<Shape>& inputs) override {
    expect_inputs(inputs, 1);
    const Shape& s = inputs[0];
    Shape alpha(s.begin() + 1, s.end());
    for (int64_t axis : shared_axes_) {
      if (axis < 1 || axis >= static_cast<int64_t>(s.size()))
        fail("shared axis " + std::to_string(axis) + " is not an axis of input " + to_string(s));
      alpha[static_cast<size_t>(axis - 1)] = 1;
    }
    for (int64_t d : alpha) {
      if (d <= 0) fail("input " + to_string(s) + " must be fully known besides the batch");
    }
    add_weight("alpha", alpha);
    return s;
  }

  LayerOutput forward(const std::vector<Var>& inputs) const override {
    const Var& x = inputs[0];
    const Var positive = relu(x);
    const Var negative = binary(BinaryOp::kSubtract, x, positive);  // min(x, 0)
    return {binary(BinaryOp::kAdd, positive, binary(BinaryOp::kMultiply, param("alpha"), negative)),
            Var()};
  }

 private:
  std::vector<int64_t> shared_axes_;
};

}  // namespace

std::unique_ptr<Layer> make_PReLU(const std::string& name, const ConfigReader& r) {
  std::vector<int64_t> axes;
  if (const ConfigReader::json* v = r.find("shared_axes")) {
    if (v->is_number_integer()) {
      axes.push_back(v->get<int64_t>());
    } else if (v->is_array()) {
      for (const auto& a : *v) {
        if (!a.is_number_integer()) r.bad("shared_axes", "a list of axes");
        axes.push_back(a.get<int64_t>());
      }
    } else {
      r.bad("shared_axes", "an axis or a list of axes");
    }
  }
  return std::make_unique<PReLU>(name, axes);
}

}  // namespace gaze
