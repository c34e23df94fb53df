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
#include <string>
#include <vector>

#include "layers/layer.h"

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

  size_t size() const { return nodes_.size(); }
  const Layer& layer(size_t i) const { return *nodes_.at(i).layer; }
  Layer& layer(size_t i) { return *nodes_.at(i).layer; }
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

  // Inference speed-up (model_fusion.cpp): for every Conv2D -> BatchNormalization [-> ReLU]
  // chain, precomputes the convolution with the normalization folded into its kernel and bias
  // and the ReLU fused into its epilogue. forward() then runs the chain as one op, except when a
  // caller asks for (or wants the gradient of) the convolution's or the normalization's own
  // output: then the chain runs layer by layer. The folded kernel REPLACES the original, which
  // is released (half the weight memory); the rare unfolded run rebuilds it as folded / scale,
  // equal to the original up to float rounding. So after folding, a folded Conv2D's kernel slot
  // is empty: run the model through forward(). Call again after loading new weights.
  void fold_batch_norms();
  // Winograd's algorithm (autograd/conv_winograd.cpp) for the folded stride-1 convolutions whose
  // kernels it has a tile for and whose outputs are at least 16x16; on by default. The transformed
  // kernel replaces the folded one, which is recovered from it when a gradient needs it.
  // Off, every convolution runs im2col + GEMM (the reference path, and what throughput is
  // counted on). Kernels are transformed when folding, so this applies from the next fold on,
  // and to the current chains at once.
  void use_winograd(bool on);
  bool uses_winograd() const { return winograd_; }
  // The Conv2D layers whose forward runs Winograd's algorithm (when run folded).
  std::vector<std::string> winograd_layers() const;
  // The groups of sibling 1x1 Conv2D layers forward() runs as one GEMM (model_siblings.cpp), each
  // in layer order: the GEMM runs, and is timed, at the first.
  std::vector<std::vector<std::string>> sibling_groups() const;

  using ForwardOptions = ModelForwardOptions;
  using ForwardResult = ModelForwardResult;
  ForwardResult forward(const Tensor& input, const ForwardOptions& options = {}) const;

 private:
  struct Entry {
    std::unique_ptr<Layer> layer;
    std::vector<size_t> inbound;
    Shape output_shape;
  };
  // A Conv2D -> BatchNormalization [-> ReLU] chain run as one convolution.
  struct FoldedChain {
    std::vector<size_t> layers;  // conv, batch norm, and the activation if fused
    Tensor kernel, bias;         // the folded parameters; no kernel when Winograd or a group has it
    Tensor scale;                // per output channel: kernel = original kernel * scale
    ConvOptions options;         // the conv's strides and padding, the fused ReLU, Winograd
    int group = -1;              // index into groups_, or -1
    int64_t group_offset = 0;    // its first channel in the group's merged kernel
  };
  // Folded 1x1 stride-1 chains reading the same input with the same epilogue (Inception's branch
  // heads), run as ONE wider GEMM whose output is sliced among them (model_siblings.cpp).
  struct SiblingGroup {
    std::vector<size_t> chains;  // indices into folded_, in Keras' layer order: the columns
    size_t first = 0;            // the chain forward() reaches first: where the group runs
    Tensor kernel, bias;         // merged [1, 1, C, sum of outputs]; the chains' kernels released
  };
  // The layers forward() runs, in order, with the chains it may run folded.
  std::vector<Entry> nodes_;
  std::vector<FoldedChain> folded_;
  std::vector<int> folded_at_;  // per layer: index into folded_ of the chain it starts, or -1
  std::vector<SiblingGroup> groups_;
  // Whether a chain may run folded: nobody wants (keep) an output from inside it.
  static bool chain_usable(const FoldedChain& chain, const std::vector<bool>& keep);
  // Builds groups_ from folded_ (model_siblings.cpp).
  void group_sibling_chains();
  // Whether forward() runs chain `c` (index into folded_) and its siblings as one GEMM now.
  bool runs_as_group(size_t c, const std::vector<bool>& keep) const;
  // The group of chain `c` on `input`: each chain's output, in the group's order.
  std::vector<Var> run_sibling_group(size_t c, const Var& input) const;
  // The folded kernel of a chain: kept, or recovered from its Winograd transform or its group.
  Tensor folded_kernel(const FoldedChain& chain) const;
  // The original kernel of a folded chain's convolution, rebuilt from the folded one.
  Tensor unfolded_kernel(const FoldedChain& chain) const;
  // Gives each chain its Winograd kernel, or none (winograd_ off, stride > 1, no tile).
  void prepare_winograd();
  // Scratch buffers of the convolutions forward() runs, reused from call to call (so forward()
  // on one Model must not run on two threads at once).
  mutable Workspace workspace_;
  std::map<std::string, size_t> by_name_;
  size_t output_ = SIZE_MAX;
  bool winograd_ = true;
};

}  // namespace gaze
