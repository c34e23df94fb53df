#include "layers/model.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <new>

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
  invalidate();
  e.output_shape = layer->build(shapes);
  e.layer = std::move(layer);
  by_name_[name] = nodes_.size();
  nodes_.push_back(std::move(e));
  return nodes_.back().output_shape;
}

void Model::set_output(const std::string& name) {
  invalidate();
  output_ = index_of(name);
}

void Model::share_weights(const std::string& name, const std::string& owner) {
  const size_t i = index_of(name), o = index_of(owner);
  const Layer &a = *nodes_[i].layer, &b = *nodes_[o].layer;
  bool same =
      std::string(a.class_name()) == b.class_name() && a.weights().size() == b.weights().size();
  for (size_t k = 0; same && k < a.weights().size(); ++k)
    same = a.weights()[k].shape == b.weights()[k].shape;
  if (!same) {
    throw Error("layer '" + name + "' calls the shared layer '" + owner +
                "' on inputs that need other weights");
  }
  invalidate();
  nodes_[i].weights_owner = weights_owner(o);
}

size_t Model::weights_owner(size_t i) const {
  const size_t o = nodes_.at(i).weights_owner;
  return o == SIZE_MAX ? i : o;
}

void Model::tie_shared_weights() {
  invalidate();
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const size_t o = weights_owner(i);
    if (o == i) continue;
    std::vector<Weight>& mine = nodes_[i].layer->weights();
    const std::vector<Weight>& theirs = nodes_[o].layer->weights();
    for (size_t k = 0; k < mine.size(); ++k) mine[k].value = theirs[k].value;
  }
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
  for (const Entry& e : nodes_) {
    for (const Weight& w : e.layer->weights()) {
      if (!w.value.defined()) {
        throw Error("layer '" + e.layer->name() + "': weight '" + w.name + "' was not loaded");
      }
    }
  }
}

void Model::use_winograd(bool on) {
  winograd_ = on;
  invalidate();
}

namespace {

const Fusion& fusion_locked(std::unique_ptr<const Fusion>& fusion, const Model& model,
                            bool winograd) {
  if (!fusion) fusion = std::make_unique<const Fusion>(fuse(model, winograd));
  return *fusion;
}

}  // namespace

const Fusion& Model::fusion() const {
  const std::lock_guard<std::mutex> lock(*cache_mutex_);
  return fusion_locked(fusion_, *this, winograd_);
}

const Plan& Model::plan_for(const std::vector<bool>& keep) const {
  const std::lock_guard<std::mutex> lock(*cache_mutex_);
  auto it = plans_.find(keep);
  if (it == plans_.end()) {
    const Fusion& f = fusion_locked(fusion_, *this, winograd_);
    it = plans_.emplace(keep, compile_plan(*this, f, keep)).first;
  }
  return it->second;
}

// The workspace of one forward() call: an idle one of the model's, or a new one; kept for the
// next call when this one ends.
class Model::WorkspaceLease {
 public:
  explicit WorkspaceLease(const Model& model) : model_(model) {
    const std::lock_guard<std::mutex> lock(*model_.cache_mutex_);
    if (model_.idle_workspaces_.empty()) {
      workspace_ = std::make_unique<Workspace>();
    } else {
      workspace_ = std::move(model_.idle_workspaces_.back());
      model_.idle_workspaces_.pop_back();
    }
  }
  ~WorkspaceLease() {
    const std::lock_guard<std::mutex> lock(*model_.cache_mutex_);
    try {
      model_.idle_workspaces_.push_back(std::move(workspace_));
    } catch (const std::bad_alloc&) {
      // Not kept: the next call makes another.
    }
  }
  WorkspaceLease(const WorkspaceLease&) = delete;
  WorkspaceLease& operator=(const WorkspaceLease&) = delete;
  Workspace& get() { return *workspace_; }

 private:
  const Model& model_;
  std::unique_ptr<Workspace> workspace_;
};

std::vector<std::string> Model::winograd_layers() const {
  std::vector<std::string> names;
  for (const FusedConv& fc : fusion().convs) {
    if (fc.options.winograd) names.push_back(nodes_[fc.layers[0]].layer->name());
  }
  return names;
}

