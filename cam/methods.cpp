#include "cam/methods.h"

#include <algorithm>
#include <cmath>

namespace gaze {
namespace {

struct LayerDims {
  int64_t h, w, k;
  int64_t cells() const { return h * w; }
};

LayerDims dims_of(const Tensor& a, const char* method) {
  if (a.rank() != 4 || a.dim(0) != 1) {
    throw Error(std::string(method) + ": expected a layer output [1, h, w, channels], got " +
                to_string(a.shape()));
  }
  return {a.dim(1), a.dim(2), a.dim(3)};
}

LayerDims dims_of(const Tensor& a, const Tensor& g, const char* method) {
  check_same_shape(a, g, std::string(method) + " gradients");
  return dims_of(a, method);
}

// sum_k w_k A_k over every cell, in double.
Tensor channel_weighted_sum(const Tensor& a, const LayerDims& d, const std::vector<double>& w) {
  Tensor map({d.h, d.w});
  for (int64_t p = 0; p < d.cells(); ++p) {
    const float* ap = a.data() + p * d.k;
    double s = 0.0;
    for (int64_t k = 0; k < d.k; ++k) s += w[static_cast<size_t>(k)] * ap[k];
    map.data()[p] = static_cast<float>(s);
  }
  return map;
}

// sum over cells of f(A_kij, G_kij), per channel.
template <typename F>
std::vector<double> per_channel_sum(const Tensor& a, const Tensor& g, const LayerDims& d, F f) {
  std::vector<double> s(static_cast<size_t>(d.k), 0.0);
  for (int64_t p = 0; p < d.cells(); ++p) {
    for (int64_t k = 0; k < d.k; ++k)
      s[static_cast<size_t>(k)] += f(a.data()[p * d.k + k], g.data()[p * d.k + k]);
  }
  return s;
}

// sum_k f(A_kij, G_kij) for every cell: the element-wise methods.
template <typename F>
Tensor per_cell_sum(const Tensor& a, const Tensor& g, const LayerDims& d, F f) {
  Tensor map({d.h, d.w});
  for (int64_t p = 0; p < d.cells(); ++p) {
    double s = 0.0;
    for (int64_t k = 0; k < d.k; ++k) s += f(a.data()[p * d.k + k], g.data()[p * d.k + k]);
    map.data()[p] = static_cast<float>(s);
  }
  return map;
}

}  // namespace

Tensor grad_cam(const Tensor& activations, const Tensor& gradients) {
  const LayerDims d = dims_of(activations, gradients, "grad-cam");
  std::vector<double> w =
      per_channel_sum(activations, gradients, d, [](double, double g) { return g; });
  for (double& v : w) v /= static_cast<double>(d.cells());
  return channel_weighted_sum(activations, d, w);
}

Tensor grad_cam_plus_plus(const Tensor& activations, const Tensor& gradients) {
  const LayerDims d = dims_of(activations, gradients, "grad-cam++");
  const std::vector<double> sum_a =
      per_channel_sum(activations, gradients, d, [](double a, double) { return a; });
  std::vector<double> w(static_cast<size_t>(d.k), 0.0);
  for (int64_t p = 0; p < d.cells(); ++p) {
    for (int64_t k = 0; k < d.k; ++k) {
      const double g = gradients.data()[p * d.k + k];
      const double g2 = g * g;
      const double denominator = 2.0 * g2 + sum_a[static_cast<size_t>(k)] * g2 * g;
      const double alpha = denominator != 0.0 ? g2 / denominator : 0.0;
      w[static_cast<size_t>(k)] += alpha * std::max(g, 0.0);
    }
  }
  return channel_weighted_sum(activations, d, w);
}

Tensor hires_cam(const Tensor& activations, const Tensor& gradients) {
  const LayerDims d = dims_of(activations, gradients, "hirescam");
  return per_cell_sum(activations, gradients, d, [](double a, double g) { return a * g; });
}

Tensor xgrad_cam(const Tensor& activations, const Tensor& gradients) {
  const LayerDims d = dims_of(activations, gradients, "xgradcam");
  const std::vector<double> sum_a =
      per_channel_sum(activations, gradients, d, [](double a, double) { return a; });
  std::vector<double> w =
      per_channel_sum(activations, gradients, d, [](double a, double g) { return a * g; });
  for (size_t k = 0; k < w.size(); ++k) w[k] = sum_a[k] != 0.0 ? w[k] / sum_a[k] : 0.0;
  return channel_weighted_sum(activations, d, w);
}

Tensor layer_cam(const Tensor& activations, const Tensor& gradients) {
  const LayerDims d = dims_of(activations, gradients, "layercam");
  return per_cell_sum(activations, gradients, d,
                      [](double a, double g) { return a * std::max(g, 0.0); });
}

Tensor eigen_cam(const Tensor& activations) {
  const LayerDims d = dims_of(activations, "eigencam");
  const auto n = static_cast<size_t>(d.cells()), k = static_cast<size_t>(d.k);
  // Centred data X [cells, channels] in double.
  std::vector<double> x(n * k), mean(k, 0.0);
  for (size_t p = 0; p < n; ++p)
    for (size_t c = 0; c < k; ++c) mean[c] += activations.data()[p * k + c];
  for (double& m : mean) m /= static_cast<double>(n);
  for (size_t p = 0; p < n; ++p)
    for (size_t c = 0; c < k; ++c) x[p * k + c] = activations.data()[p * k + c] - mean[c];
  // First right singular vector by power iteration on X^T X, from the all-ones start (which is
  // not orthogonal to the top component for any non-negative activation pattern worth showing).
  std::vector<double> v(k, 1.0 / std::sqrt(static_cast<double>(k))), xv(n), next(k);
  for (int iter = 0; iter < 200; ++iter) {
    for (size_t p = 0; p < n; ++p) {
      double s = 0.0;
      for (size_t c = 0; c < k; ++c) s += x[p * k + c] * v[c];
      xv[p] = s;
    }
    std::fill(next.begin(), next.end(), 0.0);
    for (size_t p = 0; p < n; ++p)
      for (size_t c = 0; c < k; ++c) next[c] += x[p * k + c] * xv[p];
    double norm = 0.0;
    for (double e : next) norm += e * e;
    norm = std::sqrt(norm);
    if (norm == 0.0) break;  // constant activations: no principal direction
    double change = 0.0;
    for (size_t c = 0; c < k; ++c) {
      change = std::max(change, std::abs(next[c] / norm - v[c]));
      v[c] = next[c] / norm;
    }
    if (change < 1e-10) break;
  }
  Tensor map({d.h, d.w});
  double corr = 0.0;
  for (size_t p = 0; p < n; ++p) {
    double s = 0.0, total = 0.0;
    for (size_t c = 0; c < k; ++c) s += x[p * k + c] * v[c], total += x[p * k + c];
    xv[p] = s;
    corr += s * total;
  }
  const double sign = corr < 0.0 ? -1.0 : 1.0;
  for (size_t p = 0; p < n; ++p) map.data()[p] = static_cast<float>(sign * xv[p]);
  return map;
}

Tensor class_activation_map(const Tensor& activations, const Tensor& dense_kernel,
                            int class_index) {
  const LayerDims d = dims_of(activations, "cam");
  if (dense_kernel.rank() != 2 || dense_kernel.dim(0) != d.k || class_index < 0 ||
      class_index >= dense_kernel.dim(1)) {
    throw Error("cam: dense kernel " + to_string(dense_kernel.shape()) + " does not fit " +
                std::to_string(d.k) + " channels and class " + std::to_string(class_index));
  }
  std::vector<double> w(static_cast<size_t>(d.k));
  for (int64_t k = 0; k < d.k; ++k) w[static_cast<size_t>(k)] = dense_kernel.at(k, class_index);
  return channel_weighted_sum(activations, d, w);
}

Tensor weighted_channel_sum(const Tensor& activations, const std::vector<float>& weights,
                            const std::vector<int>& channels) {
  const LayerDims d = dims_of(activations, "score-cam");
  if (weights.size() != channels.size()) throw Error("score-cam: one weight per channel needed");
  std::vector<double> w(static_cast<size_t>(d.k), 0.0);
  for (size_t i = 0; i < channels.size(); ++i) {
    if (channels[i] < 0 || channels[i] >= d.k) throw Error("score-cam: channel out of range");
    w[static_cast<size_t>(channels[i])] = weights[i];
  }
  return channel_weighted_sum(activations, d, w);
}

Tensor relu_map(const Tensor& map) {
  Tensor out = map.clone();
  for (float& v : out.values()) v = std::max(v, 0.0f);
  return out;
}

}  // namespace gaze
