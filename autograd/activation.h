// The activation table: every activation Keras names, in one place. Each entry has its name, its
// forward and backward side by side, and whether the value before it is the class score (the
// logit under a softmax or sigmoid output). The same table serves the Activation layer, the
// `activation=` field of Conv2D, Dense and the other layers, and the fused epilogue of every
// convolution path (1x1, im2col, Winograd, depthwise).
#pragma once

#include <limits>
#include <string>
#include <vector>

#include "autograd/var.h"

namespace gaze {

enum class ActivationKind {
  kLinear,
  kRelu,  // Keras' relu(x, negative_slope, max_value, threshold): relu, relu6, leaky_relu, ReLU
  kSigmoid,
  kHardSigmoid,       // Keras 2 and TF.js: clip(0.2 x + 0.5, 0, 1)
  kHardSigmoidRelu6,  // Keras 3: relu6(x + 3) / 6
  kSwish,             // x * sigmoid(x), also "silu"
  kHardSwish,         // x * relu6(x + 3) / 6, also "hard_silu"
  kGelu,              // exact: x * Phi(x)
  kGeluTanh,          // the tanh approximation (Keras approximate=True, TF.js "gelu_new")
  kTanh,
  kElu,  // x > 0 ? x : alpha (exp(x) - 1)
  kSelu,
  kSoftplus,
  kSoftsign,
  kMish,
  kExponential,
  kSoftmax,  // over the last axis; not elementwise, so never an epilogue
};

// An activation with its parameters (only kRelu and kElu have any).
struct Activation {
  ActivationKind kind = ActivationKind::kLinear;
  float negative_slope = 0.0f;                               // kRelu
  float max_value = std::numeric_limits<float>::infinity();  // kRelu
  float threshold = 0.0f;                                    // kRelu
  float alpha = 1.0f;                                        // kElu
  bool operator==(const Activation&) const = default;
};

// The Keras name of an activation. `keras_major` is the Keras version that wrote the model:
// "hard_sigmoid" means clip(0.2x + 0.5) before Keras 3 and relu6(x + 3) / 6 from Keras 3 on.
// Throws Error listing the known names.
Activation parse_activation(const std::string& keras_name, int keras_major = 2);
std::string activation_name(const Activation& a);
std::vector<std::string> activation_names();  // the names parse_activation accepts

bool is_linear(const Activation& a);
bool is_elementwise(const Activation& a);  // all but softmax
// Whether the value before `a` is what Grad-CAM explains instead of the output (the logits of a
// softmax or sigmoid classifier).
bool is_class_score_activation(const Activation& a);
// Whether the backward needs the activation's input (else its output is enough).
bool backward_needs_input(const Activation& a);

// y[i] = f(x[i]) for n elements (x == y allowed). Elementwise activations only.
void activation_forward(const Activation& a, const float* x, float* y, int64_t n);
// dx[i] = dy[i] * f'(x[i]), from the input x (may be null when !backward_needs_input(a)) and the
// output y. Under the guided rule a relu passes only positive dy (guided backpropagation).
void activation_backward(const Activation& a, const float* x, const float* y, const float* dy,
                         float* dx, int64_t n, ReluRule rule);

// The op: f(x), softmax over the last axis included; linear returns x itself.
Var activation(const Var& x, const Activation& a);

}  // namespace gaze
