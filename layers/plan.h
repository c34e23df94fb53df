// The compiled inference plan: how Model::forward runs a request.
//
// Layers never change once loaded. What makes inference fast is derived from them here, once:
//  - Fusion (made once per loaded model, shared by every plan): each convolution with the
//    BatchNormalization and the elementwise activation that follow it, as one convolution whose
//    epilogue computes activation(conv * scale + bias); the Winograd transform of its kernel
//    where that pays; sibling 1x1 convolutions of one input merged into one wider GEMM, its
//    kernel packed once for gaze's own GEMM kernel (tensor/gemm.h); the ZeroPadding2D before a
//    'valid' depthwise convolution, as the convolution's own padding.
//  - Plan (made once per request, i.e. per set of layer outputs wanted, and cached): the list of
//    steps forward() runs. A fused step is used only when no output inside it is wanted; else
//    its layers run one by one, as they are.
// ncnn makes the same choice once per layer at load (create_pipeline); here it is per request,
// because Grad-CAM may want any layer's output and gradient.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "autograd/ops.h"

namespace gaze {

class Model;

// A convolution layer (Conv2D, DepthwiseConv2D, SeparableConv2D) and the layers fused after it.
struct FusedConv {
  std::vector<size_t> layers;  // the convolution, then the absorbed BatchNormalization/activation
  bool depthwise = false;      // the (last) convolution is depthwise
  Tensor separable_depthwise;  // SeparableConv2D: the depthwise kernel run first, no epilogue
  ConvOptions separable_options;
  Tensor kernel;              // the layer's own kernel (the same storage, not a copy)
  Tensor bias;                // folded: (b - mean) * s + beta; else the layer's bias (or none)
  ConvOptions options;        // strides, padding, scale s, activation, Winograd transform
  size_t pad_layer = kNoPad;  // a ZeroPadding2D before a depthwise convolution, absorbed as its
                              // explicit padding (options.pad_*), or kNoPad
  static constexpr size_t kNoPad = static_cast<size_t>(-1);
  int group = -1;            // its SiblingGemm, or -1
  int64_t group_offset = 0;  // its first output channel in the group's merged GEMM
};

// Fused 1x1 stride-1 convolutions of the same input with the same activation (Inception's branch
// heads), run as ONE GEMM [pixels, C] x [C, sum K_i] whose output slice_channels shares out.
struct SiblingGemm {
  std::vector<size_t> members;  // indices into Fusion::convs, in Keras' layer order (the columns)
  size_t first = 0;             // the member forward() reaches first: where the group runs
  Tensor bias;                  // merged
  ConvOptions options;          // the merged kernel (packed), scale and the shared activation
};

struct Fusion {
  std::vector<FusedConv> convs;
  std::vector<int> conv_at;  // per layer: the FusedConv starting there, or -1
  std::vector<SiblingGemm> groups;
};

// Derives the fused convolutions of a model whose weights are loaded. With `winograd`, stride-1
// Conv2Ds whose kernel has a tile and whose output is large enough get their transform.
Fusion fuse(const Model& model, bool winograd);

struct PlanStep {
  enum class Kind { kLayer, kConv, kSiblings };
  Kind kind = Kind::kLayer;
  size_t index = 0;            // the layer, the FusedConv or the SiblingGemm
  size_t at = 0;               // its first layer, where its time is recorded
  std::vector<size_t> reads;   // the layer outputs it reads
  std::vector<size_t> writes;  // the layer outputs it produces, in its outputs' order
};

struct Plan {
  std::vector<PlanStep> steps;  // in an order where every step comes after what it reads
};

// The steps that compute every layer up to the last wanted one. `keep[i]`: layer i's own output
// is wanted (kept, or its gradient asked for), so no fused step may hide it.
Plan compile_plan(const Model& model, const Fusion& fusion, const std::vector<bool>& keep);

}  // namespace gaze
