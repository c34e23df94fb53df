// The activation table. Formulas follow keras/src/activations/activations.py (Keras 3) and
// tf.keras 2 where they differ (hard_sigmoid); each row's forward and backward sit together.
#include "autograd/activation.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

#include "autograd/op_helpers.h"
#include "autograd/ops.h"

namespace gaze {
namespace {

using K = ActivationKind;
using Forward = float (*)(const Activation&, float x);
// f'(x) from x and y = f(x).
using Derivative = float (*)(const Activation&, float x, float y);

constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;
constexpr float kSqrtHalf = 0.70710678118654752440f;
constexpr float kSqrt2OverPi = 0.79788456080286535588f;

// e^x for x <= 0, as straight-line float arithmetic that GCC vectorizes (std::exp is a library
// call per element, most of a swish network's epilogue time). Cephes' expf
// (cephes/single/expf.c): x = n ln2 + r with |r| <= ln2 / 2, e^r by its polynomial, times 2^n
// written into the exponent bits. n is rounded by adding and subtracting 1.5 * 2^23, not by
// std::floor, and the selects have both sides computed: with GCC's default -ftrapping-math,
// floor and conditional arithmetic stop the vectorizer. Below -87.33, where e^x leaves the normal
// floats, it gives 0 (std::exp: a subnormal, under 1.2e-38). Within 1 ulp of e^x elsewhere
// (tests/autograd/activation_test.cpp).
[[gnu::always_inline]] inline float exp_nonpositive(float x) {
  constexpr float kLowest = -87.33654f;             // log(FLT_MIN)
  constexpr float kRound = 12582912.0f;             // 1.5 * 2^23: adding it rounds to an integer
  const float clamped = x > kLowest ? x : kLowest;  // also for NaN: no undefined int conversion
  const float n = (clamped * 1.44269504088896341f + kRound) - kRound;
  const float r = (clamped - n * 0.693359375f) + n * 2.12194440e-4f;  // ln2 in two parts
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e =
      (p * r * r + r + 1.0f) * std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23);
  return x < kLowest ? 0.0f : e + (x - x);  // x - x: 0, or NaN for a NaN x, which it propagates
}

// 1 / (1 + e^-x) through e^-|x| <= 1, which cannot overflow.
[[gnu::always_inline]] inline float sigmoid_of(float x) {
  const float t = exp_nonpositive(-std::fabs(x));
  const float s = 1.0f / (1.0f + t);
  const float ts = t * s;
  return x >= 0.0f ? s : ts;
}
float softplus_of(float x) {  // log(1 + e^x) without overflow
  return x > 0.0f ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}
float relu6_of(float x) {
  return std::min(std::max(x, 0.0f), 6.0f);
}

// Keras relu: x above the threshold (clipped to max_value), negative_slope * (x - threshold)
// at or below it (keras/src/activations/activations.py, ReLU.static_call).
float relu_of(const Activation& a, float x) {
  return x > a.threshold ? std::min(x, a.max_value) : a.negative_slope * (x - a.threshold);
}
float relu_slope(const Activation& a, float x) {
  return x > a.threshold ? (x < a.max_value ? 1.0f : 0.0f) : a.negative_slope;
}

struct Entry {
  ActivationKind kind;
  const char* name;
  const char* alias;  // another Keras name for it, or nullptr
  Forward f;
  Derivative df;
  bool needs_input;  // df reads x (else y is enough)
  bool class_score;  // the value before it is the class score
};

// clang-format off
constexpr Entry kTable[] = {
  {K::kLinear, "linear", nullptr,
   [](const Activation&, float x) { return x; },
   [](const Activation&, float, float) { return 1.0f; }, false, false},
  {K::kRelu, "relu", nullptr,
   [](const Activation& a, float x) { return relu_of(a, x); },
   [](const Activation& a, float x, float) { return relu_slope(a, x); }, true, false},
  {K::kSigmoid, "sigmoid", nullptr,
   [](const Activation&, float x) { return sigmoid_of(x); },
   [](const Activation&, float, float y) { return y * (1.0f - y); }, false, true},
  {K::kHardSigmoid, "hard_sigmoid", nullptr,  // tf.keras 2 backend.hard_sigmoid, TF.js
   [](const Activation&, float x) { return std::min(std::max(0.2f * x + 0.5f, 0.0f), 1.0f); },
   [](const Activation&, float x, float) { return x > -2.5f && x < 2.5f ? 0.2f : 0.0f; },
   true, false},
  {K::kHardSigmoidRelu6, "hard_sigmoid", nullptr,  // Keras 3: relu6(x + 3) / 6
   [](const Activation&, float x) { return relu6_of(x + 3.0f) / 6.0f; },
   [](const Activation&, float x, float) { return x > -3.0f && x < 3.0f ? 1.0f / 6.0f : 0.0f; },
   true, false},
  {K::kSwish, "swish", "silu",
   [](const Activation&, float x) { return x * sigmoid_of(x); },
   [](const Activation&, float x, float) {
     const float s = sigmoid_of(x);
     return s * (1.0f + x * (1.0f - s));
   }, true, false},
  {K::kHardSwish, "hard_swish", "hard_silu",
   [](const Activation&, float x) { return x * relu6_of(x + 3.0f) / 6.0f; },
   [](const Activation&, float x, float) {
     return x <= -3.0f ? 0.0f : x >= 3.0f ? 1.0f : (2.0f * x + 3.0f) / 6.0f;
   }, true, false},
  {K::kGelu, "gelu", nullptr,
   [](const Activation&, float x) { return 0.5f * x * (1.0f + std::erf(x * kSqrtHalf)); },
   [](const Activation&, float x, float) {
     const float pdf = 0.39894228040143267794f * std::exp(-0.5f * x * x);
     return 0.5f * (1.0f + std::erf(x * kSqrtHalf)) + x * pdf;
   }, true, false},
  {K::kGeluTanh, "gelu_approximate", "gelu_new",
   [](const Activation&, float x) {
     return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
   },
   [](const Activation&, float x, float) {
     const float t = std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x));
     return 0.5f * (1.0f + t) +
            0.5f * x * (1.0f - t * t) * kSqrt2OverPi * (1.0f + 3.0f * 0.044715f * x * x);
   }, true, false},
  {K::kTanh, "tanh", nullptr,
   [](const Activation&, float x) { return std::tanh(x); },
   [](const Activation&, float, float y) { return 1.0f - y * y; }, false, false},
  {K::kElu, "elu", nullptr,
   [](const Activation& a, float x) { return x > 0.0f ? x : a.alpha * std::expm1(x); },
   [](const Activation& a, float x, float y) { return x > 0.0f ? 1.0f : y + a.alpha; },
   true, false},
  {K::kSelu, "selu", nullptr,
   [](const Activation&, float x) {
     return static_cast<float>(kSeluScale * (x > 0.0f ? x : kSeluAlpha * std::expm1(x)));
   },
   [](const Activation&, float x, float) {
     return static_cast<float>(x > 0.0f ? kSeluScale : kSeluScale * kSeluAlpha * std::exp(x));
   }, true, false},
  {K::kSoftplus, "softplus", nullptr,
   [](const Activation&, float x) { return softplus_of(x); },
   [](const Activation&, float x, float) { return sigmoid_of(x); }, true, false},
  {K::kSoftsign, "softsign", nullptr,
   [](const Activation&, float x) { return x / (1.0f + std::fabs(x)); },
   [](const Activation&, float x, float) {
     const float d = 1.0f + std::fabs(x);
     return 1.0f / (d * d);
   }, true, false},
  {K::kMish, "mish", nullptr,
   [](const Activation&, float x) { return x * std::tanh(softplus_of(x)); },
   [](const Activation&, float x, float) {
     const float t = std::tanh(softplus_of(x));
     return t + x * (1.0f - t * t) * sigmoid_of(x);
   }, true, false},
  {K::kExponential, "exponential", nullptr,
   [](const Activation&, float x) { return std::exp(x); },
   [](const Activation&, float, float y) { return y; }, false, false},
  {K::kSoftmax, "softmax", nullptr, nullptr, nullptr, false, true},
};
// clang-format on

