#include "layers/model.h"

#include <algorithm>
#include <chrono>
#include <functional>

#include "layers/keras_layers.h"

namespace gaze {

const Shape& Model::add(std::unique_ptr<Layer> layer, const std::vector<std::string>& inbound) {
  if (!layer) throw Error("Model::add: null layer");
  const std::string name = layer->name();
  if (by_name_.count(name)) throw Error("duplicate layer name '" + name + "'");
  const bool is_input = dynamic_cast<const InputLayer*>(layer.get()) != nullptr;
  if (is_input && !nodes_.empty()) {
    throw Error("layer '" + name +
                "': gaze models have exactly one input (InputLayer), and it comes first");
  }
  if (!is_input && nodes_.empty())
    throw Error("layer '" + name + "': a model starts with an InputLayer");
  Entry e;
  std::vector<Shape> shapes;
  for (const std::string& in : inbound) {
    auto it = by_name_.find(in);
    if (it == by_name_.end())
      throw Error("layer '" + name + "': inbound layer '" + in + "' is not defined before it");
    e.inbound.push_back(it->second);
    shapes.push_back(nodes_[it->second].output_shape);
  }
  e.output_shape = layer->build(shapes);
  e.layer = std::move(layer);
  by_name_[name] = nodes_.size();
  nodes_.push_back(std::move(e));
  return nodes_.back().output_shape;
}

void Model::set_output(const std::string& name) {
  output_ = index_of(name);
}

size_t Model::index_of(const std::string& name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end())
    throw Error("no layer named '" + name + "' in the model (see 'gaze layers')");
  return it->second;
}

size_t Model::output_index() const {
  if (nodes_.empty()) throw Error("empty model");
  return output_ == SIZE_MAX ? nodes_.size() - 1 : output_;
}

const Shape& Model::input_shape() const {
  if (nodes_.empty()) throw Error("empty model");
  return nodes_[0].output_shape;
}

int64_t Model::parameter_count() const {
  int64_t n = 0;
  for (const Entry& e : nodes_) n += e.layer->parameter_count();
  return n;
}

std::vector<size_t> Model::keras_order() const {
  const size_t out = output_index();
  // Depth-first walk from the output, inputs in order: the first-visit index breaks ties.
  std::vector<size_t> visit_index(nodes_.size(), SIZE_MAX);
  size_t counter = 0;
  std::function<void(size_t)> walk = [&](size_t i) {
    if (visit_index[i] != SIZE_MAX) return;
    visit_index[i] = counter++;
    for (size_t in : nodes_[i].inbound) walk(in);
  };
  walk(out);
  // Depth: longest path to the output. Nodes were added after their inputs, so one sweep from
  // the last to the first settles every depth.
  std::vector<int64_t> depth(nodes_.size(), -1);
  depth[out] = 0;
  for (size_t i = nodes_.size(); i-- > 0;) {
    if (depth[i] < 0) continue;
    for (size_t in : nodes_[i].inbound) depth[in] = std::max(depth[in], depth[i] + 1);
  }
  std::vector<size_t> order;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (visit_index[i] != SIZE_MAX) order.push_back(i);
  }
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return depth[a] != depth[b] ? depth[a] > depth[b] : visit_index[a] < visit_index[b];
  });
  return order;
}

void Model::check_weights_loaded() const {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const Entry& e = nodes_[i];
    const bool folded = i < folded_at_.size() && folded_at_[i] >= 0;
    for (const Weight& w : e.layer->weights()) {
      if (!w.value.defined() && !(folded && w.name == "kernel")) {
        throw Error("layer '" + e.layer->name() + "': weight '" + w.name + "' was not loaded");
      }
    }
  }
}

