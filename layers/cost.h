// What each layer of a model costs when forward() runs it, for the limit analysis of
// `gaze bench --profile` (docs/performance.md): arithmetic and memory traffic, per sample.
#pragma once

#include <cstdint>
#include <vector>

#include "layers/model.h"

namespace gaze {

struct LayerCost {
  int64_t multiply_adds = 0;  // by the direct method (convolutions, depthwise, Dense); else 0
  // What the plan executes: for a layer that runs Winograd's algorithm, the multiply-adds of its
  // GEMMs over whole tiles (the input and output transforms are adds and scalings, not counted
  // here); else multiply_adds.
  int64_t executed_multiply_adds = 0;
  // float32 bytes read and written once each: the inputs, the output and the weights. A layer
  // fused into a convolution's epilogue (plan.h) moves no memory of its own in practice; it is
  // still counted here, as the layer by itself would.
  int64_t bytes = 0;
  bool winograd = false;  // the plan runs this layer with Winograd's algorithm
};

// One entry per layer, in layer order, for one sample (batch 1).
std::vector<LayerCost> layer_costs(const Model& model);

}  // namespace gaze
