// batch_norm: inference-time batch normalization over the last (channel) axis.
//   y = (x - mean) * inv_std * gamma + beta,  inv_std = 1 / sqrt(variance + epsilon)
// which is a per-channel y = x * scale + shift. Gradients for every input (the moving statistics
// included) so the generic checker covers the whole formula.
#include <cmath>

#include "autograd/op_helpers.h"
#include "autograd/ops.h"

namespace gaze {
namespace {

void check_channel_vector(const Var& v, int64_t c, const char* name) {
  if (v.defined() && v.shape() != Shape{c}) {
    throw Error(std::string("batch_norm: ") + name + " must be [" + std::to_string(c) + "], got " +
                to_string(v.shape()));
  }
}

}  // namespace

Var batch_norm(const Var& x, const Var& mean, const Var& variance, const Var& gamma,
               const Var& beta, float epsilon) {
  if (x.value().rank() < 1) throw Error("batch_norm: input has rank 0");
  const int64_t c = x.value().dim(-1);
  if (!mean.defined() || !variance.defined())
    throw Error("batch_norm: mean and variance are required");
  check_channel_vector(mean, c, "mean");
  check_channel_vector(variance, c, "variance");
  check_channel_vector(gamma, c, "gamma");
  check_channel_vector(beta, c, "beta");

  const Tensor& m = mean.value();
  const Tensor& v = variance.value();
  Tensor inv_std({c}), scale({c}), shift({c});
  for (int64_t j = 0; j < c; ++j) {
    if (v.data()[j] + epsilon <= 0.0f) {
      throw Error("batch_norm: variance + epsilon is not positive in channel " + std::to_string(j));
    }
    inv_std.data()[j] = 1.0f / std::sqrt(v.data()[j] + epsilon);
    const float g = gamma.defined() ? gamma.value().data()[j] : 1.0f;
    const float b = beta.defined() ? beta.value().data()[j] : 0.0f;
    scale.data()[j] = inv_std.data()[j] * g;
    shift.data()[j] = b - m.data()[j] * scale.data()[j];
  }
  const Tensor& xv = x.value();
  Tensor out(xv.shape());
  const int64_t rows = xv.size() / c;
#pragma omp parallel for
  for (int64_t r = 0; r < rows; ++r) {
    const float* xi = xv.data() + r * c;
    float* o = out.data() + r * c;
    for (int64_t j = 0; j < c; ++j) o[j] = xi[j] * scale.data()[j] + shift.data()[j];
  }

  // x itself is only needed for the gradients of the statistics and gamma.
  const bool need_x = gamma.requires_grad() || mean.requires_grad() || variance.requires_grad();
  Tensor x_saved = need_x ? xv : Tensor();
  Tensor m_saved = m, g_saved = gamma.defined() ? gamma.value() : Tensor();
  return make_result(
      std::move(out), "batch_norm", {x, mean, variance, gamma, beta},
      [c, rows, scale, inv_std, x_saved, m_saved, g_saved](Node& self, const BackwardOptions&) {
        const auto& in = self.inputs;
        const float* dy = self.grad.data();
        if (in[0]) {
          Tensor dx(self.grad.shape());
          for (int64_t r = 0; r < rows; ++r) {
            for (int64_t j = 0; j < c; ++j) dx.data()[r * c + j] = dy[r * c + j] * scale.data()[j];
          }
          in[0]->accumulate_grad(std::move(dx));
        }
        if (!(in[1] || in[2] || in[3] || in[4])) return;
        // Per channel: sum(dy) and sum(dy * (x - mean)).
        std::vector<double> sum_dy(static_cast<size_t>(c), 0.0),
            sum_dy_xc(static_cast<size_t>(c), 0.0);
        for (int64_t r = 0; r < rows; ++r) {
          for (int64_t j = 0; j < c; ++j) {
            const auto k = static_cast<size_t>(j);
            sum_dy[k] += dy[r * c + j];
            if (x_saved.defined())
              sum_dy_xc[k] += dy[r * c + j] * (x_saved.data()[r * c + j] - m_saved.data()[j]);
          }
        }
        Tensor dmean({c}), dvar({c}), dgamma({c}), dbeta({c});
        for (int64_t j = 0; j < c; ++j) {
          const auto k = static_cast<size_t>(j);
          const double g = g_saved.defined() ? g_saved.data()[j] : 1.0;
          const double is = inv_std.data()[j];
          dmean.data()[j] = static_cast<float>(-sum_dy[k] * scale.data()[j]);
          // d inv_std / d var = -0.5 * (var + eps)^-1.5 = -0.5 * inv_std^3
          dvar.data()[j] = static_cast<float>(sum_dy_xc[k] * g * -0.5 * is * is * is);
          dgamma.data()[j] = static_cast<float>(sum_dy_xc[k] * is);
          dbeta.data()[j] = static_cast<float>(sum_dy[k]);
        }
        if (in[1]) in[1]->accumulate_grad(std::move(dmean));
        if (in[2]) in[2]->accumulate_grad(std::move(dvar));
        if (in[3]) in[3]->accumulate_grad(std::move(dgamma));
        if (in[4]) in[4]->accumulate_grad(std::move(dbeta));
      });
}

}  // namespace gaze
