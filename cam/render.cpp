#include "cam/render.h"

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "cam/colormap_data.h"
#include "cam/font_data.h"

namespace gaze {
namespace {

// One output coordinate of a bilinear resize along one axis: the two source cells and the
// weight of the second.
struct AxisSample {
  int64_t i0 = 0;
  int64_t i1 = 0;
  double frac = 0;
};

// Half-pixel centres, clamped at the edges (cv2.resize INTER_LINEAR, tf.image.resize).
std::vector<AxisSample> axis_samples(int64_t in, int64_t out) {
  std::vector<AxisSample> samples(static_cast<size_t>(out));
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  for (int64_t d = 0; d < out; ++d) {
    const double src =
        std::clamp((static_cast<double>(d) + 0.5) * scale - 0.5, 0.0, static_cast<double>(in - 1));
    AxisSample& s = samples[static_cast<size_t>(d)];
    s.i0 = static_cast<int64_t>(std::floor(src));
    s.i1 = std::min(s.i0 + 1, in - 1);
    s.frac = src - static_cast<double>(s.i0);
  }
  return samples;
}

double lerp(double a, double b, double t) {
  return a + (b - a) * t;
}

// Images of at least this many bytes are blended through a table (blend).
constexpr size_t kBlendTableBytes = size_t{1} << 18;

uint8_t to_byte(double v) {
  return static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L));
}

// Every Image function checks this first, so pixel loops never index past rgb.
void check_image(const Image& image, const std::string& what) {
  if (image.width <= 0 || image.height <= 0 ||
      image.rgb.size() !=
          static_cast<size_t>(image.width) * static_cast<size_t>(image.height) * 3) {
    throw Error(what + ": expected a non-empty RGB image, got " + std::to_string(image.width) +
                "x" + std::to_string(image.height) + " with " + std::to_string(image.rgb.size()) +
                " bytes");
  }
}

void check_map(const Tensor& map, const std::string& what) {
  if (!map.defined() || map.rank() != 2 || map.size() == 0) {
    throw Error(what + ": expected a non-empty map [h, w], got " + to_string(map.shape()));
  }
}

Image blank_image(int width, int height, uint8_t value) {
  Image image;
  image.width = width;
  image.height = height;
  image.rgb.assign(static_cast<size_t>(width) * static_cast<size_t>(height) * 3, value);
  return image;
}

size_t pixel_offset(const Image& image, int64_t x, int64_t y) {
  return (static_cast<size_t>(y) * static_cast<size_t>(image.width) + static_cast<size_t>(x)) * 3;
}

const uint8_t (&colormap_table(Colormap colormap))[256][3] {
  switch (colormap) {
    case Colormap::kJet:
      return colormap_data::kJetRgb;
    case Colormap::kTurbo:
      return colormap_data::kTurboRgb;
    case Colormap::kViridis:
      return colormap_data::kViridisRgb;
    case Colormap::kInferno:
      return colormap_data::kInfernoRgb;
  }
  throw Error("unknown colormap");
}

// matplotlib's lookup for a float in [0, 1]: floor(v * N), with 1.0 going to the last entry.
int colormap_index(float v) {
  if (!(v > 0.0f)) return 0;  // also NaN
  if (v >= 1.0f) return 255;
  return std::min(static_cast<int>(v * 256.0f), 255);
}

}  // namespace

Tensor upsample_bilinear(const Tensor& map, int64_t out_h, int64_t out_w) {
  check_map(map, "upsample_bilinear");
  if (out_h <= 0 || out_w <= 0) {
    throw Error("upsample_bilinear: output size must be positive, got " + std::to_string(out_h) +
                "x" + std::to_string(out_w));
  }
  const int64_t in_w = map.dim(1);
  const std::vector<AxisSample> ys = axis_samples(map.dim(0), out_h);
  const std::vector<AxisSample> xs = axis_samples(in_w, out_w);
  const float* in = map.data();
  Tensor out({out_h, out_w});
  float* dst = out.data();
  for (const AxisSample& y : ys) {
    const float* row0 = in + y.i0 * in_w;
    const float* row1 = in + y.i1 * in_w;
    for (const AxisSample& x : xs) {
      const double top = lerp(row0[x.i0], row0[x.i1], x.frac);
      const double bottom = lerp(row1[x.i0], row1[x.i1], x.frac);
      *dst++ = static_cast<float>(lerp(top, bottom, y.frac));
    }
  }
  return out;
}

