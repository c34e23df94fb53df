/// \file
/// gaze's public API: load a Keras image classifier, classify photos, and explain a class with a
/// class activation map. Examples: examples/classify.cpp, examples/gradcam.cpp.
///
/// Errors: every failure (a missing or corrupt model or image, an unknown layer, class or method,
/// a failed write) throws gaze::Error (tensor/error.h), whose what() is one line naming the file
/// or the name at fault, e.g. "photo.jpg: not an image (...)". Nothing is ever printed.
///
/// Threads: a Classifier runs one image at a time (its model reuses scratch buffers between
/// calls); use one Classifier per thread. The heavy loops use OpenMP (OMP_NUM_THREADS).
///
/// The types below come from the internals, which stay reachable (<gaze/cam/explain.h>, ...):
/// \verbatim
///   Tensor      float32, row-major; a map is [h, w], a model input [1, H, W, C]
///   Image       8-bit RGB: width, height, rgb (load_image, save_image)
///   Prediction  {index, label, probability}
///   CamMethod   kGradCam, kGradCamPlusPlus, kCam, kHiResCam, kXGradCam, kLayerCam, kScoreCam,
///               kEigenCam; parse_cam_method("gradcam++") reads the command line's names
///   LayerRegistry  the Keras layer classes a loader knows (a program can add its own)
/// \endverbatim
#pragma once

#include <string>
#include <vector>

#include "cam/explain.h"
#include "cam/image.h"
#include "cam/model_input.h"
#include "cam/preprocess.h"
#include "cam/render.h"
#include "layers/registry.h"
#include "tensor/error.h"
#include "tensor/npy.h"  // write_npy(path, tensor), read_npy(path)
#include "weights/model_io.h"

namespace gaze {

/// How Classifier::load() reads a model file.
struct LoadOptions {
  /// The architecture JSON of a weights-only file (.weights.h5, Keras 2 weights .h5).
  std::string config;
  /// How images become model input: "nsfwjs", "keras-inception", "caffe", "torch" or "none".
  /// Empty: what the model file says (gaze convert's files do); load() throws if it says nothing.
  std::string preprocessing;
  /// The layer classes the model may use; nullptr: gaze's built-in ones. Must outlive load().
  const LayerRegistry* layers = nullptr;
};

/// A place in the network, in the order Keras lists model.layers.
struct LayerInfo {
  std::string name;        ///< as --layer takes it; nested models' layers are "outer/inner"
  std::string class_name;  ///< Keras class, e.g. "Conv2D"
  Shape output_shape;      ///< batch dimension -1, e.g. {-1, 7, 7, 1280}
  bool spatial = false;    ///< a map can be taken here (a 4-D output with a spatial grid)
};

/// What Classifier::explain() computes and how it draws it.
struct ExplainOptions {
  CamMethod method = CamMethod::kGradCam;  ///< the map method (Grad-CAM by default)
  std::vector<std::string> layers;         ///< empty: default_layer()
  std::vector<int> classes;                ///< class indices; empty: the most probable class
  MapNorm norm = MapNorm::kMinMax;         ///< how each map is brought to [0, 1] for its overlay
  Colormap colormap = Colormap::kJet;      ///< the colours of the overlay
  float alpha = 0.5f;                      ///< the heatmap's weight over the photo
};

/// The map of one class at one layer.
struct ClassMap {
  std::string layer;  ///< the layer the map was taken at
  Prediction target;  ///< the class explained, with its probability
  Tensor map;         ///< [h, w] at the layer's resolution, after the final ReLU (>= 0)
  Image overlay;      ///< the map upsampled, coloured and blended over the photo
};

/// What Classifier::explain() returns: the predictions, every map and the panel.
struct Explanation {
  std::vector<Prediction> predictions;  ///< every class, most probable first
  std::vector<ClassMap> maps;           ///< for each class of ExplainOptions::classes, each layer
  Image panel;                          ///< the photo, then every overlay, captioned
};

/// A loaded Keras image classifier: classifies images and explains its classes with maps.
class Classifier {
 public:
  /// Any model file gaze reads, told apart by content: .keras, Keras 2/3 full-model .h5,
  /// .weights.h5 or Keras 2 weights .h5 with options.config, gaze convert's .h5 (a TF.js model
  /// converted). Throws Error naming the file.
  static Classifier load(const std::string& path, const LoadOptions& options = {});

  /// One name per output, in output order: the file's names, else "class_<i>".
  const std::vector<std::string>& class_names() const { return class_names_; }
  /// Every layer, in Keras' order; those with `spatial` set can be given to explain().
  std::vector<LayerInfo> layers() const;
  /// The last spatial layer before the output: where a map is taken by default.
  std::string default_layer() const;

  /// The image resized and preprocessed into the model's input [1, H, W, C].
  Tensor input_for(const Image& image) const;
  /// The `top` most probable classes (top <= 0: all). The tensor is a model input as
  /// input_for() makes it; a wrong shape throws Error.
  std::vector<Prediction> classify(const Image& image, int top = 5) const;
  /// \overload
  std::vector<Prediction> classify(const Tensor& input, int top = 5) const;
  /// The maps of options.classes at options.layers. Throws Error on an unknown or non-spatial
  /// layer or a class index out of range.
  Explanation explain(const Image& image, const ExplainOptions& options = {}) const;

  /// The internals, for study: the layer graph and its forward pass (layers/model.h).
  const Model& model() const { return loaded_.model; }

 private:
  Classifier() = default;
  LoadedModel loaded_;
  Preprocessing preprocessing_ = Preprocessing::kNone;
  std::vector<std::string> class_names_;
};

}  // namespace gaze
