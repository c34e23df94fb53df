// Does a map depend on the model at all? The model-randomization sanity check of Adebayo et al.,
// "Sanity Checks for Saliency Maps" (NeurIPS 2018), cascading form:
//  - the weighted layers (those with a kernel: Conv2D, DepthwiseConv2D, SeparableConv2D, Dense)
//    are randomized from the output downwards (reverse topological order, the model's layer
//    order reversed), cumulatively: after step k the top counts[k] of them are random;
//  - a layer's trainable weights (its kernels and bias, not the batch normalization's moving
//    statistics, which are not trainable) are redrawn from N(mean, std) of each weight tensor's
//    own values, by mt19937_64 seeded with the cascade's seed and the layer's name, so a layer's
//    random weights are the same at every step and in every run. The tensor's own moments rather
//    than Keras' initializer (glorot_uniform) keep each layer's output at the scale the loaded
//    batch normalization after it expects: the map then changes because the weights carry no
//    learnt structure, not because activations vanish or explode;
//  - after each step, each method's map (same input, class and layer, the class the ORIGINAL
//    model predicts or is asked for) is compared with the original map by Spearman's rank
//    correlation and SSIM, both at the network's input size (the maps upsampled bilinearly, as
//    `gaze evaluate` ranks pixels).
// The randomized model is a separate Model (a second load of the same file) whose weight values
// are replaced; the original model's layers are never touched.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "cam/explain.h"
#include "layers/model.h"
#include "tensor/tensor.h"

namespace gaze {

// The layers the cascade randomizes, output first: each layer that owns a kernel weight
// ("kernel", "depthwise_kernel", "pointwise_kernel"; a later call of a shared layer is left to
// its owner), in decreasing layer index (the model's layers are in topological order).
std::vector<size_t> randomization_order(const Model& model);

// The cumulative counts of randomized layers the cascade stops at: `steps` points spread evenly
// over 1..layers, round(j * layers / steps) for j = 1..steps, without repeats, always ending at
// `layers`. steps <= 0 or steps >= layers: every count 1..layers. Empty when layers is 0.
std::vector<int> cascade_counts(int layers, int steps);

// The random values that replace `w` in layer `layer_name`: N(mean, std) of w's values (std the
// population standard deviation; a constant tensor, such as a zero bias, stays constant), drawn
// by std::normal_distribution<double> from mt19937_64 seeded with
// seed ^ stable 64-bit FNV-1a hash of "<layer_name>/<weight name>".
Tensor randomized_weight(const Weight& w, const std::string& layer_name, uint64_t seed);

// A model whose top layers are randomized in place, step by step. Holds the model it was given
// (a private copy of the original: load the file a second time) and the original weights, so
// that reset() can undo the cascade for the next input without reloading.
class RandomizationCascade {
 public:
  RandomizationCascade(Model model, uint64_t seed, int steps);

  const std::vector<size_t>& order() const { return order_; }
  // counts()[k]: the weighted layers randomized at step k (k = 0..steps-1).
  const std::vector<int>& counts() const { return counts_; }
  // The name of the deepest layer randomized at step k (the cascade has reached down to it).
  std::string reached(size_t step) const;
  // The model with the top counts()[step] layers randomized (and no others).
  const Model& at(size_t step);
  // Every weight back to its loaded value.
  void reset();
  // The model as it stands.
  const Model& model() const { return model_; }

 private:
  void set_randomized(int count);

  Model model_;
  uint64_t seed_;
  std::vector<size_t> order_;
  std::vector<int> counts_;
  std::vector<std::vector<Tensor>> original_, random_;  // per entry of order_, made lazily
  int randomized_ = 0;
};

// Spearman's rank correlation of two maps of the same shape: Pearson's correlation of their ranks,
// ties given their average rank (a ReLU'd map's zeros are one big tie). If either map is constant
// the ranks have no spread: 1 when both maps are equal, else 0.
double spearman(const Tensor& a, const Tensor& b);

// The mean SSIM (Wang et al. 2004) of two maps [h, w] over every 11x11 window that lies inside
// them ('valid'), each window weighted by the normalized Gaussian of sigma 1.5:
//   ((2 mu_a mu_b + C1)(2 cov + C2)) / ((mu_a^2 + mu_b^2 + C1)(var_a + var_b + C2)),
// C1 = (0.01 L)^2, C2 = (0.03 L)^2 with L = data_range; moments weighted, variance and covariance
// biased (as skimage's gaussian_weights=True with use_sample_covariance=False). A map smaller than
// 11 on a side takes one window of its own size (the Gaussian cropped and renormalized).
double ssim(const Tensor& a, const Tensor& b, double data_range = 1.0);

// One input's cascade, the core of the check: for each step, a session on the randomized model
// (keeping `layers`, with their gradients when `gradients`), map i drawn on it by
// map_of(session, i), upsampled bilinearly to the input's size and compared with originals[i]
// (map_of on the original model, already at the input's size) by spearman and map_ssim. Returns
// [map][step]; the cascade is reset afterwards (also when a map throws).
struct CascadeScores {
  std::vector<std::vector<double>> spearman, ssim;
};
using SanityMapFn = std::function<Tensor(CamSession&, size_t)>;
CascadeScores compare_under_cascade(RandomizationCascade& cascade, const Tensor& input,
                                    const std::vector<std::string>& layers, bool gradients,
                                    const std::vector<Tensor>& originals,
                                    const SanityMapFn& map_of);

// The sanity check's SSIM: both maps min-max normalized to [0, 1] (cam/render.h: a constant map
// becomes all zeros), then ssim(.., .., 1).
double map_ssim(const Tensor& a, const Tensor& b);

// One method x layer of a run: the mean over inputs of each comparison after each step. A plain
// struct for tables, JSON and plots (step 0, nothing randomized, is 1 and 1 by definition and not
// listed).
struct SanityCurve {
  std::string method, layer;
  std::vector<int> randomized;       // counts of randomized layers, per step
  std::vector<std::string> reached;  // the deepest layer randomized, per step
  std::vector<double> spearman, ssim;
  int inputs = 0;  // the maps compared: one per input and class (with --top K, K per input)
  // The means over the steps (the steps are evenly spaced, so these are the areas under the
  // curves over the share of layers randomized, up to the first step's offset).
  double mean_spearman = 0.0, mean_ssim = 0.0;
  // The method barely depends on the weights: its mean Spearman over the cascade is above
  // kSanityFlagSpearman. The mean, not the last step: once the first convolution is random any
  // map taken through the input's gradient changes (guided backpropagation does, at the very
  // end), and a map that stays close to the original for most of the cascade has failed the
  // check by then.
  bool flagged = false;
};
constexpr double kSanityFlagSpearman = 0.5;

// Per-input comparisons, accumulated into curves.
struct SanityComparison {
  std::string method, layer;
  size_t step = 0;
  double spearman = 0.0, ssim = 0.0;
};
// Means over inputs of `comparisons`, one curve per (method, layer) in first-seen order, for a
// cascade with these counts and reached layers (whose last step randomizes every weighted
// layer, as cascade_counts always ends). A step no input reached is NaN.
std::vector<SanityCurve> sanity_curves(const std::vector<SanityComparison>& comparisons,
                                       const std::vector<int>& counts,
                                       const std::vector<std::string>& reached);

}  // namespace gaze
