// layer_norm: normalization of each row (the last axis) by its own mean and biased variance,
//   y = (x - mean) / sqrt(var + epsilon) * gamma + beta,
// as Keras' LayerNormalization computes it (keras/src/ops/nn.py _layer_normalization: moments,
// then rsqrt(variance + epsilon); Keras 2's layer_normalization.py via tf.nn.batch_normalization).
// The statistics are accumulated in double.
#include <cmath>
#include <vector>

#include "autograd/ops.h"

namespace gaze {
namespace {

void check_row_vector(const Var& v, int64_t c, const char* name) {
  if (v.defined() && v.shape() != Shape{c}) {
    throw Error(std::string("layer_norm: ") + name + " must be [" + std::to_string(c) + "], got " +
                to_string(v.shape()));
  }
}

}  // namespace

Var layer_norm(const Var& x, const Var& gamma, const Var& beta, float epsilon) {
  const Tensor& xv = x.value();
  if (xv.rank() < 1 || xv.dim(-1) == 0)
    throw Error("layer_norm: empty last axis in " + to_string(xv.shape()));
  if (!(epsilon > 0.0f)) throw Error("layer_norm: epsilon must be positive");
  const int64_t c = xv.dim(-1), rows = xv.size() / c;
  check_row_vector(gamma, c, "gamma");
  check_row_vector(beta, c, "beta");
  const float* g = gamma.defined() ? gamma.value().data() : nullptr;
  const float* be = beta.defined() ? beta.value().data() : nullptr;

  Tensor out(xv.shape());
  // Per row: the mean and 1 / sqrt(var + epsilon), kept for the backward.
  std::vector<double> mean(static_cast<size_t>(rows)), inv_std(static_cast<size_t>(rows));
#pragma omp parallel for if (xv.size() > (int64_t{1} << 16))
  for (int64_t r = 0; r < rows; ++r) {
    const float* xi = xv.data() + r * c;
    double sum = 0.0;
    for (int64_t j = 0; j < c; ++j) sum += xi[j];
    const double m = sum / static_cast<double>(c);
    double sq = 0.0;
    for (int64_t j = 0; j < c; ++j) sq += (xi[j] - m) * (xi[j] - m);
    const double is = 1.0 / std::sqrt(sq / static_cast<double>(c) + epsilon);
    mean[static_cast<size_t>(r)] = m;
    inv_std[static_cast<size_t>(r)] = is;
    float* o = out.data() + r * c;
    for (int64_t j = 0; j < c; ++j) {
      const double v = (xi[j] - m) * is * (g ? g[j] : 1.0) + (be ? be[j] : 0.0);
      o[j] = static_cast<float>(v);
    }
  }

  // x (with the row statistics) is needed for the gradients of x and gamma; gamma for x's.
  const bool need_x = x.requires_grad() || gamma.requires_grad();
  Tensor x_saved = need_x ? xv : Tensor();
  Tensor g_saved = x.requires_grad() && gamma.defined() ? gamma.value() : Tensor();
  if (!need_x) mean.clear(), inv_std.clear();
  return make_result(
      std::move(out), "layer_norm", {x, gamma, beta},
      [c, rows, x_saved, g_saved, mean = std::move(mean), inv_std = std::move(inv_std)](
          Node& self, const BackwardOptions&) {
        const auto& in = self.inputs;
        const float* dy = self.grad.data();
        Tensor dx = in[0] ? Tensor(x_saved.shape()) : Tensor();
        std::vector<double> dgamma(static_cast<size_t>(c), 0.0), dbeta(static_cast<size_t>(c), 0.0);
        std::vector<double> xhat(static_cast<size_t>(c)), dxhat(static_cast<size_t>(c));
        for (int64_t r = 0; r < rows; ++r) {
          const float* d = dy + r * c;
          for (int64_t j = 0; j < c; ++j) dbeta[static_cast<size_t>(j)] += d[j];
          if (!x_saved.defined()) continue;
          const auto k = static_cast<size_t>(r);
          const float* xi = x_saved.data() + r * c;
          // dx = inv_std * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = dy * gamma
          double mean_d = 0.0, mean_dx = 0.0;
          for (int64_t j = 0; j < c; ++j) {
            const auto q = static_cast<size_t>(j);
            xhat[q] = (xi[j] - mean[k]) * inv_std[k];
            dgamma[q] += d[j] * xhat[q];
            dxhat[q] = d[j] * (g_saved.defined() ? g_saved.data()[j] : 1.0);
            mean_d += dxhat[q];
            mean_dx += dxhat[q] * xhat[q];
          }
          if (!dx.defined()) continue;
          mean_d /= static_cast<double>(c);
          mean_dx /= static_cast<double>(c);
          for (int64_t j = 0; j < c; ++j) {
            const auto q = static_cast<size_t>(j);
            dx.data()[r * c + j] =
                static_cast<float>(inv_std[k] * (dxhat[q] - mean_d - xhat[q] * mean_dx));
          }
        }
        if (in[0]) in[0]->accumulate_grad(std::move(dx));
        auto to_tensor = [c](const std::vector<double>& v) {
          Tensor t({c});
          for (int64_t j = 0; j < c; ++j)
            t.data()[j] = static_cast<float>(v[static_cast<size_t>(j)]);
          return t;
        };
        if (in[1]) in[1]->accumulate_grad(to_tensor(dgamma));
        if (in[2]) in[2]->accumulate_grad(to_tensor(dbeta));
      });
}

}  // namespace gaze
