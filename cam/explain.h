// Maps from a model: one forward pass, then one backward pass per class, reading activations and
// gradients at the chosen layers. Only the chosen layers' outputs require a gradient, so only
// what lies downstream of them is recorded and no parameter gradient is ever computed.
#pragma once

#include <map>
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
};

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
  // The signed map [h, w] of `layer` for class `class_index` (before the final ReLU).
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
  Tensor dense_kernel_for_cam(const std::string& layer) const;

  const Model& model_;
  Tensor input_;
  Model::ForwardResult forward_;
  Tensor probabilities_;
  // (class, score kind) of the last backward, and the gradients it left at each layer.
  std::pair<int, ScoreKind> grads_for_{-1, ScoreKind::kLogit};
  std::map<std::string, Tensor> grads_;
};

}  // namespace gaze
