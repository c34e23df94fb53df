#include "cam/evaluate.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "cam/render.h"
#include "tensor/error.h"

namespace gaze {

namespace {

void check_input(const Tensor& input) {
  if (input.rank() != 4 || input.dim(0) != 1)
    throw Error("evaluate: the input must be [1, H, W, C], got " + to_string(input.shape()));
}

// One pass along an axis of [H, W, C] with the kernel, edges repeated.
void blur_axis(const float* src, float* dst, int64_t h, int64_t w, int64_t c, bool rows,
               const std::vector<double>& kernel) {
  const int64_t radius = static_cast<int64_t>(kernel.size() / 2);
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      for (int64_t k = 0; k < c; ++k) {
        double sum = 0.0;
        for (int64_t t = -radius; t <= radius; ++t) {
          const int64_t yy = rows ? std::clamp(y + t, int64_t{0}, h - 1) : y;
          const int64_t xx = rows ? x : std::clamp(x + t, int64_t{0}, w - 1);
          sum += kernel[static_cast<size_t>(t + radius)] * src[(yy * w + xx) * c + k];
        }
        dst[(y * w + x) * c + k] = static_cast<float>(sum);
      }
    }
  }
}

}  // namespace

BatchScorer model_scorer(const Model& model) {
  return [&model](const Tensor& batch) { return model.forward(batch).output.value(); };
}

std::vector<int64_t> rank_pixels(const Tensor& saliency) {
  for (float v : saliency.values()) {
    if (!std::isfinite(v)) throw Error("evaluate: the map holds a NaN or infinite value");
  }
  std::vector<int64_t> order(static_cast<size_t>(saliency.size()));
  std::iota(order.begin(), order.end(), int64_t{0});
  const float* s = saliency.data();
  // Stable: equal values keep their increasing index order.
  std::stable_sort(order.begin(), order.end(), [s](int64_t a, int64_t b) { return s[a] > s[b]; });
  return order;
}

int64_t pixels_at_step(int64_t i, int64_t n, int64_t pixels) {
  return i * pixels / n;
}

double trapezoid_auc(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size()) throw Error("trapezoid_auc: x and y differ in length");
  double area = 0.0;
  for (size_t i = 1; i < x.size(); ++i) area += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2.0;
  return area;
}

Curve perturbation_curve(const BatchScorer& scorer, const Tensor& from, const Tensor& to,
                         const std::vector<int64_t>& order, int class_index,
                         const PerturbationOptions& options) {
  check_input(from);
  if (from.shape() != to.shape()) throw Error("evaluate: the two ends differ in shape");
  const int64_t h = from.dim(1), w = from.dim(2), c = from.dim(3), pixels = h * w;
  if (static_cast<int64_t>(order.size()) != pixels)
    throw Error("evaluate: the pixel order does not cover the input");
  if (options.steps < 1) throw Error("evaluate: --steps must be at least 1");
  const int64_t n = options.steps;
  const int64_t batch = std::max(1, options.batch);
  Curve curve;
  Tensor current = from.clone();  // `from` with the first `done` pixels of `order` from `to`
  int64_t done = 0;
  for (int64_t start = 0; start <= n; start += batch) {
    const int64_t count = std::min(batch, n + 1 - start);
    Tensor inputs({count, h, w, c});
    for (int64_t b = 0; b < count; ++b) {
      const int64_t target = pixels_at_step(start + b, n, pixels);
      for (; done < target; ++done) {
        const int64_t p = order[static_cast<size_t>(done)];
        std::copy_n(to.data() + p * c, c, current.data() + p * c);
      }
      std::copy_n(current.data(), pixels * c, inputs.data() + b * pixels * c);
      curve.fraction.push_back(static_cast<double>(target) / static_cast<double>(pixels));
    }
    const Tensor probs = scorer(inputs);
    if (probs.rank() != 2 || probs.dim(0) != count || class_index >= probs.dim(1))
      throw Error("evaluate: the scorer returned " + to_string(probs.shape()));
    for (int64_t b = 0; b < count; ++b) curve.score.push_back(probs.at(b, class_index));
  }
  curve.auc = trapezoid_auc(curve.fraction, curve.score);
  return curve;
}

Tensor blur_input(const Tensor& input) {
  check_input(input);
  const std::vector<double> kernel = gaussian_kernel(11, 5.0);
  const int64_t h = input.dim(1), w = input.dim(2), c = input.dim(3);
  Tensor across(input.shape());
  Tensor out(input.shape());
  blur_axis(input.data(), across.data(), h, w, c, false, kernel);
  blur_axis(across.data(), out.data(), h, w, c, true, kernel);
  return out;
}

Tensor deletion_baseline(const Tensor& input) {
  check_input(input);
  Tensor zero(input.shape());
  std::fill(zero.values().begin(), zero.values().end(), 0.0f);
  return zero;
}

