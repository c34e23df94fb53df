// Class activation map methods: each a small function from the chosen layer's activations A and
// the gradients G = d score / d A (both [1, h, w, K]) to a map [h, w].
//
// Every function returns the map BEFORE the final ReLU ("signed"); relu_map() gives the usual,
// positive-evidence map. Notation below: k indexes channels, (i, j) spatial cells.
#pragma once

#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace gaze {

// Grad-CAM (Selvaraju et al. 2017): w_k = mean_ij G_kij; map = sum_k w_k A_k.
Tensor grad_cam(const Tensor& activations, const Tensor& gradients);

// Grad-CAM++ (Chattopadhyay et al. 2018, eq. 19 with the exponential score, which turns the 2nd
// and 3rd derivatives into powers of G):
//   alpha_kij = G^2 / (2 G^2 + sum_ab A_kab G^3)   (0 where the denominator is 0)
//   w_k = sum_ij alpha_kij relu(G_kij);  map = sum_k w_k A_k.
Tensor grad_cam_plus_plus(const Tensor& activations, const Tensor& gradients);

// HiResCAM (Draelos & Carin 2020): map = sum_k G_k * A_k, element-wise (no spatial averaging).
Tensor hires_cam(const Tensor& activations, const Tensor& gradients);

// XGrad-CAM (Fu et al. 2020): w_k = sum_ij (A_kij / sum_ab A_kab) G_kij; map = sum_k w_k A_k.
Tensor xgrad_cam(const Tensor& activations, const Tensor& gradients);

// LayerCAM (Jiang et al. 2021): map = sum_k relu(G_k) * A_k, element-wise.
Tensor layer_cam(const Tensor& activations, const Tensor& gradients);

// Eigen-CAM (Muhammad & Yeasin 2020): the activations' first principal projection
// (principal_projection below). Class-independent: no gradients.
Tensor eigen_cam(const Tensor& activations);

// --- Smoothing (docs/smoothing.md) ---
// The terms T [1, h, w, K] whose channel sum is a method's map, map_ij = sum_k T_kij:
// w_k A_k for the channel-weight methods, G * A (HiResCAM) and relu(G) * A (LayerCAM).
std::vector<double> grad_cam_weights(const Tensor& activations, const Tensor& gradients);
std::vector<double> grad_cam_plus_plus_weights(const Tensor& activations, const Tensor& gradients);
std::vector<double> xgrad_cam_weights(const Tensor& activations, const Tensor& gradients);
Tensor weighted_activations(const Tensor& activations, const std::vector<double>& weights);
Tensor hires_cam_terms(const Tensor& activations, const Tensor& gradients);
Tensor layer_cam_terms(const Tensor& activations, const Tensor& gradients);

// The first principal projection of T [1, h, w, K] (pytorch-grad-cam's get_2d_projection): T as
// a (h*w) x K matrix, each channel centred by its mean over the cells, projected on its first
// right singular vector v (principal_direction). The sign of v is not defined by the SVD (numpy
// returns LAPACK's); gaze picks the one that makes the projection's dot product with the plain
// map, sum_k T_k, positive, or, when that is 0 (|dot| <= 1e-9 sum|projection| sum|plain|: a zero
// or constant plain map), the one making the first entry of largest magnitude positive.
// eigen-smooth = principal_projection(T); Eigen-CAM =
// principal_projection(A).
Tensor principal_projection(const Tensor& terms);

// The unit vector v [columns] maximizing |X v| for the row-major matrix X [rows, columns]: the
// first right singular vector, by power iteration on the smaller of the two Gram matrices (X^T X,
// or X X^T whose top eigenvector u gives v = X^T u / |X^T u|), from a fixed pseudo-random start,
// until v changes by less than 1e-12 (max abs) between iterations or 100000 iterations. Its sign
// is arbitrary (the caller fixes it); all zeros when X is zero.
std::vector<double> principal_direction(const std::vector<double>& x, size_t rows, size_t columns);

// CAM (Zhou et al. 2016) for a head that is global average pooling and one Dense layer:
// map = sum_k W[k, class] A_k with W the Dense kernel [K, classes].
Tensor class_activation_map(const Tensor& activations, const Tensor& dense_kernel, int class_index);

// Score-CAM's combination step (Wang et al. 2020): map = sum_k w_k A_k with the given weights
// (softmax of the masked-input scores, computed by the caller, which runs the model).
Tensor weighted_channel_sum(const Tensor& activations, const std::vector<float>& weights,
                            const std::vector<int>& channels);

// max(map, 0)
Tensor relu_map(const Tensor& map);

}  // namespace gaze
