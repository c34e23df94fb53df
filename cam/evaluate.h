// Is a map faithful to the model? Perturbation metrics of a saliency map [H, W] at the network's
// input size, against a scorer that runs batches of inputs [B, H, W, C]:
//  - deletion (Petsiuk et al. 2018, RISE): the most salient pixels are replaced first, in N steps,
//    by the baseline 0 of the preprocessed input (RISE's torch.zeros_like on the normalized
//    tensor: black for nsfwjs' x/255, mid-grey for keras-inception, the ImageNet mean for torch
//    and caffe); the class probability is integrated over the fraction replaced; lower is better;
//  - insertion (RISE): from a blurred copy (RISE's 11x11 Gaussian, sigma 5), the most salient
//    pixels are put back first; higher is better;
//  - average drop and increase in confidence (Chattopadhay et al. 2018): the input multiplied by
//    the min-max normalized map, against the input.
// Pixels are ranked by the map's value, highest first, ties by increasing pixel index (row-major),
// so a flat region (a map's zeros after its ReLU) goes in reading order. Step i changes the first
// floor(i * H * W / N) pixels of that order, and the AUC is the trapezoid rule over the fraction
// actually changed, count_i / (H * W), from 0 to 1.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "layers/model.h"
#include "tensor/tensor.h"

namespace gaze {

// Probabilities [B, classes] of a batch of preprocessed inputs [B, H, W, C].
using BatchScorer = std::function<Tensor(const Tensor&)>;
// Model::forward's output, batch by batch.
BatchScorer model_scorer(const Model& model);

struct PerturbationOptions {
  int steps = 50;  // N: the curve has N + 1 points
  int batch = 8;   // inputs per forward pass
};

// Pixel indices (row-major) of `saliency` [H, W], most salient first, ties by increasing index.
// Throws Error on a NaN or infinite value.
std::vector<int64_t> rank_pixels(const Tensor& saliency);

// Pixels changed after step i of n over `pixels`: floor(i * pixels / n).
int64_t pixels_at_step(int64_t i, int64_t n, int64_t pixels);

// The trapezoid rule over the points (x_i, y_i); x increasing.
double trapezoid_auc(const std::vector<double>& x, const std::vector<double>& y);

struct Curve {
  std::vector<double> fraction;  // count_i / (H * W), i = 0..N
  std::vector<double> score;     // the class probability after step i
  double auc = 0.0;
};

// Moves the pixels of `from` [1, H, W, C] to their values in `to`, in `order`, in options.steps
// steps, scoring class `class_index` after each (step 0 is `from` itself, step N is `to`).
Curve perturbation_curve(const BatchScorer& scorer, const Tensor& from, const Tensor& to,
                         const std::vector<int64_t>& order, int class_index,
                         const PerturbationOptions& options);

// RISE's insertion start: each channel blurred by the normalized 11x11 Gaussian of sigma 5,
// separably, with the edge pixels repeated outwards (RISE pads with zeros, which darkens the
// border; repeating keeps a flat image flat).
Tensor blur_input(const Tensor& input);

// The deletion baseline: the preprocessed input's zero, everywhere.
Tensor deletion_baseline(const Tensor& input);

struct ConfidenceChange {
  double original = 0.0;  // Y: the class probability on the input
  double masked = 0.0;    // O: on the input multiplied by the normalized map
  double drop = 0.0;      // 100 * max(0, Y - O) / Y (its mean over inputs is the average drop %)
  bool increase = false;  // O > Y (its rate over inputs is the increase in confidence)
};
// `unit_map` [H, W] in [0, 1] multiplies every channel of the preprocessed `input` [1, H, W, C],
// as Score-CAM's masks do (and pytorch-grad-cam's CamMultImageConfidenceChange).
ConfidenceChange confidence_change(const BatchScorer& scorer, const Tensor& input,
                                   const Tensor& unit_map, int class_index);

struct MapEvaluation {
  Curve deletion, insertion;
  ConfidenceChange confidence;
};
// All of the above for one map [h, w] (any resolution: it is upsampled bilinearly to the input's
// size for the ranking, and min-max normalized then upsampled for the confidence change).
MapEvaluation evaluate_map(const BatchScorer& scorer, const Tensor& input, const Tensor& map,
                           int class_index, const PerturbationOptions& options);

// The baselines among the methods: maps that do not look at the model, against which a method's
// margin is measured (random, center) and which the sanity check must leave unchanged (all three;
// edges is the reference of Adebayo et al. 2018). One table: the CLI's method list and help come
// from it.
enum class BaselineKind { kRandom, kCenter, kEdges };
struct BaselineMethod {
  const char* name;
  BaselineKind kind;
  const char* help;  // one line for `gaze evaluate --help`
};
const std::vector<BaselineMethod>& baseline_methods();
// The table's entry of that name, or nullptr.
const BaselineMethod* find_baseline(const std::string& name);

// `random`: uniform [0, 1) values on an h x w grid from mt19937_64 seeded with `seed`.
Tensor random_map(int64_t h, int64_t w, uint64_t seed);
// `center`: exp(-d^2 / (2 sigma^2)) of the distance d from the centre of an h x w grid, with
// sigma = min(h, w) / 4.
Tensor center_map(int64_t h, int64_t w);
// `edges`: the Sobel gradient magnitude sqrt(gx^2 + gy^2) of the preprocessed input [1, H, W, C]
// averaged over its channels, 3x3 kernels [1 2 1] x [-1 0 1], edge pixels repeated outwards; a map
// [H, W] at the input's size.
Tensor edges_map(const Tensor& input);

}  // namespace gaze
