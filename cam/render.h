// The picture side of `gaze cam`: a layer-resolution map [h, w] becomes a coloured heatmap over
// the original photo, and several such pictures become one captioned panel.
//
// Pipeline (heatmap_overlay): normalize_map -> upsample_bilinear to the photo's size ->
// colorize -> blend over the photo.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cam/image.h"
#include "tensor/tensor.h"

namespace gaze {

// Resizes map [h, w] to [out_h, out_w] by bilinear interpolation with half-pixel centres, as
// OpenCV's cv2.resize(INTER_LINEAR) and tf.image.resize(method='bilinear') do:
//   src = (dst + 0.5) * in / out - 0.5, clamped to [0, in - 1], separately per axis,
// then a linear blend of the two neighbouring cells. Throws Error unless map is a non-empty
// rank-2 tensor and out_h, out_w > 0.
Tensor upsample_bilinear(const Tensor& map, int64_t out_h, int64_t out_w);

// How a map is brought to [0, 1] before colouring.
enum class MapNorm {
  // (m - min) / (max - min). A constant map (max == min) becomes all zeros.
  kMinMax,
  // max(m, 0) / max, as keras.io's Grad-CAM example does: negatives are clipped to 0 and the
  // largest value becomes 1. A map with max <= 0 becomes all zeros.
  kMax,
};

// Returns a new map of the same shape with values in [0, 1]. Throws Error on an empty map or on
// a NaN or infinite value (a broken map must not become a plausible-looking picture).
Tensor normalize_map(const Tensor& map, MapNorm norm);

// The normalized Gaussian of `sigma` over `taps` taps centred on the middle (blurs, SSIM).
std::vector<double> gaussian_kernel(int64_t taps, double sigma);

// The element-wise mean of maps of one shape (averaged layers, aug-smooth's variants). Throws
// Error when there are none or their shapes differ.
Tensor mean_map(const std::vector<Tensor>& maps);

enum class Colormap { kJet, kTurbo, kViridis, kInferno };

// "jet", "turbo", "viridis" or "inferno"; anything else throws Error listing these names.
Colormap parse_colormap(const std::string& name);

// Colours a map [h, w] of values in [0, 1] into an image of width w and height h. Value v gets
// entry min(floor(v * 256), 255) of the 256-entry table, matplotlib's rule for cmap(v), so
// colorize(v) equals matplotlib's colour of v rounded to bytes. Values below 0 (and NaN) take
// entry 0, values above 1 entry 255. Throws Error unless map is rank 2.
Image colorize(const Tensor& unit_map, Colormap colormap);

// out = (1 - alpha) * base + alpha * overlay per channel, rounded to the nearest integer.
// Throws Error if the sizes differ or alpha is outside [0, 1].
Image blend(const Image& base, const Image& overlay, float alpha);

// The whole `gaze cam` picture: normalize the layer-resolution map, upsample it to the size of
// `original`, colorize it and blend it over `original` with weight alpha.
Image heatmap_overlay(const Image& original, const Tensor& map, MapNorm norm, Colormap colormap,
                      float alpha);

// Bilinear resize of an RGB image with the same half-pixel rule as upsample_bilinear, rounded
// to bytes. No antialiasing filter: meant for panels, not for model input. Throws Error on an
// empty image or a non-positive size.
Image resize_image(const Image& image, int width, int height);

// Built-in 6x13 bitmap font (X11 misc-fixed, public domain), monospaced.
// Draws `text` with its top-left corner at (x, y), each font pixel a scale x scale square.
// Pixels falling outside the image are skipped. Characters outside ASCII 32..126 are drawn
// as '?'. Throws Error if scale < 1.
void draw_text(Image& img, int x, int y, const std::string& text, uint8_t r, uint8_t g, uint8_t b,
               int scale = 1);
// Width and height in pixels of a line of text at this scale (one character is 6 x 13).
int text_width(const std::string& text, int scale);
int text_height(int scale);

struct PanelTile {
  Image image;
  std::string caption;
};

// Lays the tiles out side by side in one row on white, each scaled (bilinear) to the height of
// the first tile, with its caption in black in a white band below it. Captions are wrapped at
// spaces to the tile width, at most two lines; what does not fit ends in "...". The font is
// doubled when the tiles are taller than 400 px. A non-empty footer (e.g. "rating 7.4/10") goes
// under everything, left-aligned, wrapped and shortened the same way to the panel width.
// Throws Error on no tiles or an empty tile image.
Image compose_panel(const std::vector<PanelTile>& tiles, const std::string& footer = "");

}  // namespace gaze
