// The panel of `gaze cam`, from what the network gave: per class, the maps at each layer (or the
// guided gradient), each class's tile captioned, the article's rating as its footer, the whole
// turned upright as the photo's EXIF orientation says.
//
// Split from the network on purpose: everything here is a pure function of tensors and images,
// so a panel can be rendered and encoded on another thread while the network runs on the next
// input (collection/pipeline.h). What needs the model (CamSession::map, guided gradients) is
// done before, on the network's thread.
#pragma once

#include <string>
#include <vector>

#include "cam/image.h"
#include "cam/render.h"
#include "tensor/tensor.h"

namespace gaze {

// One class's part of a panel.
struct ClassTile {
  std::string caption;
  // The class's map at each layer, at layer resolution [h, w] (after the ReLU unless signed),
  // as --raw saves them. Empty for guided backpropagation.
  std::vector<Tensor> maps;
  // Guided methods: the guided gradient [1, H, W, C] at the input. Guided Grad-CAM multiplies
  // it by the first map, normalized and upsampled to the input's size. Undefined otherwise.
  Tensor guided;
};

struct PanelStyle {
  MapNorm norm = MapNorm::kMinMax;
  Colormap colormap = Colormap::kJet;
  float alpha = 0.5f;
};

// "<label> <prob %.3g> <method>[ (counterfactual)] <layer | layers averaged>", without the
// layer part for guided backpropagation (`layers` empty).
std::string tile_caption(const std::string& label, double probability, const std::string& method,
                         bool counterfactual, const std::vector<std::string>& layers);

// Guided backpropagation's gradient [1, H, W, C] as a picture, the usual way: standardized
// (mean 0, standard deviation 1 over all values), times 0.1, plus 0.5, clipped to [0, 1] and
// rounded to bytes (one channel is repeated as grey), then resized to width x height.
Image gradient_image(const Tensor& gradient, int width, int height);

// The tile of one class over `original` (the stored pixels, the network's frame):
//  - with a guided gradient: that gradient as a picture (gradient_image), times the first map
//    normalized and upsampled to the gradient's size when there are maps (guided Grad-CAM);
//  - else the mean of the maps, each normalized and upsampled to the photo, coloured and
//    blended over it.
// Throws Error when the tile has neither maps nor a guided gradient.
Image class_tile_image(const ClassTile& tile, const Image& original, const PanelStyle& style);

// The panel: `original` captioned `name`, then each class's tile, every tile turned upright as
// original.orientation says, laid out by compose_panel with `footer` under them.
Image render_panel(const Image& original, const std::string& name,
                   const std::vector<ClassTile>& classes, const PanelStyle& style,
                   const std::string& footer);

// The article's 0-10 rating, e.g. "Sexy=10,Porn=10,Neutral=5": a weight per class index (0 for
// classes not named). Throws Error("--rating: ...") on an item that is not CLASS=WEIGHT, an
// unknown class or a weight that is not a number.
std::vector<double> parse_rating(const std::string& spec, const std::vector<std::string>& classes);

// The expected weight under the probabilities: sum_i weights[i] * probabilities[i].
double rating_of(const std::vector<double>& weights, const Tensor& probabilities);

// The panel's footer for a rating: "rating 7.3/10".
std::string rating_footer(double rating);

}  // namespace gaze
