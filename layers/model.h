// A model: a DAG of named layers with one input, run in topological order.
//
// forward() hands back the output, the output layer's pre-activation (the logits, when the last
// Dense fuses a softmax), and the output of any layer asked for by name. In no-grad use every
// intermediate value is dropped as soon as its last consumer has run. Layers' outputs can be made
// to require a gradient (grad_layers): the earliest of them becomes a leaf that requires one, so
// only what lies downstream of it is recorded, and the gradients at the later ones are read at
// their (recorded) nodes.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "layers/layer.h"
#include "layers/plan.h"

namespace gaze {

// What Model::forward computes besides the output, and what it hands back.
struct ModelForwardOptions {
  std::vector<std::string> keep;                 // layers whose outputs to hand back in `kept`
  std::vector<std::string> grad_layers;          // these layers' outputs will have gradients
  std::vector<double>* layer_seconds = nullptr;  // if set: wall time of each layer's forward
};
struct ModelForwardResult {
  Var output;
  Var logits;                       // the output layer's pre-activation, if it has one
  std::map<std::string, Var> kept;  // by layer name; grad_layers are always kept
};

class Model {
 public:
  Model() = default;
  Model(Model&&) = default;
  Model& operator=(Model&&) = default;

  // Connects `layer` to the named earlier layers (none for the InputLayer), builds it, and returns
  // its output shape. Throws Error on a duplicate name, an unknown inbound layer or unfit shapes.
  const Shape& add(std::unique_ptr<Layer> layer, const std::vector<std::string>& inbound);
  // The output layer; by default the last one added.
  void set_output(const std::string& name);
  // Layer `name` is a later call of the shared layer `owner`: it has no weights of its own in
  // files, and takes owner's (tie_shared_weights). Throws Error unless their weights agree.
  void share_weights(const std::string& name, const std::string& owner);
  // The layer whose weights layer i uses: i itself unless it is a later call of a shared layer.
  size_t weights_owner(size_t i) const;
  // Gives every later call of a shared layer its owner's weights (the same storage); loaders
  // call it after filling the owners.
  void tie_shared_weights();

  size_t size() const { return nodes_.size(); }
  const Layer& layer(size_t i) const { return *nodes_.at(i).layer; }
  // For loading weights: forgets the compiled plans, which are made again from the new weights.
  Layer& layer(size_t i) {
    invalidate();
    return *nodes_.at(i).layer;
  }
  const std::vector<size_t>& inbound(size_t i) const { return nodes_.at(i).inbound; }
  const Shape& output_shape(size_t i) const { return nodes_.at(i).output_shape; }
  // Index of the named layer; throws Error listing nothing (use `gaze layers`) if absent.
  size_t index_of(const std::string& name) const;
  bool contains(const std::string& name) const { return by_name_.count(name) > 0; }
  size_t output_index() const;
  const Shape& input_shape() const;
  int64_t parameter_count() const;

  // Layers in the order Keras lists them in `model.layers` (and so in weight files): by
  // decreasing depth from the output, ties broken by a depth-first walk from the output.
  std::vector<size_t> keras_order() const;

  // Throws Error naming the first layer whose weights have not all been loaded.
  void check_weights_loaded() const;

  // Winograd's algorithm (autograd/conv_winograd.cpp) for the fused stride-1 convolutions whose
  // kernels it has a tile for and whose outputs are at least 16x16; on by default. Off, every
  // convolution runs im2col + GEMM (the reference path, and what throughput is counted on).
  void use_winograd(bool on);
  bool uses_winograd() const { return winograd_; }
  // The Conv2D layers whose forward runs Winograd's algorithm (when their fused step runs).
  std::vector<std::string> winograd_layers() const;
  // The groups of sibling 1x1 Conv2D layers forward() runs as one GEMM, each in layer order: the
  // GEMM runs, and is timed, at the first.
  std::vector<std::vector<std::string>> sibling_groups() const;
  // The fused convolutions (plan.h): each convolution with the layers its step absorbs.
  std::vector<std::vector<std::string>> fused_layers() const;

  using ForwardOptions = ModelForwardOptions;
  using ForwardResult = ModelForwardResult;
  // Safe to call from several threads at once (each call takes its own workspace), as long as
  // nothing changes the model meanwhile.
  ForwardResult forward(const Tensor& input, const ForwardOptions& options = {}) const;

 private:
  struct Entry {
    std::unique_ptr<Layer> layer;
    std::vector<size_t> inbound;
    Shape output_shape;
    size_t weights_owner = SIZE_MAX;  // SIZE_MAX: its own
  };
  class WorkspaceLease;
  // The fusion, made on first use from the loaded weights, and the plan of each request seen.
  const Fusion& fusion() const;
  const Plan& plan_for(const std::vector<bool>& keep) const;
  // Forgets both: called whenever a layer may change (non-const access, new layers, settings).
  void invalidate() { fusion_.reset(), plans_.clear(); }
  // Runs one step of a plan: the outputs of step.writes, in order.
  std::vector<Var> run_step(const PlanStep& step, const Fusion& fusion, Workspace& workspace,
                            const std::vector<Var>& values, const Tensor& input, Var* logits) const;

  std::vector<Entry> nodes_;
  std::map<std::string, size_t> by_name_;
  size_t output_ = SIZE_MAX;
  bool winograd_ = true;
  // What const calls make and keep: the fusion and the plans, made once under the lock, and
  // the scratch buffers of the convolutions, reused from call to call: one per forward() under
  // way, taken from the idle ones (so two threads never share one).
  mutable std::unique_ptr<std::mutex> cache_mutex_ = std::make_unique<std::mutex>();
  mutable std::unique_ptr<const Fusion> fusion_;
  mutable std::map<std::vector<bool>, Plan> plans_;
  mutable std::vector<std::unique_ptr<Workspace>> idle_workspaces_;
};

}  // namespace gaze