std::vector<std::vector<std::string>> Model::sibling_groups() const {
  std::vector<std::vector<std::string>> names;
  for (const SiblingGemm& group : fusion().groups) {
    std::vector<size_t> layers;
    for (size_t c : group.members) layers.push_back(fusion().convs[c].layers[0]);
    std::sort(layers.begin(), layers.end());  // layer order: the first is where the GEMM runs
    names.emplace_back();
    for (size_t l : layers) names.back().push_back(nodes_[l].layer->name());
  }
  return names;
}

std::vector<std::vector<std::string>> Model::fused_layers() const {
  std::vector<std::vector<std::string>> names;
  for (const FusedConv& fc : fusion().convs) {
    names.emplace_back();
    for (size_t l : fc.layers) names.back().push_back(nodes_[l].layer->name());
  }
  return names;
}

std::vector<Var> Model::run_step(const PlanStep& step, const Fusion& f, Workspace& workspace,
                                 const std::vector<Var>& values, const Tensor& input,
                                 Var* logits) const {
  switch (step.kind) {
    case PlanStep::Kind::kLayer: {
      std::vector<Var> args;
      if (step.index == 0) args.push_back(Var(input));
      for (size_t in : step.reads) args.push_back(values[in]);
      LayerOutput lo = nodes_[step.index].layer->forward(args);
      if (step.index == output_index()) *logits = lo.pre_activation;
      return {lo.output};
    }
    case PlanStep::Kind::kConv: {
      const FusedConv& fc = f.convs[step.index];
      ConvOptions o = fc.options;
      o.workspace = &workspace;
      Var x = values[step.reads[0]];
      if (fc.separable_depthwise.defined()) {  // SeparableConv2D: its depthwise step first
        ConvOptions d = fc.separable_options;
        d.workspace = &workspace;
        x = depthwise_conv2d(x, Var(fc.separable_depthwise), Var(), d);
      }
      // Without a gradient through it, a Winograd step needs only its transformed kernel.
      const Var kernel = o.winograd && !x.requires_grad() ? Var() : Var(fc.kernel);
      const Var bias = fc.bias.defined() ? Var(fc.bias) : Var();
      return {fc.depthwise ? depthwise_conv2d(x, kernel, bias, o) : conv2d(x, kernel, bias, o)};
    }
    case PlanStep::Kind::kSiblings: {
      const SiblingGemm& g = f.groups[step.index];
      const Var& x = values[step.reads[0]];
      std::vector<Var> outputs;
      if (x.requires_grad()) {  // the same products, one member at a time, with their backward
        for (size_t member : g.members) {
          const FusedConv& fc = f.convs[member];
          ConvOptions o = fc.options;
          o.workspace = &workspace;
          outputs.push_back(conv2d(x, Var(fc.kernel), fc.bias.defined() ? Var(fc.bias) : Var(), o));
        }
        return outputs;
      }
      ConvOptions o = g.options;
      o.workspace = &workspace;
      const Var merged = conv2d(x, Var(), Var(g.bias), o);
      for (size_t member : g.members) {
        const FusedConv& fc = f.convs[member];
        outputs.push_back(slice_channels(merged, fc.group_offset, fc.kernel.dim(3)));
      }
      return outputs;
    }
  }
  throw Error("Model: unknown plan step");
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
  const Plan& plan = plan_for(keep);
  const Fusion& f = fusion();
  WorkspaceLease workspace(*this);

  // How many steps still have to read each output: at zero the value can go.
  std::vector<int> pending(nodes_.size(), 0);
  for (const PlanStep& step : plan.steps) {
    for (size_t in : step.reads) ++pending[in];
  }
  std::vector<Var> values(nodes_.size());
  ForwardResult result;
  if (options.layer_seconds) options.layer_seconds->assign(nodes_.size(), 0.0);
  for (const PlanStep& step : plan.steps) {
    const auto started = std::chrono::steady_clock::now();
    std::vector<Var> outputs = run_step(step, f, workspace.get(), values, input, &result.logits);
    if (options.layer_seconds) {
      // Timed at the step's first layer (a sibling GEMM: at the first of its members).
      (*options.layer_seconds)[step.at] =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    }
    for (size_t k = 0; k < step.writes.size(); ++k) {
      const size_t w = step.writes[k];
      values[w] = w == grad_at ? outputs[k].detach(/*requires_grad=*/true) : outputs[k];
    }
    for (size_t in : step.reads) {
      if (--pending[in] == 0 && !keep[in]) values[in] = Var();
    }
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
