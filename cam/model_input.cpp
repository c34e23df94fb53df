#include "cam/model_input.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "tensor/npy.h"

namespace gaze {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         std::equal(suffix.rbegin(), suffix.rend(), s.rbegin(),
                    [](char a, char b) { return std::tolower(a) == b; });
}

// A preprocessed tensor has no pixels; for overlays, show it min-max scaled to 0..255.
Image render_tensor(const Tensor& t) {
  const int64_t h = t.dim(1), w = t.dim(2), c = t.dim(3);
  Image img{static_cast<int>(w), static_cast<int>(h),
            std::vector<uint8_t>(static_cast<size_t>(h * w * 3))};
  const auto [lo, hi] = std::minmax_element(t.data(), t.data() + t.size());
  const float range = *hi > *lo ? *hi - *lo : 1.0f;
  for (int64_t p = 0; p < h * w; ++p) {
    for (int64_t k = 0; k < 3; ++k) {
      const float v = t.data()[p * c + std::min(k, c - 1)];
      img.rgb[static_cast<size_t>(p * 3 + k)] =
          static_cast<uint8_t>(std::lround((v - *lo) / range * 255.0f));
    }
  }
  return img;
}

}  // namespace

ModelInput load_model_input(const std::string& path, const Model& model, Preprocessing method) {
  const Shape& want = model.input_shape();  // [-1, H, W, C]
  ModelInput in;
  in.path = path;
  if (ends_with(path, ".npy")) {
    Tensor t = read_npy(path);
    if (t.rank() == 3) t = t.reshape({1, t.dim(0), t.dim(1), t.dim(2)});
    if (t.rank() != 4 || t.dim(0) != 1 || t.dim(1) != want[1] || t.dim(2) != want[2] ||
        t.dim(3) != want[3]) {
      throw Error(path + ": array of shape " + to_string(t.shape()) +
                  " does not fit the model's input [" + std::to_string(want[1]) + ", " +
                  std::to_string(want[2]) + ", " + std::to_string(want[3]) +
                  "] (float32, already preprocessed)");
    }
    in.tensor = t;
    in.original = render_tensor(t);
    return in;
  }
  if (want[3] != 3)
    throw Error(path + ": the model takes " + std::to_string(want[3]) + " channels, images give 3");
  in.original = load_image(path);
  in.tensor = preprocess(in.original, method, want[1], want[2]);
  return in;
}

std::vector<Prediction> rank_predictions(const Tensor& probabilities,
                                         const std::vector<std::string>& class_names, int top) {
  const int64_t n = probabilities.size();
  std::vector<int> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return probabilities.data()[a] > probabilities.data()[b]; });
  if (top > 0 && top < n) order.resize(static_cast<size_t>(top));
  std::vector<Prediction> out;
  for (int i : order) {
    const auto k = static_cast<size_t>(i);
    out.push_back({i, k < class_names.size() ? class_names[k] : "class_" + std::to_string(i),
                   probabilities.data()[i]});
  }
  return out;
}

}  // namespace gaze