Tensor normalize_map(const Tensor& map, MapNorm norm) {
  if (!map.defined() || map.size() == 0) throw Error("normalize_map: the map is empty");
  const std::span<const float> in = map.values();
  for (const float v : in) {
    if (!std::isfinite(v)) throw Error("normalize_map: the map holds a NaN or infinite value");
  }
  const auto [min_it, max_it] = std::minmax_element(in.begin(), in.end());
  const float lo = *min_it;
  const float hi = *max_it;
  Tensor out = Tensor::zeros(map.shape());
  std::span<float> dst = out.values();
  if (norm == MapNorm::kMinMax) {
    if (hi == lo) return out;  // constant: no evidence anywhere
    for (size_t i = 0; i < in.size(); ++i) dst[i] = (in[i] - lo) / (hi - lo);
  } else {
    if (hi <= 0.0f) return out;
    for (size_t i = 0; i < in.size(); ++i) dst[i] = std::max(in[i], 0.0f) / hi;
  }
  return out;
}

std::vector<double> gaussian_kernel(int64_t taps, double sigma) {
  std::vector<double> k(static_cast<size_t>(taps));
  const double centre = static_cast<double>(taps - 1) / 2.0;
  double total = 0.0;
  for (int64_t t = 0; t < taps; ++t) {
    const double d = static_cast<double>(t) - centre;
    total += k[static_cast<size_t>(t)] = std::exp(-d * d / (2.0 * sigma * sigma));
  }
  for (double& x : k) x /= total;
  return k;
}

Tensor mean_map(const std::vector<Tensor>& maps) {
  if (maps.empty()) throw Error("mean_map: no maps");
  Tensor mean = maps[0].clone();
  for (size_t m = 1; m < maps.size(); ++m) {
    if (maps[m].shape() != mean.shape()) {
      throw Error("mean_map: maps of shapes " + to_string(mean.shape()) + " and " +
                  to_string(maps[m].shape()));
    }
    for (int64_t i = 0; i < mean.size(); ++i) mean.data()[i] += maps[m].data()[i];
  }
  if (maps.size() > 1)
    for (float& v : mean.values()) v /= static_cast<float>(maps.size());
  return mean;
}

Colormap parse_colormap(const std::string& name) {
  if (name == "jet") return Colormap::kJet;
  if (name == "turbo") return Colormap::kTurbo;
  if (name == "viridis") return Colormap::kViridis;
  if (name == "inferno") return Colormap::kInferno;
  throw Error("unknown colormap '" + name + "' (expected one of: jet, turbo, viridis, inferno)");
}

Image colorize(const Tensor& unit_map, Colormap colormap) {
  check_map(unit_map, "colorize");
  const uint8_t(&table)[256][3] = colormap_table(colormap);
  Image image =
      blank_image(static_cast<int>(unit_map.dim(1)), static_cast<int>(unit_map.dim(0)), 0);
  const std::span<const float> values = unit_map.values();
  for (size_t i = 0; i < values.size(); ++i) {
    const uint8_t* rgb = table[colormap_index(values[i])];
    std::copy(rgb, rgb + 3, image.rgb.begin() + static_cast<std::ptrdiff_t>(i * 3));
  }
  return image;
}

Image blend(const Image& base, const Image& overlay, float alpha) {
  check_image(base, "blend (base)");
  check_image(overlay, "blend (overlay)");
  if (base.width != overlay.width || base.height != overlay.height) {
    throw Error("blend: image sizes differ: " + std::to_string(base.width) + "x" +
                std::to_string(base.height) + " and " + std::to_string(overlay.width) + "x" +
                std::to_string(overlay.height));
  }
  if (!(alpha >= 0.0f && alpha <= 1.0f)) {
    throw Error("blend: alpha must be in [0, 1], got " + std::to_string(alpha));
  }
  Image out = base;
  const double a = alpha;
  const auto mix = [a](uint8_t b, uint8_t o) { return to_byte((1.0 - a) * b + a * o); };
  if (out.rgb.size() < kBlendTableBytes) {
    for (size_t i = 0; i < out.rgb.size(); ++i) out.rgb[i] = mix(base.rgb[i], overlay.rgb[i]);
    return out;
  }
  // A panel-sized image: every pair of bytes looked up in a table of the same formula's results
  // (64 KiB, in cache), a third of the time of rounding each byte.
  std::vector<uint8_t> table(size_t{256} * 256);
  for (int b = 0; b < 256; ++b)
    for (int o = 0; o < 256; ++o)
      table[static_cast<size_t>(b * 256 + o)] =
          mix(static_cast<uint8_t>(b), static_cast<uint8_t>(o));
  for (size_t i = 0; i < out.rgb.size(); ++i)
    out.rgb[i] = table[size_t{base.rgb[i]} * 256 + overlay.rgb[i]];
  return out;
}

