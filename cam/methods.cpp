#include "cam/methods.h"

#include <algorithm>
#include <cmath>
#include <random>

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

std::vector<double> grad_cam_weights(const Tensor& activations, const Tensor& gradients) {
  const LayerDims d = dims_of(activations, gradients, "grad-cam");
  std::vector<double> w =
      per_channel_sum(activations, gradients, d, [](double, double g) { return g; });
  for (double& v : w) v /= static_cast<double>(d.cells());
  return w;
}

Tensor grad_cam(const Tensor& activations, const Tensor& gradients) {
  return channel_weighted_sum(activations, dims_of(activations, "grad-cam"),
                              grad_cam_weights(activations, gradients));
}

std::vector<double> grad_cam_plus_plus_weights(const Tensor& activations, const Tensor& gradients) {
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
  return w;
}

Tensor grad_cam_plus_plus(const Tensor& activations, const Tensor& gradients) {
  return channel_weighted_sum(activations, dims_of(activations, "grad-cam++"),
                              grad_cam_plus_plus_weights(activations, gradients));
}

Tensor hires_cam(const Tensor& activations, const Tensor& gradients) {
  const LayerDims d = dims_of(activations, gradients, "hirescam");
  return per_cell_sum(activations, gradients, d, [](double a, double g) { return a * g; });
}

std::vector<double> xgrad_cam_weights(const Tensor& activations, const Tensor& gradients) {
  const LayerDims d = dims_of(activations, gradients, "xgradcam");
  const std::vector<double> sum_a =
      per_channel_sum(activations, gradients, d, [](double a, double) { return a; });
  std::vector<double> w =
      per_channel_sum(activations, gradients, d, [](double a, double g) { return a * g; });
  for (size_t k = 0; k < w.size(); ++k) w[k] = sum_a[k] != 0.0 ? w[k] / sum_a[k] : 0.0;
  return w;
}

Tensor xgrad_cam(const Tensor& activations, const Tensor& gradients) {
  return channel_weighted_sum(activations, dims_of(activations, "xgradcam"),
                              xgrad_cam_weights(activations, gradients));
}

Tensor layer_cam(const Tensor& activations, const Tensor& gradients) {
  const LayerDims d = dims_of(activations, gradients, "layercam");
  return per_cell_sum(activations, gradients, d,
                      [](double a, double g) { return a * std::max(g, 0.0); });
}

Tensor eigen_cam(const Tensor& activations) {
  dims_of(activations, "eigencam");
  return principal_projection(activations);
}

Tensor weighted_activations(const Tensor& activations, const std::vector<double>& weights) {
  const LayerDims d = dims_of(activations, "weighted activations");
  if (static_cast<int64_t>(weights.size()) != d.k)
    throw Error("weighted activations: one weight per channel needed");
  Tensor terms(activations.shape());
  for (int64_t p = 0; p < d.cells(); ++p)
    for (int64_t k = 0; k < d.k; ++k)
      terms.data()[p * d.k + k] =
          static_cast<float>(weights[static_cast<size_t>(k)] * activations.data()[p * d.k + k]);
  return terms;
}

Tensor hires_cam_terms(const Tensor& activations, const Tensor& gradients) {
  dims_of(activations, gradients, "hirescam");
  Tensor terms(activations.shape());
  for (int64_t i = 0; i < terms.size(); ++i)
    terms.data()[i] = activations.data()[i] * gradients.data()[i];
  return terms;
}

Tensor layer_cam_terms(const Tensor& activations, const Tensor& gradients) {
  dims_of(activations, gradients, "layercam");
  Tensor terms(activations.shape());
  for (int64_t i = 0; i < terms.size(); ++i)
    terms.data()[i] = activations.data()[i] * std::max(gradients.data()[i], 0.0f);
  return terms;
}