ConfidenceChange confidence_change(const BatchScorer& scorer, const Tensor& input,
                                   const Tensor& unit_map, int class_index) {
  check_input(input);
  const int64_t h = input.dim(1), w = input.dim(2), c = input.dim(3);
  if (unit_map.rank() != 2 || unit_map.dim(0) != h || unit_map.dim(1) != w)
    throw Error("evaluate: the map is not at the input's size");
  Tensor both({2, h, w, c});
  std::copy_n(input.data(), h * w * c, both.data());
  float* masked = both.data() + h * w * c;
  for (int64_t p = 0; p < h * w; ++p)
    for (int64_t k = 0; k < c; ++k)
      masked[p * c + k] = input.data()[p * c + k] * unit_map.data()[p];
  const Tensor probs = scorer(both);
  ConfidenceChange r;
  r.original = probs.at(0, class_index);
  r.masked = probs.at(1, class_index);
  r.drop = r.original > 0.0 ? 100.0 * std::max(0.0, r.original - r.masked) / r.original : 0.0;
  r.increase = r.masked > r.original;
  return r;
}

MapEvaluation evaluate_map(const BatchScorer& scorer, const Tensor& input, const Tensor& map,
                           int class_index, const PerturbationOptions& options) {
  check_input(input);
  const int64_t h = input.dim(1), w = input.dim(2);
  const std::vector<int64_t> order = rank_pixels(upsample_bilinear(map, h, w));
  MapEvaluation e;
  e.deletion =
      perturbation_curve(scorer, input, deletion_baseline(input), order, class_index, options);
  e.insertion = perturbation_curve(scorer, blur_input(input), input, order, class_index, options);
  const Tensor unit = upsample_bilinear(normalize_map(map, MapNorm::kMinMax), h, w);
  e.confidence = confidence_change(scorer, input, unit, class_index);
  return e;
}

Tensor random_map(int64_t h, int64_t w, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  Tensor map({h, w});
  for (float& v : map.values()) v = uniform(rng);
  return map;
}

Tensor center_map(int64_t h, int64_t w) {
  const double sigma = static_cast<double>(std::min(h, w)) / 4.0;
  const double cy = (static_cast<double>(h) - 1.0) / 2.0, cx = (static_cast<double>(w) - 1.0) / 2.0;
  Tensor map({h, w});
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      const double d2 = (y - cy) * (y - cy) + (x - cx) * (x - cx);
      map.data()[y * w + x] = static_cast<float>(std::exp(-d2 / (2.0 * sigma * sigma)));
    }
  }
  return map;
}

Tensor edges_map(const Tensor& input) {
  check_input(input);
  const int64_t h = input.dim(1), w = input.dim(2), c = input.dim(3);
  std::vector<double> grey(static_cast<size_t>(h * w), 0.0);
  for (int64_t p = 0; p < h * w; ++p) {
    for (int64_t k = 0; k < c; ++k) grey[static_cast<size_t>(p)] += input.data()[p * c + k];
    grey[static_cast<size_t>(p)] /= static_cast<double>(c);
  }
  const auto at = [&](int64_t y, int64_t x) {
    return grey[static_cast<size_t>(std::clamp(y, int64_t{0}, h - 1) * w +
                                    std::clamp(x, int64_t{0}, w - 1))];
  };
  Tensor map({h, w});
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      const double gx = (at(y - 1, x + 1) + 2.0 * at(y, x + 1) + at(y + 1, x + 1)) -
                        (at(y - 1, x - 1) + 2.0 * at(y, x - 1) + at(y + 1, x - 1));
      const double gy = (at(y + 1, x - 1) + 2.0 * at(y + 1, x) + at(y + 1, x + 1)) -
                        (at(y - 1, x - 1) + 2.0 * at(y - 1, x) + at(y - 1, x + 1));
      map.data()[y * w + x] = static_cast<float>(std::sqrt(gx * gx + gy * gy));
    }
  }
  return map;
}

const std::vector<BaselineMethod>& baseline_methods() {
  static const std::vector<BaselineMethod> table = {
      {"random", BaselineKind::kRandom,
       "a uniform random map on the layer's grid, seeded by the input's relative path, the "
       "layer and the class"},
      {"center", BaselineKind::kCenter,
       "a centred Gaussian, sigma = a quarter of the shorter side"},
      {"edges", BaselineKind::kEdges,
       "the Sobel gradient magnitude of the input (channel mean), at the input's size"},
  };
  return table;
}

const BaselineMethod* find_baseline(const std::string& name) {
  for (const BaselineMethod& b : baseline_methods())
    if (name == b.name) return &b;
  return nullptr;
}

}  // namespace gaze
