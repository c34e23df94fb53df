// The public API (gaze/gaze.h) over the libraries below it: weights' loader, cam's input,
// methods and pictures. It adds no computation of its own.
#include "gaze/gaze.h"

#include <cstdio>

#include "cam/methods.h"  // relu_map

namespace gaze {

Classifier Classifier::load(const std::string& path, const LoadOptions& options) {
  Classifier c;
  c.loaded_ =
      load_model(path, options.config, options.layers ? *options.layers : LayerRegistry::builtin());
  const std::string preprocessing =
      options.preprocessing.empty() ? c.loaded_.preprocessing : options.preprocessing;
  if (preprocessing.empty()) {
    throw Error(path +
                ": the model does not say how to preprocess images; set "
                "LoadOptions::preprocessing");
  }
  c.preprocessing_ = parse_preprocessing(preprocessing);
  const Model& m = c.loaded_.model;
  const int64_t outputs = m.output_shape(m.output_index()).back();
  c.class_names_ = c.loaded_.class_names;
  for (int64_t i = static_cast<int64_t>(c.class_names_.size()); i < outputs; ++i)
    c.class_names_.push_back("class_" + std::to_string(i));
  return c;
}

std::vector<LayerInfo> Classifier::layers() const {
  const Model& m = loaded_.model;
  std::vector<LayerInfo> out;
  for (size_t i : m.keras_order()) {
    out.push_back(
        {m.layer(i).name(), m.layer(i).class_name(), m.output_shape(i), is_spatial_layer(m, i)});
  }
  return out;
}

std::string Classifier::default_layer() const {
  return loaded_.model.layer(default_cam_layer(loaded_.model)).name();
}

Tensor Classifier::input_for(const Image& image) const {
  const Shape& s = loaded_.model.input_shape();
  return preprocess(image, preprocessing_, s[1], s[2]);
}

std::vector<Prediction> Classifier::classify(const Image& image, int top) const {
  return classify(input_for(image), top);
}

std::vector<Prediction> Classifier::classify(const Tensor& input, int top) const {
  return rank_predictions(loaded_.model.forward(input).output.value(), class_names_, top);
}

Explanation Classifier::explain(const Image& image, const ExplainOptions& options) const {
  const Model& m = loaded_.model;
  const std::vector<std::string> layers =
      options.layers.empty() ? std::vector<std::string>{default_layer()} : options.layers;
  for (const std::string& layer : layers) {
    if (!is_spatial_layer(m, m.index_of(layer)))
      throw Error("layer '" + layer + "' has no spatial output; a map cannot be taken there");
  }
  CamSession session(m, input_for(image), layers, method_needs_gradients(options.method));
  Explanation e;
  e.predictions = rank_predictions(session.probabilities(), class_names_, 0);
  std::vector<int> classes = options.classes;
  if (classes.empty()) classes.push_back(e.predictions.front().index);
  std::vector<PanelTile> tiles = {{image, "original"}};
  CamOptions cam;
  cam.method = options.method;
  for (int k : classes) {
    if (k < 0 || k >= static_cast<int>(class_names_.size()))
      throw Error("class index " + std::to_string(k) + " is out of range (the model has " +
                  std::to_string(class_names_.size()) + " classes)");
    const Prediction target{k, class_names_[static_cast<size_t>(k)],
                            session.probabilities().data()[k]};
    for (const std::string& layer : layers) {
      ClassMap c{layer, target, relu_map(session.map(layer, k, cam)), {}};
      c.overlay = heatmap_overlay(image, c.map, options.norm, options.colormap, options.alpha);
      char caption[256];
      std::snprintf(caption, sizeof caption, "%s %.3g %s %s", target.label.c_str(),
                    static_cast<double>(target.probability), cam_method_name(options.method),
                    layer.c_str());
      tiles.push_back({c.overlay, caption});
      e.maps.push_back(std::move(c));
    }
  }
  e.panel = compose_panel(tiles);
  return e;
}

}  // namespace gaze
