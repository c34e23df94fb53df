// Fusion and plan compilation (plan.h).
//
// Folding an inference BatchNormalization into the convolution before it:
//   BN(conv(x, K) + b) = (conv(x, K) + b - mean) * s + beta,  s = gamma / sqrt(var + eps)
//                      = conv(x, K) * s + (b - mean) * s + beta
// with s per output channel. The kernel stays the layer's own; s is applied in the epilogue, so
// nothing is divided back out and a zero gamma is just a zero scale.
#include "layers/plan.h"

#include "tensor/gemm.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "layers/keras_layers.h"
#include "layers/model.h"

namespace gaze {
namespace {

// Output pixels (height x width) from which a stride-1 convolution uses Winograd's algorithm.
// Measured with gaze bench --profile on Inception-v3: from 17x17 outputs up, Winograd takes
// 15-60% off a convolution; on its 8x8 blocks it gains little or nothing, while the transform of
// a 3x3 kernel is 4x its size.
constexpr int64_t kWinogradMinOutputPixels = 16 * 16;

const Tensor* weight(const Layer& layer, const char* name) {
  for (const Weight& w : layer.weights()) {
    if (w.name == name && w.value.defined()) return &w.value;
  }
  return nullptr;
}

std::vector<std::vector<size_t>> consumers_of(const Model& m) {
  std::vector<std::vector<size_t>> consumers(m.size());
  for (size_t i = 0; i < m.size(); ++i) {
    for (size_t in : m.inbound(i)) consumers[in].push_back(i);
  }
  return consumers;
}

// The convolution alone: its kernel, bias, geometry and own activation; false if layer c is no
// convolution gaze can fuse (or its weights are missing).
bool start_fused_conv(const Model& m, size_t c, FusedConv* fc) {
  const Layer& layer = m.layer(c);
  const std::optional<ConvolutionSpec> spec = layer.convolution();
  if (!spec || !is_elementwise(spec->activation)) return false;  // softmax: run as the layer
  const Tensor* kernel = weight(layer, spec->kernel);
  if (!kernel) return false;
  if (spec->kind == ConvolutionSpec::Kind::kSeparable) {
    const Tensor* depthwise = weight(layer, spec->depthwise_kernel);
    if (!depthwise) return false;
    fc->separable_depthwise = *depthwise;
    fc->separable_options = spec->depthwise_options;
  }
  fc->depthwise = spec->kind == ConvolutionSpec::Kind::kDepthwise;
  fc->layers = {c};
  fc->kernel = *kernel;
  if (const Tensor* bias = weight(layer, spec->bias)) fc->bias = *bias;
  fc->options = spec->options;
  fc->options.activation = spec->activation;
  return true;
}

// Absorbs the BatchNormalization `b` into the epilogue: scale and folded bias.
bool absorb_batch_norm(const Layer& layer, FusedConv* fc) {
  const auto* bn = dynamic_cast<const BatchNormalization*>(&layer);
  if (!bn) return false;
  const Tensor* mean = weight(*bn, "moving_mean");
  const Tensor* variance = weight(*bn, "moving_variance");
  if (!mean || !variance ||
      mean->size() !=
          fc->kernel.dim(fc->depthwise ? 2 : 3) * (fc->depthwise ? fc->kernel.dim(3) : 1)) {
    return false;
  }
  const Tensor* gamma = weight(*bn, "gamma");
  const Tensor* beta = weight(*bn, "beta");
  const int64_t channels = mean->size();
  Tensor scale({channels}), bias({channels});
  for (int64_t o = 0; o < channels; ++o) {
    const double s = (gamma ? gamma->data()[o] : 1.0) /
                     std::sqrt(static_cast<double>(variance->data()[o]) + bn->config().epsilon);
    scale.data()[o] = static_cast<float>(s);
    const double b = fc->bias.defined() ? fc->bias.data()[o] : 0.0;
    bias.data()[o] = static_cast<float>((b - mean->data()[o]) * s + (beta ? beta->data()[o] : 0.0));
  }
  fc->options.scale = scale;
  fc->bias = bias;
  return true;
}

// Absorbs the ZeroPadding2D feeding a 'valid' depthwise convolution (MobileNet's stride-2
// blocks) into its geometry, so the padded copy of the input is never written.
void absorb_zero_padding(const Model& m, const std::vector<std::vector<size_t>>& consumers,
                         FusedConv* fc) {
  const size_t c = fc->layers[0];
  ConvOptions& o = fc->options;
  if (!fc->depthwise || o.padding != Padding::kValid || m.inbound(c).size() != 1) return;
  const size_t p = m.inbound(c)[0];
  const auto* pad = dynamic_cast<const ZeroPadding2D*>(&m.layer(p));
  if (!pad || p == m.output_index() || consumers[p].size() != 1 || m.inbound(p).size() != 1) return;
  o.pad_top = pad->padding().top;
  o.pad_bottom = pad->padding().bottom;
  o.pad_left = pad->padding().left;
  o.pad_right = pad->padding().right;
  fc->pad_layer = p;
}

void prepare_winograd(const Model& m, FusedConv* fc) {
  const ConvOptions& o = fc->options;
  if (fc->depthwise || fc->separable_depthwise.defined() || fc->group >= 0 || o.stride_h != 1 ||
      o.stride_w != 1 || o.dilation_h != 1 || o.dilation_w != 1 || o.groups != 1)
    return;
  const Shape& out = m.output_shape(fc->layers[0]);
  if (out[1] * out[2] < kWinogradMinOutputPixels) return;
  fc->options.winograd = winograd_kernel(fc->kernel);  // nullptr for kernels without a tile
}

// The kernels of the convolutions whose GEMMs are too thin for gemm() to pack the kernel per call
// (under kGemmPacksFromRows output pixels), packed once, the thinnest first (they gain most per
// byte), while the packed copies stay within kPackedKernelBudget bytes: each is a second copy of
// its layer's kernel, which the layer keeps. Measured (gaze bench, Intel Xeon with AVX-512):
// MobileNetV2's forward 5.2 -> 4.8 ms, EfficientNetB0's 8.9 -> 8.7 ms, InceptionV3's about 1 ms
// faster for 6.6 MiB more peak RSS (202.8 MiB, under 0.4x PyTorch's 511). Packing every thin
// kernel would take InceptionV3 3 ms further for 37 MiB.
constexpr int64_t kPackedKernelBudget = int64_t{6} << 20;

void pack_thin_kernels(const Model& m, Fusion* f) {
  std::vector<std::pair<int64_t, FusedConv*>> thin;  // (output pixels, conv)
  for (FusedConv& fc : f->convs) {
    const ConvOptions& o = fc.options;
    if (fc.depthwise || fc.separable_depthwise.defined() || fc.group >= 0 || o.winograd ||
        o.groups != 1)
      continue;
    const Shape& out = m.output_shape(fc.layers[0]);
    if (out[1] * out[2] < kGemmPacksFromRows) thin.emplace_back(out[1] * out[2], &fc);
  }
  std::stable_sort(thin.begin(), thin.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  int64_t bytes = 0;
  for (auto& [pixels, fc] : thin) {
    const Shape& k = fc->kernel.shape();
    const int64_t size = k[0] * k[1] * k[2] * k[3] * static_cast<int64_t>(sizeof(float));
    if (bytes + size > kPackedKernelBudget) continue;
    bytes += size;
    fc->options.packed =
        std::make_shared<const PackedMatrix>(fc->kernel.data(), k[0] * k[1] * k[2], k[3], k[3]);
  }
}

void group_siblings(const Model& m, Fusion* f) {
  // Candidates by (input layer, activation): fused 1x1 stride-1 Conv2Ds.
  std::map<std::pair<size_t, std::string>, std::vector<size_t>> by_input;
  for (size_t c = 0; c < f->convs.size(); ++c) {
    const FusedConv& fc = f->convs[c];
    const Shape& k = fc.kernel.shape();
    if (fc.depthwise || fc.separable_depthwise.defined() || k[0] != 1 || k[1] != 1 ||
        fc.options.stride_h != 1 || fc.options.stride_w != 1 || fc.options.groups != 1)
      continue;
    const Activation& a = fc.options.activation;
    const std::string key = activation_name(a) + "/" + std::to_string(a.max_value) + "/" +
                            std::to_string(a.negative_slope) + "/" + std::to_string(a.threshold) +
                            "/" + std::to_string(a.alpha);
    by_input[{m.inbound(fc.layers[0])[0], key}].push_back(c);
  }
  // Members in Keras' layer order: models that are equal but were built in another order (the
  // hand-written Inception-v3 and a Keras config) then merge their kernels' columns alike and
  // compute bit-identical GEMMs.
  std::vector<size_t> keras_rank(m.size());
  const std::vector<size_t> order = m.keras_order();
  for (size_t r = 0; r < order.size(); ++r) keras_rank[order[r]] = r;
  for (auto& [key, members] : by_input) {
    if (members.size() < 2) continue;
    SiblingGemm group;
    group.first = members.front();  // convs are in layer order: forward() reaches this first
    std::sort(members.begin(), members.end(), [&](size_t a, size_t b) {
      return keras_rank[f->convs[a].layers[0]] < keras_rank[f->convs[b].layers[0]];
    });
    group.members = members;
    const int64_t rows = f->convs[members[0]].kernel.dim(2);
    int64_t total = 0;
    bool scaled = false;
    for (size_t c : members) {
      total += f->convs[c].kernel.dim(3);
      scaled = scaled || f->convs[c].options.scale.defined();
    }
    Tensor kernel({1, 1, rows, total});
    group.bias = Tensor::zeros({total});
    group.options.activation = f->convs[members[0]].options.activation;
    if (scaled) group.options.scale = Tensor({total});
    int64_t offset = 0;
    for (size_t c : members) {
      FusedConv& fc = f->convs[c];
      const int64_t width = fc.kernel.dim(3);
      for (int64_t r = 0; r < rows; ++r) {
        std::copy_n(fc.kernel.data() + r * width, width, kernel.data() + r * total + offset);
      }
      if (fc.bias.defined()) std::copy_n(fc.bias.data(), width, group.bias.data() + offset);
      if (scaled) {
        float* s = group.options.scale.data() + offset;
        if (fc.options.scale.defined())
          std::copy_n(fc.options.scale.data(), width, s);
        else
          std::fill(s, s + width, 1.0f);
      }
      fc.group = static_cast<int>(f->groups.size());
      fc.group_offset = offset;
      offset += width;
    }
    // Only the packed form is kept: the merged kernel is never a Var (with a gradient through
    // the group its members run one by one, on their own kernels).
    group.options.packed = std::make_shared<const PackedMatrix>(kernel.data(), rows, total, total);
    f->groups.push_back(std::move(group));
  }
}

}  // namespace

Fusion fuse(const Model& m, bool winograd) {
  Fusion f;
  f.conv_at.assign(m.size(), -1);
  const auto consumers = consumers_of(m);
  const size_t out = m.output_index();
  // The one layer reading `i`, when it may be absorbed into i's step.
  auto next = [&](size_t i) -> const Layer* {
    if (i == out || consumers[i].size() != 1 || consumers[i][0] == out) return nullptr;
    return &m.layer(consumers[i][0]);
  };
  for (size_t c = 0; c < m.size(); ++c) {
    FusedConv fc;
    if (!start_fused_conv(m, c, &fc)) continue;
    if (is_linear(fc.options.activation)) {
      if (const Layer* b = next(c); b && absorb_batch_norm(*b, &fc))
        fc.layers.push_back(consumers[c][0]);
      const size_t tail = fc.layers.back();
      if (const Layer* a = next(tail); a && a->elementwise_activation()) {
        fc.options.activation = *a->elementwise_activation();
        fc.layers.push_back(consumers[tail][0]);
      }
    }
    absorb_zero_padding(m, consumers, &fc);
    f.conv_at[c] = static_cast<int>(f.convs.size());
    f.convs.push_back(std::move(fc));
  }
  group_siblings(m, &f);
  if (winograd) {
    for (FusedConv& fc : f.convs) prepare_winograd(m, &fc);
  }
  pack_thin_kernels(m, &f);
  return f;
}

Plan compile_plan(const Model& m, const Fusion& f, const std::vector<bool>& keep) {
  size_t last = m.output_index();
  for (size_t i = 0; i < keep.size(); ++i) {
    if (keep[i]) last = std::max(last, i);
  }
  // A fused step may run when no output inside it is wanted.
  auto usable = [&](const FusedConv& fc) {
    if (fc.pad_layer != FusedConv::kNoPad && keep[fc.pad_layer]) return false;
    return std::none_of(fc.layers.begin(), fc.layers.end() - 1, [&](size_t l) { return keep[l]; });
  };
  // The ZeroPadding2D layers whose convolution's fused step absorbs them: no step of their own.
  std::vector<bool> absorbed(m.size(), false);
  for (const FusedConv& fc : f.convs) {
    if (fc.pad_layer != FusedConv::kNoPad && usable(fc)) absorbed[fc.pad_layer] = true;
  }
  auto group_usable = [&](const SiblingGemm& g) {
    return std::all_of(g.members.begin(), g.members.end(),
                       [&](size_t c) { return usable(f.convs[c]); });
  };
  Plan plan;
  std::vector<bool> done(m.size(), false);
  for (size_t i = 0; i <= last; ++i) {
    if (done[i] || absorbed[i]) continue;
    PlanStep step;
    step.at = i;
    const int c = f.conv_at[i];
    const FusedConv* fc = c >= 0 ? &f.convs[static_cast<size_t>(c)] : nullptr;
    if (fc && usable(*fc)) {
      const SiblingGemm* g = fc->group >= 0 ? &f.groups[static_cast<size_t>(fc->group)] : nullptr;
      if (g && group_usable(*g) && g->first == static_cast<size_t>(c)) {
        step.kind = PlanStep::Kind::kSiblings;
        step.index = static_cast<size_t>(fc->group);
        for (size_t member : g->members) {
          const FusedConv& mc = f.convs[member];
          for (size_t l : mc.layers) done[l] = true;
          step.writes.push_back(mc.layers.back());
        }
      } else {
        step.kind = PlanStep::Kind::kConv;
        step.index = static_cast<size_t>(c);
        for (size_t l : fc->layers) done[l] = true;
        step.writes = {fc->layers.back()};
      }
      const bool pads = fc->pad_layer != FusedConv::kNoPad && absorbed[fc->pad_layer];
      step.reads = {m.inbound(pads ? fc->pad_layer : i)[0]};
    } else {
      step.kind = PlanStep::Kind::kLayer;
      step.index = i;
      step.reads = m.inbound(i);
      step.writes = {i};
      done[i] = true;
    }
    plan.steps.push_back(std::move(step));
  }
  return plan;
}

}  // namespace gaze