std::vector<double> principal_direction(const std::vector<double>& x, size_t rows, size_t columns) {
  if (x.size() != rows * columns) throw Error("principal_direction: the matrix has a wrong size");
  // The Gram matrix of the smaller side, m x m: X^T X (columns <= rows) or X X^T.
  const bool by_columns = columns <= rows;
  const size_t m = by_columns ? columns : rows, other = by_columns ? rows : columns;
  auto at = [&](size_t i, size_t o) {  // X's entry of Gram index i and summed index o
    return by_columns ? x[o * columns + i] : x[i * columns + o];
  };
  std::vector<double> gram(m * m, 0.0);
  for (size_t i = 0; i < m; ++i)
    for (size_t j = i; j < m; ++j) {
      double s = 0.0;
      for (size_t o = 0; o < other; ++o) s += at(i, o) * at(j, o);
      gram[i * m + j] = gram[j * m + i] = s;
    }
  // Power iteration: v <- G v / |G v|. G is positive semi-definite, so v converges (without
  // alternating signs) to the top eigenvector at the rate lambda_2 / lambda_1. The start is
  // pseudo-random with a fixed seed: orthogonal to the top eigenvector with probability 0 (an
  // all-ones start is orthogonal to it for some weighted activations).
  std::mt19937_64 rng(20240613);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  std::vector<double> v(m), next(m);
  for (double& e : v) e = uniform(rng);
  bool zero = true;
  for (int iteration = 0; iteration < 100000; ++iteration) {
    double norm = 0.0;
    for (size_t i = 0; i < m; ++i) {
      double s = 0.0;
      for (size_t j = 0; j < m; ++j) s += gram[i * m + j] * v[j];
      next[i] = s;
      norm += s * s;
    }
    norm = std::sqrt(norm);
    if (norm == 0.0) break;  // X is zero: no direction
    zero = false;
    double change = 0.0;
    for (size_t i = 0; i < m; ++i) {
      change = std::max(change, std::abs(next[i] / norm - v[i]));
      v[i] = next[i] / norm;
    }
    if (change < 1e-12) break;
  }
  if (zero) return std::vector<double>(columns, 0.0);
  if (by_columns) return v;
  // v is the top left singular vector u; the right one is X^T u, normalized.
  std::vector<double> right(columns, 0.0);
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < columns; ++c) right[c] += x[r * columns + c] * v[r];
  double norm = 0.0;
  for (double e : right) norm += e * e;
  norm = std::sqrt(norm);
  for (double& e : right) e = norm > 0.0 ? e / norm : 0.0;
  return right;
}

Tensor principal_projection(const Tensor& terms) {
  const LayerDims d = dims_of(terms, "principal projection");
  const auto n = static_cast<size_t>(d.cells()), k = static_cast<size_t>(d.k);
  // Centred data X [cells, channels] in double.
  std::vector<double> x(n * k), mean(k, 0.0);
  for (size_t p = 0; p < n; ++p)
    for (size_t c = 0; c < k; ++c) mean[c] += terms.data()[p * k + c];
  for (double& m : mean) m /= static_cast<double>(n);
  for (size_t p = 0; p < n; ++p)
    for (size_t c = 0; c < k; ++c) x[p * k + c] = terms.data()[p * k + c] - mean[c];
  const std::vector<double> v = principal_direction(x, n, k);
  std::vector<double> projection(n, 0.0);
  double dot = 0.0;                       // with the plain map sum_k T_k
  double sum_abs = 0.0, plain_abs = 0.0;  // the scale of that dot product
  size_t largest = 0;                     // the first entry of largest magnitude
  for (size_t p = 0; p < n; ++p) {
    double s = 0.0, plain = 0.0;
    for (size_t c = 0; c < k; ++c) s += x[p * k + c] * v[c], plain += terms.data()[p * k + c];
    projection[p] = s;
    dot += s * plain;
    sum_abs += std::abs(s), plain_abs += std::abs(plain);
    if (std::abs(s) > std::abs(projection[largest])) largest = p;
  }
  // No correlation (a zero or constant plain map): the largest entry is made positive.
  const bool tie = std::abs(dot) <= 1e-9 * sum_abs * plain_abs;
  const double sign = (tie ? projection[largest] : dot) < 0.0 ? -1.0 : 1.0;
  Tensor map({d.h, d.w});
  for (size_t p = 0; p < n; ++p) map.data()[p] = static_cast<float>(sign * projection[p]);
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
