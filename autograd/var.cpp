#include "autograd/var.h"

#include <unordered_set>
#include <utility>

namespace gaze {

void Node::accumulate_grad(const Tensor& g) {
  // A copy on first use: ops may hand the same tensor to several inputs (add).
  accumulate_grad(grad.defined() ? Tensor(g) : g.clone());
}

void Node::accumulate_grad(Tensor&& g) {
  check_same_shape(value, g, "gradient of " + op);
  if (!grad.defined()) {
    grad = std::move(g);
    return;
  }
  float* dst = grad.data();
  const float* src = g.data();
  for (int64_t i = 0; i < grad.size(); ++i) dst[i] += src[i];
}

Var::Var(Tensor value, bool requires_grad) : node_(std::make_shared<Node>()) {
  if (!value.defined()) throw Error("Var: undefined tensor");
  node_->value = std::move(value);
  node_->requires_grad = requires_grad;
  node_->op = "leaf";
}

const Tensor& Var::value() const {
  if (!node_) throw Error("Var: use of an undefined Var");
  return node_->value;
}

const Tensor& Var::grad() const {
  if (!node_) throw Error("Var: use of an undefined Var");
  return node_->grad;
}

const std::string& Var::op() const {
  if (!node_) throw Error("Var: use of an undefined Var");
  return node_->op;
}

Var Var::detach(bool requires_grad) const {
  return Var(value(), requires_grad);
}

Var make_result(Tensor value, std::string op, const std::vector<Var>& inputs, BackwardFn backward) {
  Var out(std::move(value), false);
  out.node_->op = std::move(op);
  bool any = false;
  for (const Var& in : inputs) any = any || in.requires_grad();
  if (!any) return out;  // nothing to record: `backward` and its captures die here
  out.node_->requires_grad = true;
  out.node_->inputs.reserve(inputs.size());
  for (const Var& in : inputs)
    out.node_->inputs.push_back(in.requires_grad() ? in.node() : nullptr);
  out.node_->backward = std::move(backward);
  return out;
}

namespace {
// Nodes reachable from root through recorded inputs, each after all nodes that consume it.
std::vector<Node*> reverse_topological_order(Node* root) {
  std::vector<Node*> order;  // post-order: inputs before consumers
  std::unordered_set<Node*> seen;
  std::vector<std::pair<Node*, size_t>> stack;  // iterative DFS: deep nets must not overflow
  stack.emplace_back(root, 0);
  seen.insert(root);
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->inputs.size()) {
      Node* in = node->inputs[next++].get();
      if (in && seen.insert(in).second) stack.emplace_back(in, 0);
    } else {
      order.push_back(node);
      stack.pop_back();
    }
  }
  return {order.rbegin(), order.rend()};
}
}  // namespace

BackwardStats backward(const Var& root, const Tensor& seed, const BackwardOptions& options) {
  if (!root.defined()) throw Error("backward: undefined root");
  check_same_shape(root.value(), seed, "backward seed");
  BackwardStats stats;
  if (!root.requires_grad()) return stats;  // nothing upstream requires a gradient
  const std::vector<Node*> order = reverse_topological_order(root.node().get());
  for (Node* n : order) n->grad = Tensor();
  root.node()->grad = seed.clone();
  for (Node* n : order) {
    if (!n->backward || !n->grad.defined()) continue;
    n->backward(*n, options);
    ++stats.nodes_visited;
  }
  return stats;
}

BackwardStats backward(const Var& root, const BackwardOptions& options) {
  if (root.value().size() != 1) {
    throw Error("backward: root of shape " + to_string(root.shape()) +
                " is not a scalar; pass a seed gradient");
  }
  return backward(root, Tensor::full(root.shape(), 1.0f), options);
}

}  // namespace gaze