Model::ForwardResult Model::forward(const Tensor& input, const ForwardOptions& options) const {
  const size_t out = output_index();
  const Shape& expected = input_shape();
  Shape got = input.shape();
  if (got.size() != expected.size() ||
      !std::equal(got.begin() + 1, got.end(), expected.begin() + 1)) {
    throw Error("input of shape " + to_string(got) + " does not fit the model's input " +
                to_string(expected));
  }
  std::vector<bool> keep(nodes_.size(), false);
  keep[out] = true;
  for (const std::string& name : options.keep) keep[index_of(name)] = true;
  size_t grad_at = SIZE_MAX;  // the earliest gradient layer: where recording starts
  for (const std::string& name : options.grad_layers) {
    const size_t i = index_of(name);
    keep[i] = true;
    grad_at = std::min(grad_at, i);
  }

  // How many consumers still have to read each output: at zero the value can go.
  std::vector<int> pending(nodes_.size(), 0);
  for (const Entry& e : nodes_) {
    for (size_t in : e.inbound) ++pending[in];
  }
  // Layers after the last one wanted cannot feed it (inputs come before their consumers).
  size_t last = out;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (keep[i]) last = std::max(last, i);
  }
  std::vector<bool> absorbed(nodes_.size(), false);  // run as part of a folded chain
  std::vector<Var> values(nodes_.size());
  // One consumer of layer `in` has run: at the last, its output can go.
  auto release_input = [&](size_t in) {
    if (--pending[in] == 0 && !keep[in]) values[in] = Var();
  };
  ForwardResult result;
  for (size_t i = 0; i <= last; ++i) {
    if (absorbed[i]) continue;
    const Entry& e = nodes_[i];
    const auto started = std::chrono::steady_clock::now();
    size_t produced = i;  // the layer whose output this step computes
    Var output;
    const int chain_index = i < folded_at_.size() ? folded_at_[i] : -1;
    if (chain_index >= 0 && runs_as_group(static_cast<size_t>(chain_index), keep)) {
      // This chain and its siblings in one GEMM; the siblings' outputs are ready early.
      const std::vector<Var> outputs =
          run_sibling_group(static_cast<size_t>(chain_index), values[e.inbound[0]]);
      const SiblingGroup& group = groups_[static_cast<size_t>(folded_[chain_index].group)];
      for (size_t k = 0; k < group.chains.size(); ++k) {
        const FoldedChain& chain = folded_[group.chains[k]];
        for (size_t l : chain.layers) absorbed[l] = true;
        if (group.chains[k] == static_cast<size_t>(chain_index)) {
          output = outputs[k];  // stored below, as every step's output is
          continue;
        }
        const size_t at = chain.layers.back();
        values[at] = at == grad_at ? outputs[k].detach(true) : outputs[k];
        release_input(nodes_[chain.layers[0]].inbound[0]);
      }
      produced = folded_[static_cast<size_t>(chain_index)].layers.back();
    } else if (chain_index >= 0 && chain_usable(folded_[static_cast<size_t>(chain_index)], keep)) {
      const FoldedChain& chain = folded_[static_cast<size_t>(chain_index)];
      // Without a gradient through it, a Winograd chain needs only its transformed kernel.
      const Var& in = values[e.inbound[0]];
      const bool kernel_needed = !chain.options.winograd || in.requires_grad();
      ConvOptions o = chain.options;
      o.workspace = &workspace_;
      output = conv2d(in, kernel_needed ? Var(folded_kernel(chain)) : Var(), Var(chain.bias), o);
      produced = chain.layers.back();
      for (size_t k : chain.layers) absorbed[k] = true;
    } else if (chain_index >= 0) {
      // Someone wants an output inside this chain: its convolution alone, with the original
      // kernel rebuilt (the layer's own slot was released by folding); the rest runs as layers.
      const FoldedChain& chain = folded_[static_cast<size_t>(chain_index)];
      Var bias;
      for (const Weight& w : e.layer->weights()) {
        if (w.name == "bias") bias = Var(w.value);
      }
      ConvOptions o{chain.options.stride_h, chain.options.stride_w, chain.options.padding};
      o.workspace = &workspace_;
      output = conv2d(values[e.inbound[0]], Var(unfolded_kernel(chain)), bias, o);
    } else {
      std::vector<Var> args;
      args.reserve(std::max<size_t>(e.inbound.size(), 1));
      if (i == 0) args.push_back(Var(input));
      for (size_t in : e.inbound) args.push_back(values[in]);
      LayerOutput lo = e.layer->forward(args);
      output = lo.output;
      if (i == out) result.logits = lo.pre_activation;
    }
    if (options.layer_seconds) {
      options.layer_seconds->resize(nodes_.size());
      (*options.layer_seconds)[i] =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    }
    if (produced == grad_at) output = output.detach(/*requires_grad=*/true);
    values[produced] = output;
    for (size_t in : e.inbound) release_input(in);
  }
  result.output = values[out];
  const std::string& out_name = nodes_[out].layer->name();
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (keep[i] && i != out) result.kept[nodes_[i].layer->name()] = values[i];
  }
  if (std::count(options.keep.begin(), options.keep.end(), out_name) ||
      std::count(options.grad_layers.begin(), options.grad_layers.end(), out_name)) {
    result.kept[out_name] = values[out];
  }
  return result;
}

}  // namespace gaze
