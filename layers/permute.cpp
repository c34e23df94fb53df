// Keras Permute: the non-batch axes reordered; `dims` counts them from 1 (the batch axis 0
// stays first), so Permute((3, 1, 2)) makes [N, H, W, C] into [N, C, H, W]
// (keras/src/layers/reshaping/permute.py: ops.transpose(inputs, axes=(0,) + dims); Keras 2 the
// same with tf.transpose).
#include <algorithm>

#include "layers/config_reader.h"

namespace gaze {
namespace {

class Permute : public Layer {
 public:
  Permute(std::string name, std::vector<int64_t> dims) : Layer(std::move(name)), dims_(dims) {
    std::vector<int64_t> sorted = dims_;
    std::sort(sorted.begin(), sorted.end());
    for (size_t i = 0; i < sorted.size(); ++i) {
      if (sorted[i] != static_cast<int64_t>(i) + 1)
        fail("dims must be a permutation of 1.." + std::to_string(dims_.size()));
    }
  }
  const char* class_name() const override { return "Permute"; }

  Shape build(const std::vector<Shape>& inputs) override {
    expect_inputs(inputs, 1);
    const Shape& in = inputs[0];
    if (in.size() != dims_.size() + 1) {
      fail("dims of length " + std::to_string(dims_.size()) + " do not fit input " + to_string(in) +
           " (one per axis besides the batch)");
    }
    Shape out = {in[0]};
    for (int64_t d : dims_) out.push_back(in[static_cast<size_t>(d)]);
    return out;
  }

  LayerOutput forward(const std::vector<Var>& inputs) const override {
    std::vector<size_t> perm = {0};
    for (int64_t d : dims_) perm.push_back(static_cast<size_t>(d));
    return {transpose(inputs[0], perm), Var()};
  }

 private:
  std::vector<int64_t> dims_;
};

}  // namespace

std::unique_ptr<Layer> make_Permute(const std::string& name, const ConfigReader& r) {
  const nlohmann::json* d = r.find("dims");
  std::vector<int64_t> dims;
  if (d && d->is_array()) {
    for (const nlohmann::json& v : *d) {
      if (!v.is_number_integer()) r.bad("dims", "a list of axes such as [2, 1]");
      dims.push_back(v.get<int64_t>());
    }
  }
  if (dims.empty()) r.bad("dims", "a list of axes such as [2, 1]");
  return std::make_unique<Permute>(name, dims);
}

}  // namespace gaze
