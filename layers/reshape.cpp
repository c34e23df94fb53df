// Keras Reshape: the non-batch axes take target_shape, which may hold one -1 for the size that
// makes the element count match (keras/src/layers/reshaping/reshape.py and
// operation_utils.compute_reshape_output_shape; Keras 2's tf.reshape the same). The values
// keep their row-major (channels-last) order: Reshape((1, 1, C)) on [N, C] is EfficientNet's
// squeeze-excite.
#include "layers/config_reader.h"

namespace gaze {
namespace {

class Reshape : public Layer {
 public:
  Reshape(std::string name, Shape target) : Layer(std::move(name)), target_(std::move(target)) {
    int unknown = 0;
    for (int64_t d : target_) {
      if (d == -1) ++unknown;
      if (d == 0 || d < -1) fail("target_shape " + to_string(target_) + " has a size below 1");
    }
    if (unknown > 1) fail("target_shape " + to_string(target_) + " has more than one -1");
  }
  const char* class_name() const override { return "Reshape"; }

  Shape build(const std::vector<Shape>& inputs) override {
    expect_inputs(inputs, 1);
    const Shape& in = inputs[0];
    if (in.empty()) fail("input of rank 0 has no batch axis");
    int64_t count = 1, known = 1;
    for (size_t i = 1; i < in.size(); ++i) {
      if (in[i] <= 0) fail("input " + to_string(in) + " has an unknown size besides the batch");
      count *= in[i];
    }
    for (int64_t d : target_) known *= d == -1 ? 1 : d;
    Shape out = {in[0]};
    for (int64_t d : target_) out.push_back(d == -1 ? count / known : d);
    if (element_count({out.begin() + 1, out.end()}) != count) {
      fail("cannot reshape input " + to_string(in) + " (" + std::to_string(count) +
           " values per sample) to target_shape " + to_string(target_));
    }
    resolved_ = {out.begin() + 1, out.end()};
    return out;
  }

  LayerOutput forward(const std::vector<Var>& inputs) const override {
    Shape shape = {inputs[0].shape()[0]};
    shape.insert(shape.end(), resolved_.begin(), resolved_.end());
    return {reshape(inputs[0], shape), Var()};
  }

 private:
  Shape target_;
  Shape resolved_;  // target_ with the -1 worked out (build)
};

}  // namespace

std::unique_ptr<Layer> make_Reshape(const std::string& name, const ConfigReader& r) {
  const nlohmann::json* t = r.find("target_shape");
  if (!t || !t->is_array()) r.bad("target_shape", "a list of sizes such as [1, 1, 32]");
  Shape target;
  for (const nlohmann::json& d : *t) {
    if (d.is_null()) {
      target.push_back(-1);  // Keras 3 writes an unknown size as None
    } else if (d.is_number_integer()) {
      target.push_back(d.get<int64_t>());
    } else {
      r.bad("target_shape", "a list of integers (one of them may be -1)");
    }
  }
  return std::make_unique<Reshape>(name, target);
}

}  // namespace gaze