Image heatmap_overlay(const Image& original, const Tensor& map, MapNorm norm, Colormap colormap,
                      float alpha) {
  check_image(original, "heatmap_overlay");
  check_map(map, "heatmap_overlay");
  const Tensor unit = normalize_map(map, norm);
  const Tensor full = upsample_bilinear(unit, original.height, original.width);
  return blend(original, colorize(full, colormap), alpha);
}

Image resize_image(const Image& image, int width, int height) {
  check_image(image, "resize_image");
  if (width <= 0 || height <= 0) {
    throw Error("resize_image: size must be positive, got " + std::to_string(width) + "x" +
                std::to_string(height));
  }
  const std::vector<AxisSample> ys = axis_samples(image.height, height);
  const std::vector<AxisSample> xs = axis_samples(image.width, width);
  Image out = blank_image(width, height, 0);
  size_t o = 0;
  for (const AxisSample& y : ys) {
    for (const AxisSample& x : xs) {
      for (size_t c = 0; c < 3; ++c) {
        const auto at = [&](int64_t sx, int64_t sy) {
          return static_cast<double>(image.rgb[pixel_offset(image, sx, sy) + c]);
        };
        const double top = lerp(at(x.i0, y.i0), at(x.i1, y.i0), x.frac);
        const double bottom = lerp(at(x.i0, y.i1), at(x.i1, y.i1), x.frac);
        out.rgb[o++] = to_byte(lerp(top, bottom, y.frac));
      }
    }
  }
  return out;
}

// ---- text ----

namespace {

const uint8_t* glyph(char ch) {
  int code = static_cast<unsigned char>(ch);
  if (code < font_data::kFirstChar || code > font_data::kLastChar) code = '?';
  return font_data::kGlyphs[code - font_data::kFirstChar];
}

// Fills the part of the square [x0, x0 + size) x [y0, y0 + size) that lies inside the image.
void fill_square(Image& img, int64_t x0, int64_t y0, int64_t size, const uint8_t (&rgb)[3]) {
  const int64_t x_begin = std::max<int64_t>(x0, 0);
  const int64_t x_end = std::min<int64_t>(x0 + size, img.width);
  const int64_t y_begin = std::max<int64_t>(y0, 0);
  const int64_t y_end = std::min<int64_t>(y0 + size, img.height);
  for (int64_t y = y_begin; y < y_end; ++y) {
    for (int64_t x = x_begin; x < x_end; ++x) {
      std::copy(rgb, rgb + 3,
                img.rgb.begin() + static_cast<std::ptrdiff_t>(pixel_offset(img, x, y)));
    }
  }
}

void check_scale(int scale) {
  if (scale < 1) throw Error("text scale must be at least 1, got " + std::to_string(scale));
}

}  // namespace

void draw_text(Image& img, int x, int y, const std::string& text, uint8_t r, uint8_t g, uint8_t b,
               int scale) {
  check_scale(scale);
  check_image(img, "draw_text");
  const uint8_t rgb[3] = {r, g, b};
  // 64-bit positions: a long string at a large scale must not overflow into the image.
  const int64_t cell_w = int64_t{font_data::kGlyphWidth} * scale;
  for (size_t i = 0; i < text.size(); ++i) {
    const int64_t cx = x + static_cast<int64_t>(i) * cell_w;
    if (cx >= img.width) break;
    if (cx + cell_w <= 0) continue;
    const uint8_t* rows = glyph(text[i]);
    for (int row = 0; row < font_data::kGlyphHeight; ++row) {
      for (int col = 0; col < font_data::kGlyphWidth; ++col) {
        if ((rows[row] & (0x80 >> col)) == 0) continue;
        fill_square(img, cx + int64_t{col} * scale, y + int64_t{row} * scale, scale, rgb);
      }
    }
  }
}

int text_width(const std::string& text, int scale) {
  check_scale(scale);
  return static_cast<int>(text.size()) * font_data::kGlyphWidth * scale;
}

int text_height(int scale) {
  check_scale(scale);
  return font_data::kGlyphHeight * scale;
}

// ---- panel ----