const Entry& entry(const Activation& a) {
  for (const Entry& e : kTable) {
    if (e.kind == a.kind) return e;
  }
  throw Error("activation: unknown kind");
}

}  // namespace

Activation parse_activation(const std::string& keras_name, int keras_major) {
  if (keras_name == "relu6") return {.kind = K::kRelu, .max_value = 6.0f};
  // Keras 3's activations.leaky_relu defaults to negative_slope 0.2 (TF.js: alpha 0.2 too).
  if (keras_name == "leaky_relu") return {.kind = K::kRelu, .negative_slope = 0.2f};
  if (keras_name == "hard_sigmoid")
    return {.kind = keras_major >= 3 ? K::kHardSigmoidRelu6 : K::kHardSigmoid};
  for (const Entry& e : kTable) {
    if (keras_name == e.name || (e.alias && keras_name == e.alias)) return {.kind = e.kind};
  }
  std::string list;
  for (const std::string& n : activation_names()) list += (list.empty() ? "" : ", ") + n;
  throw Error("unsupported activation '" + keras_name + "' (supported: " + list + ")");
}

std::string activation_name(const Activation& a) {
  if (a.kind == K::kRelu && a.max_value == 6.0f && a.negative_slope == 0.0f && a.threshold == 0.0f)
    return "relu6";
  if (a.kind == K::kHardSigmoidRelu6) return "hard_sigmoid (Keras 3)";
  return entry(a).name;
}

