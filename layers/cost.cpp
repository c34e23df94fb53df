// Per-layer multiply-adds and memory traffic (layers/cost.h).
#include "layers/cost.h"

#include <set>
#include <string>

#include "autograd/ops.h"

namespace gaze {
namespace {

int64_t per_sample(const Shape& shape) {
  int64_t n = 1;
  for (size_t d = 1; d < shape.size(); ++d) n *= shape[d];
  return n;
}

// Convolutions (Conv2D, DepthwiseConv2D, SeparableConv2D) and Dense: each output pixel (each row
// of a Dense) costs the numel of its kernels of rank 2 or more, per output channel group: the
// output's pixels times the kernels' numel. Biases, BatchNormalization and the like are rank 1.
bool has_kernels(const Layer& layer) {
  const std::string name = layer.class_name();
  return name.find("Conv") != std::string::npos || name == "Dense";
}

int64_t direct_multiply_adds(const Model& m, size_t i) {
  const Layer& layer = m.layer(i);
  if (!has_kernels(layer)) return 0;
  const Shape& out = m.output_shape(i);
  const int64_t pixels = per_sample(out) / out.back();
  int64_t kernels = 0;
  for (const Weight& w : layer.weights()) {
    if (w.shape.size() >= 2) kernels += element_count(w.shape);
  }
  return pixels * kernels;
}

// A stride-1 convolution run by Winograd: [ceil(oh/mh) * ceil(ow/mw) tiles, Cin] x [Cin, Cout]
// GEMMs, one per position of the (mh+kh-1) x (mw+kw-1) transformed tile.
int64_t winograd_multiply_adds(const Model& m, size_t i) {
  const Shape& k = m.layer(i).weights()[0].shape;  // [kh, kw, Cin, Cout]
  const Shape& out = m.output_shape(i);
  const auto [mh, mw] = winograd_tile(k[0], k[1]);
  const int64_t tiles = ((out[1] + mh - 1) / mh) * ((out[2] + mw - 1) / mw);
  return tiles * (mh + k[0] - 1) * (mw + k[1] - 1) * k[2] * k[3];
}

}  // namespace

std::vector<LayerCost> layer_costs(const Model& m) {
  const std::vector<std::string> names = m.winograd_layers();
  const std::set<std::string> winograd(names.begin(), names.end());
  std::vector<LayerCost> costs(m.size());
  for (size_t i = 0; i < m.size(); ++i) {
    LayerCost& c = costs[i];
    c.multiply_adds = direct_multiply_adds(m, i);
    c.winograd = winograd.count(m.layer(i).name()) > 0;
    c.executed_multiply_adds = c.winograd ? winograd_multiply_adds(m, i) : c.multiply_adds;
    int64_t floats = per_sample(m.output_shape(i));
    for (size_t from : m.inbound(i)) floats += per_sample(m.output_shape(from));
    for (const Weight& w : m.layer(i).weights()) floats += element_count(w.shape);
    c.bytes = 4 * floats;
  }
  return costs;
}

}  // namespace gaze