namespace {

constexpr int kMaxCaptionLines = 2;
constexpr int kLargeTileHeight = 400;  // above this the font is doubled

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  for (const char ch : text) {
    if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
      if (!word.empty()) words.push_back(std::move(word));
      word.clear();
    } else {
      word += ch;
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

// Greedy word wrap to max_chars per line; a word longer than a line is cut across lines. At
// most max_lines lines are kept, the last ending in "..." when text was dropped.
std::vector<std::string> wrap_text(const std::string& text, size_t max_chars, size_t max_lines) {
  std::vector<std::string> lines;
  if (max_chars == 0 || max_lines == 0) return lines;
  std::string line;
  for (std::string word : split_words(text)) {
    if (!line.empty() && line.size() + 1 + word.size() <= max_chars) {
      line += ' ' + word;
      continue;
    }
    if (!line.empty()) lines.push_back(std::move(line));
    while (word.size() > max_chars) {
      lines.push_back(word.substr(0, max_chars));
      word.erase(0, max_chars);
    }
    line = std::move(word);
  }
  if (!line.empty()) lines.push_back(std::move(line));
  if (lines.size() > max_lines) {
    lines.resize(max_lines);
    std::string& last = lines.back();
    const std::string ellipsis = max_chars >= 3 ? "..." : "";
    if (last.size() + ellipsis.size() > max_chars) last.resize(max_chars - ellipsis.size());
    last += ellipsis;
  }
  return lines;
}

void blit(Image& dst, const Image& src, int x0, int y0) {
  const size_t row_bytes = static_cast<size_t>(src.width) * 3;
  for (int y = 0; y < src.height; ++y) {
    const auto from = src.rgb.begin() + static_cast<std::ptrdiff_t>(pixel_offset(src, 0, y));
    std::copy(from, from + static_cast<std::ptrdiff_t>(row_bytes),
              dst.rgb.begin() + static_cast<std::ptrdiff_t>(pixel_offset(dst, x0, y0 + y)));
  }
}

// Geometry shared by the caption bands and the footer, all proportional to the font scale.
struct PanelStyle {
  int scale = 1;
  int margin = 0;     // white space around and between tiles
  int pad = 0;        // white space above and below a block of text
  int line_step = 0;  // distance between the tops of two text lines

  explicit PanelStyle(int s)
      : scale(s), margin(4 * s), pad(3 * s), line_step(text_height(s) + 2 * s) {}

  // Height of a block of n lines including its padding; nothing at all for n = 0.
  int block_height(size_t n) const {
    if (n == 0) return 0;
    return 2 * pad + static_cast<int>(n - 1) * line_step + text_height(scale);
  }
  size_t chars_per_line(int width) const {
    return static_cast<size_t>(std::max(width, 0) / text_width("x", scale));
  }
};

void draw_lines(Image& img, const std::vector<std::string>& lines, int x, int width, int top,
                const PanelStyle& style, bool centred) {
  for (size_t i = 0; i < lines.size(); ++i) {
    const int w = text_width(lines[i], style.scale);
    const int lx = centred ? x + (width - w) / 2 : x;
    const int ly = top + style.pad + static_cast<int>(i) * style.line_step;
    draw_text(img, lx, ly, lines[i], 0, 0, 0, style.scale);
  }
}

}  // namespace

Image compose_panel(const std::vector<PanelTile>& tiles, const std::string& footer) {
  if (tiles.empty()) throw Error("compose_panel: no tiles");
  for (const PanelTile& tile : tiles) check_image(tile.image, "compose_panel");

  // Every tile takes the first tile's height, keeping its aspect ratio.
  const int tile_h = tiles.front().image.height;
  std::vector<Image> images;
  for (const PanelTile& tile : tiles) {
    const Image& im = tile.image;
    if (im.height == tile_h) {
      images.push_back(im);
      continue;
    }
    const double w = static_cast<double>(im.width) * tile_h / im.height;
    images.push_back(resize_image(im, std::max(1, static_cast<int>(std::lround(w))), tile_h));
  }

  const PanelStyle style(tile_h > kLargeTileHeight ? 2 : 1);
  std::vector<std::vector<std::string>> captions;
  size_t caption_lines = 0;
  int width = style.margin;
  for (size_t i = 0; i < tiles.size(); ++i) {
    captions.push_back(
        wrap_text(tiles[i].caption, style.chars_per_line(images[i].width), kMaxCaptionLines));
    caption_lines = std::max(caption_lines, captions.back().size());
    width += images[i].width + style.margin;
  }
  const int inner_w = width - 2 * style.margin;
  const std::vector<std::string> footer_lines =
      wrap_text(footer, style.chars_per_line(inner_w), kMaxCaptionLines);

  const int band_top = style.margin + tile_h;
  const int footer_top = band_top + style.block_height(caption_lines);
  const int height = footer_top + style.block_height(footer_lines.size()) + style.margin;

  Image panel = blank_image(width, height, 255);
  int x = style.margin;
  for (size_t i = 0; i < images.size(); ++i) {
    blit(panel, images[i], x, style.margin);
    draw_lines(panel, captions[i], x, images[i].width, band_top, style, /*centred=*/true);
    x += images[i].width + style.margin;
  }
  draw_lines(panel, footer_lines, style.margin, inner_w, footer_top, style, /*centred=*/false);
  return panel;
}

}  // namespace gaze