std::vector<std::string> activation_names() {
  std::vector<std::string> names = {"relu6", "leaky_relu"};
  for (const Entry& e : kTable) {
    if (e.kind == K::kHardSigmoidRelu6) continue;  // same name as kHardSigmoid
    names.emplace_back(e.name);
    if (e.alias) names.emplace_back(e.alias);
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool is_linear(const Activation& a) {
  return a.kind == K::kLinear;
}
bool is_elementwise(const Activation& a) {
  return a.kind != K::kSoftmax;
}
bool is_class_score_activation(const Activation& a) {
  return entry(a).class_score;
}
bool backward_needs_input(const Activation& a) {
  // A plain relu (no slope, no threshold) can tell from its output where it passed.
  if (a.kind == K::kRelu && a.negative_slope == 0.0f && a.threshold == 0.0f) return false;
  return entry(a).needs_input;
}

void activation_forward(const Activation& a, const float* x, float* y, int64_t n) {
  if (a.kind == K::kLinear) {
    if (x != y) std::copy_n(x, n, y);
    return;
  }
  if (a.kind == K::kRelu && a.negative_slope == 0.0f && a.threshold == 0.0f) {
    const float hi = a.max_value;  // the hot path: branch-free, vectorized
    for (int64_t i = 0; i < n; ++i) y[i] = std::min(std::max(x[i], 0.0f), hi);
    return;
  }
  // The same formulas as the table's, inlined, so that the loops vectorize.
  if (a.kind == K::kSigmoid) {
    for (int64_t i = 0; i < n; ++i) y[i] = sigmoid_of(x[i]);
    return;
  }
  if (a.kind == K::kSwish) {
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * sigmoid_of(x[i]);
    return;
  }
  const Entry& e = entry(a);
  if (!e.f) throw Error("activation: " + std::string(e.name) + " is not elementwise");
  for (int64_t i = 0; i < n; ++i) y[i] = e.f(a, x[i]);
}

void activation_backward(const Activation& a, const float* x, const float* y, const float* dy,
                         float* dx, int64_t n, ReluRule rule) {
  const Entry& e = entry(a);
  if (!e.df) throw Error("activation: " + std::string(e.name) + " is not elementwise");
  const bool guided = a.kind == K::kRelu && rule == ReluRule::kGuided;
  if (!backward_needs_input(a)) {
    for (int64_t i = 0; i < n; ++i) {
      float d;
      if (a.kind == K::kRelu)  // from the output: passed where it is inside (0, max_value)
        d = y[i] > 0.0f && y[i] < a.max_value ? 1.0f : 0.0f;
      else
        d = e.df(a, 0.0f, y[i]);
      dx[i] = guided && dy[i] <= 0.0f ? 0.0f : dy[i] * d;
    }
    return;
  }
  if (!x) throw Error("activation: the backward of " + activation_name(a) + " needs its input");
  for (int64_t i = 0; i < n; ++i) {
    const float d = e.df(a, x[i], y[i]);
    dx[i] = guided && dy[i] <= 0.0f ? 0.0f : dy[i] * d;
  }
}

Var activation(const Var& x, const Activation& a) {
  if (a.kind == K::kLinear) return x;
  if (a.kind == K::kSoftmax) return softmax(x);
  const Tensor& xv = x.value();
  Tensor out(xv.shape());
  const int64_t n = xv.size();
  const float* xi = xv.data();
  float* o = out.data();
  constexpr int64_t kBlock = 4096;
#pragma omp parallel for
  for (int64_t b = 0; b < n; b += kBlock)
    activation_forward(a, xi + b, o + b, std::min(kBlock, n - b));
  const Tensor x_saved = x.requires_grad() && backward_needs_input(a) ? xv : Tensor();
  return make_result(std::move(out), activation_name(a), {x},
                     [a, x_saved](Node& self, const BackwardOptions& options) {
                       Tensor dx(self.grad.shape());
                       activation_backward(a, x_saved.defined() ? x_saved.data() : nullptr,
                                           self.value.data(), self.grad.data(), dx.data(),
                                           dx.size(), options.relu_rule);
                       self.inputs[0]->accumulate_grad(std::move(dx));
                     });
}

}  // namespace gaze
