#include "cam/panel.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace gaze {

std::string tile_caption(const std::string& label, double probability, const std::string& method,
                         bool counterfactual, const std::vector<std::string>& layers) {
  char caption[256];
  std::snprintf(caption, sizeof caption, "%s %.3g %s%s %s", label.c_str(), probability,
                method.c_str(), counterfactual ? " (counterfactual)" : "",
                layers.empty()       ? ""
                : layers.size() == 1 ? layers[0].c_str()
                                     : "layers averaged");
  return caption;
}

Image gradient_image(const Tensor& g, int width, int height) {
  const int64_t h = g.dim(1), w = g.dim(2), c = g.dim(3);
  double mean = 0.0, sq = 0.0;
  for (float v : g.values()) mean += v;
  mean /= static_cast<double>(g.size());
  for (float v : g.values()) sq += (v - mean) * (v - mean);
  const double stdev = std::sqrt(sq / static_cast<double>(g.size())) + 1e-12;
  Image img{static_cast<int>(w), static_cast<int>(h),
            std::vector<uint8_t>(static_cast<size_t>(h * w * 3))};
  for (int64_t p = 0; p < h * w; ++p) {
    for (int64_t k = 0; k < 3; ++k) {
      const double v = (g.data()[p * c + std::min(k, c - 1)] - mean) / stdev * 0.1 + 0.5;
      img.rgb[static_cast<size_t>(p * 3 + k)] =
          static_cast<uint8_t>(std::lround(std::clamp(v, 0.0, 1.0) * 255.0));
    }
  }
  return resize_image(img, width, height);
}

Image class_tile_image(const ClassTile& tile, const Image& original, const PanelStyle& style) {
  if (tile.guided.defined()) {
    Tensor g = tile.guided;
    if (!tile.maps.empty()) {  // guided Grad-CAM: the guided gradient where the class map is
      // The Grad-CAM map after its ReLU (unless --signed), as documented: normalizing the signed
      // map would lift the cells of negative evidence above zero and let the gradient through.
      g = g.clone();
      const Tensor at_input =
          upsample_bilinear(normalize_map(tile.maps.front(), style.norm), g.dim(1), g.dim(2));
      for (int64_t px = 0; px < g.dim(1) * g.dim(2); ++px)
        for (int64_t c = 0; c < g.dim(3); ++c) g.data()[px * g.dim(3) + c] *= at_input.data()[px];
    }
    return gradient_image(g, original.width, original.height);
  }
  if (tile.maps.empty()) throw Error("class_tile_image: a tile needs maps or a guided gradient");
  std::vector<Tensor> units;  // the layers' normalized maps at the original image's size
  for (const Tensor& map : tile.maps)
    units.push_back(
        upsample_bilinear(normalize_map(map, style.norm), original.height, original.width));
  return blend(original, colorize(mean_map(units), style.colormap), style.alpha);
}

Image render_panel(const Image& original, const std::string& name,
                   const std::vector<ClassTile>& classes, const PanelStyle& style,
                   const std::string& footer) {
  // The maps were made in the stored pixels' frame, the network's; the panel shows the photo
  // upright, as EXIF says, with every overlay turned the same way, so they stay aligned.
  std::vector<PanelTile> tiles = {{apply_orientation(original, original.orientation), name}};
  for (const ClassTile& c : classes) {
    tiles.push_back(
        {apply_orientation(class_tile_image(c, original, style), original.orientation), c.caption});
  }
  return compose_panel(tiles, footer);
}

std::vector<double> parse_rating(const std::string& spec, const std::vector<std::string>& classes) {
  std::vector<double> weights(classes.size(), 0.0);
  size_t start = 0;
  while (start < spec.size()) {
    const size_t comma = std::min(spec.find(',', start), spec.size());
    const std::string item = spec.substr(start, comma - start);
    const size_t eq = item.find('=');
    if (eq == std::string::npos) throw Error("--rating: '" + item + "' is not CLASS=WEIGHT");
    const std::string name = item.substr(0, eq);
    const auto it = std::find(classes.begin(), classes.end(), name);
    if (it == classes.end()) throw Error("--rating: unknown class '" + name + "'");
    const std::string number = item.substr(eq + 1);
    double weight = 0.0;
    const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), weight);
    if (number.empty() || ec != std::errc() || end != number.data() + number.size() ||
        !std::isfinite(weight)) {
      throw Error("--rating: '" + number + "' is not a number");
    }
    weights[static_cast<size_t>(it - classes.begin())] = weight;
    start = comma + 1;
  }
  return weights;
}

double rating_of(const std::vector<double>& weights, const Tensor& probabilities) {
  if (weights.size() != static_cast<size_t>(probabilities.size())) {
    throw Error("--rating: " + std::to_string(weights.size()) + " class weights for " +
                std::to_string(probabilities.size()) + " probabilities");
  }
  double rated = 0.0;
  for (size_t i = 0; i < weights.size(); ++i) rated += weights[i] * probabilities.data()[i];
  return rated;
}

std::string rating_footer(double rating) {
  char text[64];
  std::snprintf(text, sizeof text, "rating %.1f/10", rating);
  return text;
}

}  // namespace gaze
