// Maps from a model: one forward pass, then one backward pass per class, reading activations and
// gradients at the chosen layers. Only the chosen layers' outputs require a gradient, so only
// what lies downstream of them is recorded and no parameter gradient is ever computed.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "layers/model.h"

namespace gaze {

enum class CamMethod {
  kGradCam,
  kGradCamPlusPlus,
  kCam,
  kHiResCam,
  kXGradCam,
  kLayerCam,
  kScoreCam,
  kEigenCam,
};
CamMethod parse_cam_method(const std::string& name);  // gradcam, gradcam++, cam, hirescam, ...
// Whether the method reads gradients (CAM, Score-CAM and Eigen-CAM do not).
bool method_needs_gradients(CamMethod m);
const char* cam_method_name(CamMethod m);
std::vector<std::string> cam_method_names();

// What the gradient is taken of: the class's pre-softmax logit (the output layer's
// pre-activation), or its probability.
enum class ScoreKind { kLogit, kProbability };

struct CamOptions {
  CamMethod method = CamMethod::kGradCam;
  ScoreKind score = ScoreKind::kLogit;
  bool counterfactual = false;   // negated gradients: what speaks AGAINST the class
  int score_cam_channels = 256;  // Score-CAM: channels with the largest mean activation
  int score_cam_batch = 8;       // Score-CAM: masked inputs per forward pass
  // pytorch-grad-cam's smoothings (docs/smoothing.md):
  // eigen_smooth: the first principal projection of the map's terms (principal_projection in
  // cam/methods.h) instead of their channel sum;
  bool eigen_smooth = false;
  // aug_smooth: the mean of the maps of 6 variants of the input (aug_smooth_variants), each
  // after its ReLU and min-max scaled, mapped back to the input's frame.
  bool aug_smooth = false;
};

// Throws Error when a smoothing does not apply to the method: eigen-smooth to eigencam, which is
// already the principal projection of the activations (pytorch-grad-cam's EigenCAM ignores the
// flag).
void check_smoothing(CamMethod method, const CamOptions& options);

// pytorch-grad-cam's aug_smooth variants: ttach's HorizontalFlip x Multiply(0.9, 1, 1.1), where
// Multiply scales the INTENSITIES of the preprocessed input tensor (not its geometry); only the
// flip is undone on the map.
struct AugVariant {
  bool flip;
  float factor;
};
constexpr AugVariant kAugVariants[] = {{false, 0.9f}, {false, 1.0f}, {false, 1.1f},
                                       {true, 0.9f},  {true, 1.0f},  {true, 1.1f}};
// `input` [1, H, W, C] flipped left-right if asked, times the factor.
Tensor augment_input(const Tensor& input, const AugVariant& variant);
// A map [h, w] (or an input [1, H, W, C]) mirrored left-right.
Tensor flip_left_right(const Tensor& t);

// A method name with its smoothings, as `gaze evaluate --method` takes it: NAME[:eigen][:aug],
// e.g. gradcam:eigen, gradcam++:aug, layercam:eigen:aug.
struct MethodSpec {
  std::string name;  // canonical: NAME, then :eigen, then :aug
  CamMethod method = CamMethod::kGradCam;
  bool eigen_smooth = false, aug_smooth = false;
};
MethodSpec parse_method_spec(const std::string& spec);
// The suffixes, one table in canonical order: {suffix, the flag it sets, what it does (for the
// help text)}.
struct SmoothingSuffix {
  const char* suffix;
  bool MethodSpec::*flag;
  const char* help;
};
constexpr SmoothingSuffix kSmoothingSuffixes[] = {
    {"eigen", &MethodSpec::eigen_smooth,
     "as 'gaze cam --eigen-smooth': the terms' first principal projection"},
    {"aug", &MethodSpec::aug_smooth,
     "as 'gaze cam --aug-smooth': the mean over flip x intensity 0.9, 1, 1.1"},
};

// The saliency map of guided backpropagation as the sanity check compares it: the channel sum of
// |d score / d input| of a gradient [1, H, W, C], a map [H, W].
Tensor guided_saliency(const Tensor& input_gradient);

// A layer a class activation map can be taken at: a 4-D output with a spatial grid.
bool is_spatial_layer(const Model& m, size_t i);
// The last layer with a spatial output before the model's output: where a map is taken by
// default (mixed10 for InceptionV3, out_relu for MobileNetV2).
size_t default_cam_layer(const Model& m);

class CamSession {
 public:
  // Runs the forward pass of `input` [1, H, W, C], keeping `layers` (each must have an output
  // [1, h, w, K]); `with_gradients` records what backward needs.
  CamSession(const Model& model, const Tensor& input, const std::vector<std::string>& layers,
             bool with_gradients);

  // The model's output probabilities [classes].
  const Tensor& probabilities() const { return probabilities_; }
  // The signed map [h, w] of `layer` for class `class_index` (before the final ReLU). With
  // options.aug_smooth, the mean of the 6 variants' maps (each after its ReLU and min-max
  // scaled, so in [0, 1]); the variants' sessions are made at the first such call and kept.
  // The class is the caller's for every variant (pytorch-grad-cam's targets), not each
  // variant's own top class.
  Tensor map(const std::string& layer, int class_index, const CamOptions& options);
  // d score / d layer for a class, as used by the gradient methods (exposed for tests).
  Tensor gradients(const std::string& layer, int class_index, ScoreKind score);
  const Tensor& activations(const std::string& layer) const;

  // Guided backpropagation (Springenberg et al. 2015): d score / d input [1, H, W, C] with the
  // engine's guided ReLU rule (only positive gradients pass, through positive inputs). Runs a
  // second forward pass in which the input itself requires a gradient.
  Tensor guided_gradients(int class_index, ScoreKind score) const;

 private:
  Tensor score_cam(const std::string& layer, int class_index, const CamOptions& options);
  Tensor single_map(const std::string& layer, int class_index, const CamOptions& options);
  Tensor aug_smooth_map(const std::string& layer, int class_index, const CamOptions& options);
  Tensor dense_kernel_for_cam(const std::string& layer) const;

  const Model& model_;
  Tensor input_;
  std::vector<std::string> layers_;
  bool with_gradients_ = false;
  // aug_smooth: one session per variant of kAugVariants (the factor-1 unflipped one is this).
  std::vector<std::unique_ptr<CamSession>> variants_;
  Model::ForwardResult forward_;
  Tensor probabilities_;
  // (class, score kind) of the last backward, and the gradients it left at each layer.
  std::pair<int, ScoreKind> grads_for_{-1, ScoreKind::kLogit};
  std::map<std::string, Tensor> grads_;
};

}  // namespace gaze
