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

// Eigen-CAM (Muhammad & Yeasin 2020): the activations' projection on their first principal
// component (cells as samples, channels as features, centred), signed so that it correlates
// positively with the channel-summed activation. Class-independent: no gradients.
Tensor eigen_cam(const Tensor& activations);

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
