// Folding inference batch normalization into the convolution before it.
//
//   BN(conv(x, K) + b) = (conv(x, K) + b - mean) * s + beta,  s = gamma / sqrt(var + eps)
//                      = conv(x, K * s) + (b - mean) * s + beta
// with s applied per output channel (the last axis of the Keras kernel). The following ReLU, if
// any, becomes the convolution's epilogue. Inception-v3 is 94 such chains: folding removes two
// full passes over every activation per chain.
#include <cmath>

#include "layers/keras_layers.h"
#include "layers/model.h"

namespace gaze {
namespace {

const Tensor* weight(const Layer& layer, const char* name) {
  for (const Weight& w : layer.weights()) {
    if (w.name == name && w.value.defined()) return &w.value;
  }
  return nullptr;
}

// Output pixels (height x width) from which a stride-1 convolution uses Winograd's algorithm.
constexpr int64_t kWinogradMinOutputPixels = 16 * 16;

}  // namespace

bool Model::chain_usable(const FoldedChain& chain, const std::vector<bool>& keep) {
  for (size_t k = 0; k + 1 < chain.layers.size(); ++k) {
    if (keep[chain.layers[k]]) return false;
  }
  return true;
}

Tensor Model::folded_kernel(const FoldedChain& chain) const {
  if (chain.kernel.defined()) return chain.kernel;
  if (chain.options.winograd) return kernel_from_winograd(*chain.options.winograd);
  // The chain's columns of its group's merged kernel.
  const Tensor& merged = groups_[static_cast<size_t>(chain.group)].kernel;
  const int64_t rows = merged.size() / merged.dim(3), width = chain.bias.size();
  Tensor k({1, 1, rows, width});
  for (int64_t r = 0; r < rows; ++r) {
    std::copy_n(merged.data() + r * merged.dim(3) + chain.group_offset, width,
                k.data() + r * width);
  }
  return k;
}

Tensor Model::unfolded_kernel(const FoldedChain& chain) const {
  Tensor k = chain.kernel.defined() ? chain.kernel.clone() : folded_kernel(chain);
  const int64_t channels = chain.scale.size();
  for (int64_t i = 0; i < k.size(); ++i) k.data()[i] /= chain.scale.data()[i % channels];
  return k;
}

void Model::fold_batch_norms() {
  // Give back the kernels the previous folding took, unless new weights were loaded since.
  for (const FoldedChain& chain : folded_) {
    for (Weight& w : nodes_[chain.layers[0]].layer->weights()) {
      if (w.name == "kernel" && !w.value.defined()) w.value = unfolded_kernel(chain);
    }
  }
  folded_.clear();
  groups_.clear();
  folded_at_.assign(nodes_.size(), -1);
  // Who reads each layer's output: a chain may only absorb a layer nobody else reads.
  std::vector<std::vector<size_t>> consumers(nodes_.size());
  for (size_t i = 0; i < nodes_.size(); ++i) {
    for (size_t in : nodes_[i].inbound) consumers[in].push_back(i);
  }
  const size_t out = output_index();
  for (size_t c = 0; c < nodes_.size(); ++c) {
    const auto* conv = dynamic_cast<const Conv2D*>(nodes_[c].layer.get());
    if (!conv || conv->config().activation != Activation::kLinear || consumers[c].size() != 1)
      continue;
    const size_t b = consumers[c][0];
    const auto* bn = dynamic_cast<const BatchNormalization*>(nodes_[b].layer.get());
    if (!bn || b == out || c == out) continue;
    const Tensor* kernel = weight(*conv, "kernel");
    const Tensor* mean = weight(*bn, "moving_mean");
    const Tensor* variance = weight(*bn, "moving_variance");
    if (!kernel || !mean || !variance) continue;  // weights not loaded: nothing to fold

    FoldedChain chain;
    chain.layers = {c, b};
    const Conv2DConfig& cc = conv->config();
    chain.options = {cc.stride_h, cc.stride_w, cc.padding};
    const Tensor* gamma = weight(*bn, "gamma");
    const Tensor* beta = weight(*bn, "beta");
    const Tensor* bias = weight(*conv, "bias");
    const int64_t channels = kernel->dim(3);
    chain.kernel = kernel->clone();
    chain.bias = Tensor({channels});
    chain.scale = Tensor({channels});
    for (int64_t o = 0; o < channels; ++o) {
      const double s =
          (gamma ? gamma->data()[o] : 1.0) / std::sqrt(static_cast<double>(variance->data()[o]) +
                                                       static_cast<double>(bn->config().epsilon));
      chain.scale.data()[o] = static_cast<float>(s);
      for (int64_t i = o; i < chain.kernel.size(); i += channels) {
        chain.kernel.data()[i] = static_cast<float>(chain.kernel.data()[i] * s);
      }
      chain.bias.data()[o] = static_cast<float>(
          ((bias ? bias->data()[o] : 0.0) - mean->data()[o]) * s + (beta ? beta->data()[o] : 0.0));
    }
    // A ReLU read by nothing but the chain's consumers becomes the epilogue.
    if (consumers[b].size() == 1 && consumers[b][0] != out) {
      const size_t a = consumers[b][0];
      const Layer& act = *nodes_[a].layer;
      const auto* activation = dynamic_cast<const ActivationLayer*>(&act);
      const auto* relu_layer = dynamic_cast<const ReLU*>(&act);
      if (activation && activation->activation() == Activation::kRelu) {
        chain.layers.push_back(a);
        chain.options.relu = true;
      } else if (relu_layer) {
        chain.layers.push_back(a);
        chain.options.relu = true;
        if (relu_layer->max_value()) chain.options.relu_max = *relu_layer->max_value();
      }
    }
    folded_at_[c] = static_cast<int>(folded_.size());
    folded_.push_back(std::move(chain));
    for (Weight& w : nodes_[c].layer->weights()) {
      if (w.name == "kernel") w.value = Tensor();  // the folded copy replaces it
    }
  }
  group_sibling_chains();
  prepare_winograd();
}

void Model::use_winograd(bool on) {
  winograd_ = on;
  prepare_winograd();
}

std::vector<std::string> Model::winograd_layers() const {
  std::vector<std::string> names;
  for (const FoldedChain& chain : folded_) {
    if (chain.options.winograd) names.push_back(nodes_[chain.layers[0]].layer->name());
  }
  return names;
}

void Model::prepare_winograd() {
  for (FoldedChain& chain : folded_) {
    if (chain.group >= 0) continue;  // 1x1, merged with its siblings
    const Shape& out = nodes_[chain.layers[0]].output_shape;
    const bool stride1 = chain.options.stride_h == 1 && chain.options.stride_w == 1;
    // Measured with gaze bench --profile on Inception-v3: from 17x17 outputs up, Winograd takes
    // 15-60% off a convolution; on its 8x8 blocks it gains little or nothing, while the transform
    // of a 3x3 kernel is 4x its size (the 8x8 3x3 kernels alone would add 50 MB).
    const bool worth_it = out[1] * out[2] >= kWinogradMinOutputPixels;
    std::shared_ptr<const WinogradKernel> wk;
    if (winograd_ && stride1 && worth_it) {
      wk = chain.options.winograd ? chain.options.winograd : winograd_kernel(chain.kernel);
    }
    // The transform REPLACES the folded kernel (memory); gradients and the unfolded path
    // recover the kernel from it when they need it (folded_kernel).
    if (wk) {
      chain.kernel = Tensor();
    } else if (chain.options.winograd) {
      chain.kernel = kernel_from_winograd(*chain.options.winograd);
    }
    chain.options.winograd = wk;
  }
}

}  // namespace gaze
