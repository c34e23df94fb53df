// Sibling 1x1 convolutions as one GEMM.
//
// Inception's blocks open with several 1x1 convolutions of the same input (the heads of their
// branches: 3 in mixed0-2, 4-7 and 9-10, 2 in mixed8). Each is a GEMM [pixels, C] x [C, K_i];
// side by side they are one GEMM [pixels, C] x [C, sum K_i], which reads (and packs) the input
// once instead of once per branch and runs wider, faster. The merged output is then sliced among
// the branches by slice_channels, whose backward makes gradients flow through the merge too.
#include <algorithm>
#include <map>
#include <utility>

#include "layers/model.h"

namespace gaze {

void Model::group_sibling_chains() {
  // Candidates by (input layer, fused ReLU cap): folded 1x1 stride-1 chains.
  std::map<std::pair<size_t, float>, std::vector<size_t>> by_input;
  for (size_t c = 0; c < folded_.size(); ++c) {
    const FoldedChain& chain = folded_[c];
    const Shape& k = chain.kernel.shape();
    if (k[0] != 1 || k[1] != 1 || chain.options.stride_h != 1 || chain.options.stride_w != 1)
      continue;
    const float relu_max = chain.options.relu ? chain.options.relu_max : -1.0f;
    by_input[{nodes_[chain.layers[0]].inbound[0], relu_max}].push_back(c);
  }
  // Members in Keras' layer order: models that are equal but were built in another order (the
  // hand-written Inception-v3 and a Keras config) then merge their kernels' columns alike and
  // compute bit-identical GEMMs.
  std::vector<size_t> keras_rank(nodes_.size());
  const std::vector<size_t> order = keras_order();
  for (size_t r = 0; r < order.size(); ++r) keras_rank[order[r]] = r;
  for (auto& [key, chains] : by_input) {
    if (chains.size() < 2) continue;
    SiblingGroup group;
    group.first = chains.front();  // folded_ is in layer order: forward() reaches this one first
    std::sort(chains.begin(), chains.end(), [&](size_t a, size_t b) {
      return keras_rank[folded_[a].layers[0]] < keras_rank[folded_[b].layers[0]];
    });
    group.chains = chains;
    const int64_t rows = folded_[chains[0]].kernel.dim(2);
    int64_t total = 0;
    for (size_t c : chains) total += folded_[c].kernel.dim(3);
    group.kernel = Tensor({1, 1, rows, total});
    group.bias = Tensor({total});
    int64_t offset = 0;
    for (size_t c : chains) {
      FoldedChain& chain = folded_[c];
      const int64_t width = chain.kernel.dim(3);
      for (int64_t r = 0; r < rows; ++r) {
        std::copy_n(chain.kernel.data() + r * width, width,
                    group.kernel.data() + r * total + offset);
      }
      std::copy_n(chain.bias.data(), width, group.bias.data() + offset);
      chain.kernel = Tensor();  // the merged kernel holds it (folded_kernel slices it out)
      chain.group = static_cast<int>(groups_.size());
      chain.group_offset = offset;
      offset += width;
    }
    groups_.push_back(std::move(group));
  }
}

std::vector<std::vector<std::string>> Model::sibling_groups() const {
  std::vector<std::vector<std::string>> names;
  for (const SiblingGroup& group : groups_) {
    std::vector<size_t> layers;
    for (size_t c : group.chains) layers.push_back(folded_[c].layers[0]);
    std::sort(layers.begin(), layers.end());  // layer order: the first is where the GEMM runs
    names.emplace_back();
    for (size_t l : layers) names.back().push_back(nodes_[l].layer->name());
  }
  return names;
}

bool Model::runs_as_group(size_t c, const std::vector<bool>& keep) const {
  const FoldedChain& chain = folded_[c];
  if (chain.group < 0) return false;
  const SiblingGroup& group = groups_[static_cast<size_t>(chain.group)];
  if (group.first != c) return false;
  // Like a single chain, a group runs merged unless an output inside one of its chains is wanted.
  return std::all_of(group.chains.begin(), group.chains.end(),
                     [&](size_t member) { return chain_usable(folded_[member], keep); });
}

std::vector<Var> Model::run_sibling_group(size_t c, const Var& input) const {
  const FoldedChain& first = folded_[c];
  const SiblingGroup& group = groups_[static_cast<size_t>(first.group)];
  ConvOptions options = first.options;
  options.winograd = nullptr;
  options.workspace = &workspace_;
  const Var merged = conv2d(input, Var(group.kernel), Var(group.bias), options);
  std::vector<Var> outputs;
  for (size_t member : group.chains) {
    const FoldedChain& chain = folded_[member];
    outputs.push_back(slice_channels(merged, chain.group_offset, chain.bias.size()));
  }
  return outputs;
}

}  // namespace gaze
