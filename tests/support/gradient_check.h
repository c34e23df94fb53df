// The one gradient checker every op passes: central finite differences against backward().
//
// For out = f(inputs), it takes the scalar loss L = sum(out * R) with a fixed random R, runs
// backward(out, seed = R), and compares each input's gradient element by element with
// (L(x + h) - L(x - h)) / 2h, L accumulated in double.
//
// Why float32 and these tolerances suffice: the ops are float32 kernels (BLAS sgemm among them),
// so the check runs them as they are. With h = 1e-2 the truncation error of a central difference
// is O(h^2 f''') ~ 1e-5 for the smooth ops and zero for the linear ones (conv, pooling, dense,
// shape ops: most of them). Rounding of L, a double sum of float32 outputs with relative error
// ~1e-7 each, contributes about sqrt(outputs) * 1e-7 * |out| / 2h ~ 1e-4 for the sizes used here.
// The tolerance 2e-3 * (1 + |g|) is thus ~10x above the noise, while a wrong gradient (missing
// term, wrong index, transposed kernel) is off by O(|g|) and fails. Inputs are kept away from
// kinks (relu's 0, relu6's 6, max-pool ties) by more than h.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "autograd/var.h"
#include "tests/support/test_util.h"

namespace gaze::testing {

struct GradCheckOptions {
  float h = 1e-2f;
  float tolerance = 2e-3f;
};

using OpUnderTest = std::function<Var(const std::vector<Var>&)>;

inline double weighted_sum(const Tensor& out, const Tensor& weights) {
  double s = 0.0;
  for (int64_t i = 0; i < out.size(); ++i)
    s += static_cast<double>(out.data()[i]) * weights.data()[i];
  return s;
}

// Checks the gradient of every defined input (undefined Tensors stand for absent optional
// inputs, such as a bias, and are passed through as undefined Vars).
inline void check_gradients(const OpUnderTest& f, const std::vector<Tensor>& inputs,
                            GradCheckOptions options = {}) {
  std::vector<Var> vars;
  for (const Tensor& t : inputs) vars.push_back(t.defined() ? Var(t.clone(), true) : Var());
  const Var out = f(vars);
  const Tensor seed = random_tensor(out.shape(), 1234);
  backward(out, seed);

  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined()) continue;
    const Tensor& analytic = vars[i].grad();
    ASSERT_TRUE(analytic.defined()) << "input " << i << " got no gradient";
    Tensor x = inputs[i].clone();
    std::vector<Var> probe;  // constants: the probes need no graph
    for (const Tensor& t : inputs) probe.push_back(t.defined() ? Var(t) : Var());
    int failures = 0;
    for (int64_t j = 0; j < x.size(); ++j) {
      const float saved = x.data()[j];
      auto loss_at = [&](float v) {
        Tensor xp = x.clone();
        xp.data()[j] = v;
        probe[i] = Var(xp);
        return weighted_sum(f(probe).value(), seed);
      };
      const double numeric =
          (loss_at(saved + options.h) - loss_at(saved - options.h)) / (2.0 * options.h);
      const double got = analytic.data()[j];
      const double allowed = options.tolerance * (1.0 + std::abs(numeric));
      if (std::abs(got - numeric) > allowed && ++failures <= 5) {
        ADD_FAILURE() << "input " << i << " element " << j << ": backward gives " << got
                      << ", finite difference " << numeric;
      }
    }
    EXPECT_EQ(failures, 0) << "input " << i << " of shape " << to_string(x.shape());
  }
}

}  // namespace gaze::testing
