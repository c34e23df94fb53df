#include "cam/preprocess.h"

#include <algorithm>
#include <cmath>

namespace gaze {

Preprocessing parse_preprocessing(const std::string& name) {
  if (name == "nsfwjs") return Preprocessing::kNsfwjs;
  if (name == "keras-inception") return Preprocessing::kKerasInception;
  if (name == "caffe") return Preprocessing::kCaffe;
  if (name == "torch") return Preprocessing::kTorch;
  if (name == "none") return Preprocessing::kNone;
  throw Error("unknown preprocessing '" + name +
              "' (known: nsfwjs, keras-inception, caffe, torch, none)");
}

Tensor resize_bilinear_align_corners(const Tensor& x, int64_t out_h, int64_t out_w) {
  if (x.rank() != 3) throw Error("resize: expected [H, W, C], got " + to_string(x.shape()));
  const int64_t in_h = x.dim(0), in_w = x.dim(1), c = x.dim(2);
  Tensor out({out_h, out_w, c});
  // alignCorners maps the corner pixels onto each other: ratio (in - 1) / (out - 1).
  const double row_ratio = out_h > 1
                               ? static_cast<double>(in_h - 1) / static_cast<double>(out_h - 1)
                               : static_cast<double>(in_h) / static_cast<double>(out_h);
  const double col_ratio = out_w > 1
                               ? static_cast<double>(in_w - 1) / static_cast<double>(out_w - 1)
                               : static_cast<double>(in_w) / static_cast<double>(out_w);
  const float* src = x.data();
  float* dst = out.data();
  for (int64_t r = 0; r < out_h; ++r) {
    const double fr = row_ratio * static_cast<double>(r);
    const int64_t r0 = std::max<int64_t>(0, static_cast<int64_t>(std::floor(fr)));
    const int64_t r1 = std::min<int64_t>(in_h - 1, static_cast<int64_t>(std::ceil(fr)));
    const double dr = fr - static_cast<double>(r0);
    for (int64_t col = 0; col < out_w; ++col) {
      const double fc = col_ratio * static_cast<double>(col);
      const int64_t c0 = std::max<int64_t>(0, static_cast<int64_t>(std::floor(fc)));
      const int64_t c1 = std::min<int64_t>(in_w - 1, static_cast<int64_t>(std::ceil(fc)));
      const double dc = fc - static_cast<double>(c0);
      for (int64_t k = 0; k < c; ++k) {
        const double tl = src[(r0 * in_w + c0) * c + k], tr = src[(r0 * in_w + c1) * c + k];
        const double bl = src[(r1 * in_w + c0) * c + k], br = src[(r1 * in_w + c1) * c + k];
        const double top = tl + (tr - tl) * dc;
        const double bottom = bl + (br - bl) * dc;
        *dst++ = static_cast<float>(top + (bottom - top) * dr);
      }
    }
  }
  return out;
}

namespace {

// Pixels as float [H, W, 3], each value float(double(v) / divisor) as TF.js' div does.
Tensor pixels_as_float(const Image& image, double divisor) {
  Tensor t({image.height, image.width, 3});
  for (size_t i = 0; i < image.rgb.size(); ++i) {
    t.data()[i] = static_cast<float>(static_cast<double>(image.rgb[i]) / divisor);
  }
  return t;
}

Tensor resized(const Tensor& t, int64_t h, int64_t w) {
  return t.dim(0) == h && t.dim(1) == w ? t : resize_bilinear_align_corners(t, h, w);
}

}  // namespace

Tensor preprocess(const Image& image, Preprocessing method, int64_t height, int64_t width) {
  if (image.width <= 0 || image.height <= 0) throw Error("preprocess: empty image");
  if (method == Preprocessing::kNsfwjs) {
    return resized(pixels_as_float(image, 255.0), height, width).reshape({1, height, width, 3});
  }
  Tensor t = resized(pixels_as_float(image, 1.0), height, width).clone();
  float* v = t.data();
  const int64_t pixels = height * width;
  for (int64_t p = 0; p < pixels; ++p, v += 3) {
    switch (method) {
      case Preprocessing::kKerasInception:
        for (int k = 0; k < 3; ++k) v[k] = v[k] / 127.5f - 1.0f;
        break;
      case Preprocessing::kCaffe: {
        const float r = v[0], g = v[1], b = v[2];
        v[0] = b - 103.939f;
        v[1] = g - 116.779f;
        v[2] = r - 123.68f;
        break;
      }
      case Preprocessing::kTorch: {
        constexpr float mean[3] = {0.485f, 0.456f, 0.406f}, stdev[3] = {0.229f, 0.224f, 0.225f};
        for (int k = 0; k < 3; ++k) v[k] = (v[k] / 255.0f - mean[k]) / stdev[k];
        break;
      }
      default:
        break;
    }
  }
  return t.reshape({1, height, width, 3});
}

}  // namespace gaze
