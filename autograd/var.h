// Reverse-mode automatic differentiation, micrograd-style.
//
// A Var is a handle to a Node: a value, its gradient, and (when the value depends on something
// that requires a gradient) the inputs it came from plus a function that sends its gradient back
// to them. Recording is driven by requires_grad alone: an op whose inputs do not require a
// gradient records nothing and keeps no reference to its inputs, so with nothing requiring a
// gradient ("no-grad mode", what inference does) every intermediate value is freed as soon as
// the last Var referring to it goes away. Grad-CAM marks one layer's output as requiring a
// gradient: only the ops downstream of it are recorded, and no parameter gradient is computed.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace gaze {

// How backward treats ReLU: the plain derivative, or the rule of guided backpropagation
// (Springenberg et al.: pass only positive gradients through positive inputs). The engine
// applies the rule, so the model need not be edited to get guided gradients.
enum class ReluRule { kStandard, kGuided };

struct BackwardOptions {
  ReluRule relu_rule = ReluRule::kStandard;
};

struct Node;
// A node's backward function: reads self.grad (d root / d self.value) and adds d root / d input
// to each recorded input (self.inputs[i] is null where input i needs no gradient).
using BackwardFn = std::function<void(Node& self, const BackwardOptions& options)>;

struct Node {
  Tensor value;
  Tensor grad;  // filled by backward(); undefined before
  bool requires_grad = false;
  std::string op;  // "conv2d", "relu", "leaf", ...
  std::vector<std::shared_ptr<Node>>
      inputs;  // same order as the op's inputs; null = no grad needed
  BackwardFn backward;

  // grad += g (or grad = g when there is none yet): where a value is used twice, its gradients add.
  // The rvalue overload adopts g's storage: pass only a tensor nothing else refers to.
  void accumulate_grad(const Tensor& g);
  void accumulate_grad(Tensor&& g);
};

class Var {
 public:
  Var() = default;
  // A leaf: a value with no history. Parameters and inputs are leaves.
  explicit Var(Tensor value, bool requires_grad = false);

  bool defined() const { return node_ != nullptr; }
  const Tensor& value() const;
  const Tensor& grad() const;  // undefined Tensor until a backward() reaches this Var
  bool requires_grad() const { return node_ && node_->requires_grad; }
  const std::string& op() const;
  const Shape& shape() const { return value().shape(); }
  // The same value as a new leaf, cut from its history.
  Var detach(bool requires_grad = false) const;

  const std::shared_ptr<Node>& node() const { return node_; }

 private:
  friend Var make_result(Tensor value, std::string op, const std::vector<Var>& inputs,
                         BackwardFn backward);
  std::shared_ptr<Node> node_;
};

// How every op builds its output. When no input requires a gradient the result is a plain leaf
// and `backward` (with whatever it captured) is dropped at once. Otherwise the result records the
// inputs that require a gradient and keeps `backward`.
Var make_result(Tensor value, std::string op, const std::vector<Var>& inputs, BackwardFn backward);

struct BackwardStats {
  int nodes_visited = 0;  // nodes whose backward function ran
};

// Computes d root / d v for every v in root's recorded history that requires a gradient, and
// stores it in v.grad(). Gradients from earlier calls are cleared first, so each call gives the
// gradients of this root alone (calling it again with another seed, e.g. another class, is how
// several maps are read from one forward pass). `seed` is d loss / d root (same shape as root);
// the overload without seed needs a root with one element and uses 1.
BackwardStats backward(const Var& root, const Tensor& seed, const BackwardOptions& options = {});
BackwardStats backward(const Var& root, const BackwardOptions& options = {});

}  // namespace gaze
