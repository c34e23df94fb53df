// The activation table: every entry's forward against its formula written out here in double,
// its backward against finite differences, the names Keras uses, and the conv epilogue that
// applies the table in place.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>

#include "autograd/activation.h"
#include "autograd/ops.h"
#include "tests/support/gradient_check.h"
#include "tests/support/naive.h"

namespace gaze {
namespace {

using testing::check_gradients;
using testing::random_tensor;

struct Formula {
  const char* keras_name;
  double (*f)(double);
};

double sigmoid_d(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}
double relu6_d(double x) {
  return std::min(std::max(x, 0.0), 6.0);
}

const Formula kFormulas[] = {
    {"linear", [](double x) { return x; }},
    {"relu", [](double x) { return std::max(x, 0.0); }},
    {"relu6", relu6_d},
    {"leaky_relu", [](double x) { return x > 0 ? x : 0.2 * x; }},
    {"sigmoid", sigmoid_d},
    {"hard_sigmoid", [](double x) { return std::min(std::max(0.2 * x + 0.5, 0.0), 1.0); }},
    {"swish", [](double x) { return x * sigmoid_d(x); }},
    {"silu", [](double x) { return x * sigmoid_d(x); }},
    {"hard_swish", [](double x) { return x * relu6_d(x + 3) / 6; }},
    {"hard_silu", [](double x) { return x * relu6_d(x + 3) / 6; }},
    {"gelu", [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }},
    {"gelu_approximate",
     [](double x) {
       return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
     }},
    {"gelu_new",
     [](double x) {
       return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
     }},
    {"tanh", [](double x) { return std::tanh(x); }},
    {"elu", [](double x) { return x > 0 ? x : std::exp(x) - 1; }},
    {"selu",
     [](double x) {
       return 1.0507009873554805 * (x > 0 ? x : 1.6732632423543772 * (std::exp(x) - 1));
     }},
    {"softplus", [](double x) { return std::log(1 + std::exp(x)); }},
    {"softsign", [](double x) { return x / (1 + std::fabs(x)); }},
    {"mish", [](double x) { return x * std::tanh(std::log(1 + std::exp(x))); }},
    {"exponential", [](double x) { return std::exp(x); }},
};

// Values in [-4, 4], each more than 0.05 away from every kink of the table.
Tensor away_from_kinks(const Shape& shape, uint32_t seed) {
  Tensor t = random_tensor(shape, seed, -4.0f, 4.0f);
  for (float& v : t.values()) {
    for (float kink : {-3.0f, -2.5f, 0.0f, 2.5f, 3.0f}) {
      if (std::fabs(v - kink) < 0.05f) v = kink + 0.1f;
    }
  }
  return t;
}

TEST(Activation, EveryEntryMatchesItsFormula) {
  const Tensor x = away_from_kinks({64}, 1);
  for (const Formula& formula : kFormulas) {
    SCOPED_TRACE(formula.keras_name);
    const Tensor y = activation(Var(x), parse_activation(formula.keras_name)).value();
    for (int64_t i = 0; i < x.size(); ++i) {
      const double want = formula.f(x.data()[i]);
      EXPECT_NEAR(y.data()[i], want, 2e-6 * (1 + std::fabs(want))) << "x = " << x.data()[i];
    }
  }
}

TEST(Activation, EveryNameKerasUsesIsCoveredAndUnknownNamesAreErrors) {
  for (const std::string& name : activation_names()) {
    if (name == "softmax") continue;
    bool tested = false;
    for (const Formula& f : kFormulas) tested = tested || name == f.keras_name;
    EXPECT_TRUE(tested) << name << " has no formula in this test";
  }
  try {
    parse_activation("sparsemax");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sparsemax"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("hard_swish"), std::string::npos);
  }
}

// sigmoid and swish run on gaze's own vectorizable e^x (activation.cpp, within 1 ulp of e^x).
// Against double on 2 million points over [-100, 100] and the edges: sigmoid within 2.5 float
// ulps of the exact value, as 1 / (1 + std::exp(-x)) in float is (2.47 at -16.64), swish within
// 3.2 (measured 3.15 at -1.90; x times that std::exp sigmoid: 2.61). Where e^x is no normal float
// (x < log(FLT_MIN) = -87.34) both give under 1e-35: sigmoid then is under FLT_MIN, swish x times
// that. NaN stays NaN.
TEST(Activation, SigmoidAndSwishAreWithinAFewUlps) {
  std::vector<float> xs;
  for (int64_t i = -1000000; i <= 1000000; ++i) xs.push_back(static_cast<float>(i) * 1e-4f);
  for (float v : {-103.0f, -88.0f, -87.4f, -87.33f, -87.0f, -20.0f, -1e-30f, 0.0f, -0.0f, 1e-30f,
                  17.0f, 88.0f, 89.0f, 1e30f, -1e30f}) {
    xs.push_back(v);
  }
  const Tensor x = Tensor::from({static_cast<int64_t>(xs.size())}, xs);
  for (const std::string name : {"sigmoid", "swish"}) {
    SCOPED_TRACE(name);
    const Tensor y = activation(Var(x), parse_activation(name)).value();
    double worst_ulps = 0;
    for (size_t i = 0; i < xs.size(); ++i) {
      const double xi = xs[i];
      const double sigmoid = 1.0 / (1.0 + std::exp(-xi));
      const double want = name == "swish" ? xi * sigmoid : sigmoid;
      const double got = y.data()[i];
      if (xi < std::log(FLT_MIN)) {
        EXPECT_LT(std::fabs(got - want), 1e-35) << "x = " << xi;
        continue;
      }
      const float w = static_cast<float>(std::fabs(want));
      const double u = std::fabs(got - want) / (std::nextafter(w, INFINITY) - w);
      worst_ulps = std::max(worst_ulps, u);
    }
    EXPECT_LE(worst_ulps, name == "swish" ? 3.2 : 2.5);
    const Tensor nan = activation(Var(Tensor::from({1}, {NAN})), parse_activation(name)).value();
    EXPECT_TRUE(std::isnan(nan.data()[0]));
  }
}

TEST(Activation, HardSigmoidFollowsTheKerasVersionThatWroteTheModel) {
  const Tensor x = Tensor::from({3}, {1.0f, -2.8f, 2.7f});
  const Tensor keras2 = activation(Var(x), parse_activation("hard_sigmoid", 2)).value();
  const Tensor keras3 = activation(Var(x), parse_activation("hard_sigmoid", 3)).value();
  EXPECT_FLOAT_EQ(keras2.data()[0], 0.7f);  // clip(0.2 x + 0.5)
  EXPECT_FLOAT_EQ(keras2.data()[1], 0.0f);
  EXPECT_FLOAT_EQ(keras2.data()[2], 1.0f);
  EXPECT_FLOAT_EQ(keras3.data()[0], 4.0f / 6.0f);  // relu6(x + 3) / 6
  EXPECT_FLOAT_EQ(keras3.data()[1], 0.2f / 6.0f);
  EXPECT_FLOAT_EQ(keras3.data()[2], 5.7f / 6.0f);
}

TEST(Activation, GradientsMatchFiniteDifferences) {
  uint32_t seed = 10;
  std::vector<Activation> all;
  for (const Formula& f : kFormulas) all.push_back(parse_activation(f.keras_name));
  all.push_back(parse_activation("hard_sigmoid", 3));
  all.push_back({.kind = ActivationKind::kRelu,
                 .negative_slope = 0.1f,
                 .max_value = 2.0f,
                 .threshold = 0.5f});
  all.push_back({.kind = ActivationKind::kElu, .alpha = 0.7f});
  for (const Activation& a : all) {
    SCOPED_TRACE(activation_name(a));
    Tensor x = away_from_kinks({2, 3, 4}, seed++);
    for (float& v : x.values()) {  // the relu above has kinks at 0.5 and 2 too
      if (std::fabs(v - 0.5f) < 0.05f || std::fabs(v - 2.0f) < 0.05f) v += 0.1f;
    }
    check_gradients([&](const std::vector<Var>& v) { return activation(v[0], a); }, {x});
  }
}

TEST(Activation, TheGuidedRulePassesOnlyPositiveGradientsThroughARelu) {
  const Activation leaky{.kind = ActivationKind::kRelu, .negative_slope = 0.1f};
  const float x[] = {1.0f, 1.0f, -1.0f, -1.0f};
  const float y[] = {1.0f, 1.0f, -0.1f, -0.1f};
  const float dy[] = {2.0f, -2.0f, 2.0f, -2.0f};
  float dx[4];
  activation_backward(leaky, x, y, dy, dx, 4, ReluRule::kStandard);
  EXPECT_EQ(std::vector<float>(dx, dx + 4), (std::vector<float>{2.0f, -2.0f, 0.2f, -0.2f}));
  activation_backward(leaky, x, y, dy, dx, 4, ReluRule::kGuided);
  EXPECT_EQ(std::vector<float>(dx, dx + 4), (std::vector<float>{2.0f, 0.0f, 0.2f, 0.0f}));
}

// The convolution epilogue y = f(conv * scale + bias), for activations whose backward reads the
// output (fused in the op) and the input (run as a second op when a gradient is wanted).
TEST(Activation, ConvolutionEpiloguesApplyScaleBiasAndTheTable) {
  uint32_t seed = 40;
  for (const char* name : {"relu", "relu6", "sigmoid", "tanh", "swish", "hard_swish", "gelu"}) {
    SCOPED_TRACE(name);
    const Tensor x = random_tensor({2, 5, 6, 3}, seed++);
    const Tensor k = random_tensor({3, 3, 3, 4}, seed++, -2.0f, 2.0f);
    const Tensor b = random_tensor({4}, seed++);
    const Tensor s = random_tensor({4}, seed++, 0.5f, 2.0f);
    ConvOptions o{1, 1, Padding::kSame, parse_activation(name)};
    o.scale = s;
    const Tensor got = conv2d(Var(x), Var(k), Var(b), o).value();
    Tensor want = testing::naive_conv2d(x, k, Tensor(), 1, 1, true);
    for (int64_t i = 0; i < want.size(); ++i) {
      want.data()[i] = want.data()[i] * s.data()[i % 4] + b.data()[i % 4];
    }
    want = activation(Var(want), o.activation).value();
    EXPECT_TENSOR_NEAR(got, want, 1e-5f);
    // Smooth activations only: the finite differences must not straddle a kink (relu's 0,
    // hard_swish's -3 and 3), which the pre-activations here cross.
    const std::string n = name;
    if (n == "sigmoid" || n == "tanh" || n == "swish" || n == "gelu") {
      check_gradients([&](const std::vector<Var>& v) { return conv2d(v[0], v[1], v[2], o); },
                      {x, k, b});
      ConvOptions od = o;
      od.scale = random_tensor({6}, seed++, 0.5f, 2.0f);
      check_gradients(
          [&](const std::vector<Var>& v) { return depthwise_conv2d(v[0], v[1], v[2], od); },
          {x, random_tensor({3, 3, 3, 2}, seed++), random_tensor({6}, seed++)});
    }
  }
}

}  // namespace
}  // namespace gaze
