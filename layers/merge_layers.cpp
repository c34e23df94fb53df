// Keras' element-wise merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum.
//
// Their shape rule (keras/src/layers/merging/base_merge.py, the same in Keras 2's
// keras/layers/merging/base_merge.py): the batch axes must agree; the other axes broadcast as
// in NumPy, after inputs of lower rank get size-1 axes inserted right after the batch axis
// (ops.expand_dims(x, axis=1)). So a squeeze-excite scale [N, 1, 1, C] or a [N, C] vector
// multiplies a map [N, H, W, C]. The inputs are folded pairwise from the first, as Keras does
// (Average divides the sum by the number of inputs), so the gradient of Maximum and Minimum
// goes to the first input that attains the extremum (autograd/broadcast.cpp).
#include <algorithm>

#include "layers/config_reader.h"
#include "layers/layer.h"

namespace gaze {
namespace {

class Merge : public Layer {
 public:
  enum class Kind { kAdd, kSubtract, kMultiply, kAverage, kMaximum, kMinimum };
  Merge(std::string name, Kind kind) : Layer(std::move(name)), kind_(kind) {}

  const char* class_name() const override {
    constexpr const char* kNames[] = {"Add",     "Subtract", "Multiply",
                                      "Average", "Maximum",  "Minimum"};
    return kNames[static_cast<int>(kind_)];
  }

  Shape build(const std::vector<Shape>& inputs) override {
    if (kind_ == Kind::kSubtract) expect_inputs(inputs, 2);
    if (inputs.empty()) fail("expects at least 1 input");
    size_t rank = 0;
    for (const Shape& s : inputs) {
      if (s.empty()) fail("input of rank 0 has no batch axis");
      rank = std::max(rank, s.size());
    }
    // The batch axis apart (-1 when unknown), the others broadcast.
    int64_t batch = -1;
    Shape out(rank, 1);
    for (const Shape& s : inputs) {
      if (s[0] != -1 && batch != -1 && s[0] != batch)
        fail("input shapes " + to_string(inputs[0]) + " and " + to_string(s) +
             " have different batch sizes");
      if (s[0] != -1) batch = s[0];
      Shape e = expanded(s, rank);
      e[0] = 1;
      try {
        out = broadcast_shapes(out, e);
      } catch (const Error&) {
        fail("input shapes " + to_string(inputs[0]) + " and " + to_string(s) + " do not broadcast");
      }
    }
    out[0] = batch;
    return out;
  }

  LayerOutput forward(const std::vector<Var>& inputs) const override {
    size_t rank = 0;
    for (const Var& x : inputs) rank = std::max(rank, x.shape().size());
    auto at = [&](size_t i) {
      const Var& x = inputs[i];
      return x.shape().size() == rank ? x : reshape(x, expanded(x.shape(), rank));
    };
    Var y = at(0);
    for (size_t i = 1; i < inputs.size(); ++i) y = binary(pairwise(), y, at(i));
    if (kind_ == Kind::kAverage) {
      y = binary(BinaryOp::kDivide, y, Var(Tensor::full({1}, static_cast<float>(inputs.size()))));
    }
    return {y, Var()};
  }

 private:
  // s with size-1 axes inserted after the batch axis up to `rank`.
  static Shape expanded(const Shape& s, size_t rank) {
    Shape e = s;
    e.insert(e.begin() + 1, rank - s.size(), 1);
    return e;
  }

  BinaryOp pairwise() const {
    switch (kind_) {
      case Kind::kAdd:
      case Kind::kAverage:
        return BinaryOp::kAdd;
      case Kind::kSubtract:
        return BinaryOp::kSubtract;
      case Kind::kMultiply:
        return BinaryOp::kMultiply;
      case Kind::kMaximum:
        return BinaryOp::kMaximum;
      case Kind::kMinimum:
        return BinaryOp::kMinimum;
    }
    return BinaryOp::kAdd;
  }

  Kind kind_;
};

}  // namespace

// The merge layers have no config fields besides the base layer's (name, trainable, dtype).
std::unique_ptr<Layer> make_Add(const std::string& name, const ConfigReader&) {
  return std::make_unique<Merge>(name, Merge::Kind::kAdd);
}

std::unique_ptr<Layer> make_Subtract(const std::string& name, const ConfigReader&) {
  return std::make_unique<Merge>(name, Merge::Kind::kSubtract);
}

std::unique_ptr<Layer> make_Multiply(const std::string& name, const ConfigReader&) {
  return std::make_unique<Merge>(name, Merge::Kind::kMultiply);
}

std::unique_ptr<Layer> make_Average(const std::string& name, const ConfigReader&) {
  return std::make_unique<Merge>(name, Merge::Kind::kAverage);
}

std::unique_ptr<Layer> make_Maximum(const std::string& name, const ConfigReader&) {
  return std::make_unique<Merge>(name, Merge::Kind::kMaximum);
}

std::unique_ptr<Layer> make_Minimum(const std::string& name, const ConfigReader&) {
  return std::make_unique<Merge>(name, Merge::Kind::kMinimum);
}

}  // namespace gaze
