#include "cam/sanity.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <span>

#include "cam/render.h"
#include "tensor/error.h"
#include "tensor/hash.h"

namespace gaze {

namespace {

bool is_kernel(const std::string& name) {
  return name == "kernel" || name == "depthwise_kernel" || name == "pointwise_kernel";
}

// Keras' trainable weights of the layers the cascade touches; the batch normalization's
// moving statistics are not.
bool is_trainable(const std::string& name) {
  return name != "moving_mean" && name != "moving_variance";
}

// Average ranks (1-based) of `v`, ties sharing the mean of their positions.
std::vector<double> average_ranks(std::span<const float> v) {
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&v](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> ranks(v.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    const double rank = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
    for (size_t k = i; k <= j; ++k) ranks[order[k]] = rank;
    i = j + 1;
  }
  return ranks;
}

bool is_constant(std::span<const float> v) {
  return std::all_of(v.begin(), v.end(), [&v](float x) { return x == v[0]; });
}

void check_pair(const Tensor& a, const Tensor& b, const char* what) {
  if (a.shape() != b.shape() || a.size() == 0)
    throw Error(std::string(what) + ": the maps differ in shape or are empty (" +
                to_string(a.shape()) + " and " + to_string(b.shape()) + ")");
  for (const Tensor* t : {&a, &b})
    for (float x : t->values())
      if (!std::isfinite(x)) throw Error(std::string(what) + ": a map holds a NaN or infinity");
}

// 'valid' separable filtering of an [h, w] image: [h - kh + 1, w - kw + 1].
std::vector<double> filter_valid(const std::vector<double>& img, int64_t h, int64_t w,
                                 const std::vector<double>& ky, const std::vector<double>& kx) {
  const int64_t kh = static_cast<int64_t>(ky.size()), kw = static_cast<int64_t>(kx.size());
  const int64_t oh = h - kh + 1, ow = w - kw + 1;
  std::vector<double> across(static_cast<size_t>(h * ow));
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < ow; ++x) {
      double s = 0.0;
      for (int64_t t = 0; t < kw; ++t) s += kx[static_cast<size_t>(t)] * img[y * w + x + t];
      across[y * ow + x] = s;
    }
  std::vector<double> out(static_cast<size_t>(oh * ow));
  for (int64_t y = 0; y < oh; ++y)
    for (int64_t x = 0; x < ow; ++x) {
      double s = 0.0;
      for (int64_t t = 0; t < kh; ++t) s += ky[static_cast<size_t>(t)] * across[(y + t) * ow + x];
      out[y * ow + x] = s;
    }
  return out;
}

}  // namespace

std::vector<size_t> randomization_order(const Model& model) {
  std::vector<size_t> order;
  for (size_t i = model.size(); i-- > 0;) {
    if (model.weights_owner(i) != i) continue;
    const std::vector<Weight>& w = model.layer(i).weights();
    if (std::any_of(w.begin(), w.end(), [](const Weight& x) { return is_kernel(x.name); }))
      order.push_back(i);
  }
  return order;
}

std::vector<int> cascade_counts(int layers, int steps) {
  std::vector<int> counts;
  if (layers <= 0) return counts;
  if (steps <= 0 || steps >= layers) steps = layers;
  for (int j = 1; j <= steps; ++j) {
    const int c = static_cast<int>(std::lround(static_cast<double>(j) * layers / steps));
    if (c >= 1 && (counts.empty() || c > counts.back())) counts.push_back(c);
  }
  if (counts.back() != layers) counts.push_back(layers);
  return counts;
}

Tensor randomized_weight(const Weight& w, const std::string& layer_name, uint64_t seed) {
  const std::span<const float> v = w.value.values();
  double mean = 0.0;
  for (float x : v) mean += x;
  mean /= static_cast<double>(std::max<size_t>(v.size(), 1));
  double sq = 0.0;
  for (float x : v) sq += (x - mean) * (x - mean);
  const double sd = std::sqrt(sq / static_cast<double>(std::max<size_t>(v.size(), 1)));
  Tensor out(w.value.shape());
  if (sd == 0.0) {
    std::fill(out.values().begin(), out.values().end(), static_cast<float>(mean));
    return out;
  }
  std::mt19937_64 rng(seed ^ stable_hash(layer_name + "/" + w.name));
  std::normal_distribution<double> normal(mean, sd);
  for (float& x : out.values()) x = static_cast<float>(normal(rng));
  return out;
}

RandomizationCascade::RandomizationCascade(Model model, uint64_t seed, int steps)
    : model_(std::move(model)), seed_(seed), order_(randomization_order(model_)) {
  counts_ = cascade_counts(static_cast<int>(order_.size()), steps);
  if (counts_.empty()) throw Error("--sanity: the model has no layer with a kernel to randomize");
  original_.resize(order_.size());
  random_.resize(order_.size());
}

std::string RandomizationCascade::reached(size_t step) const {
  return model_.layer(order_.at(static_cast<size_t>(counts_.at(step) - 1))).name();
}

void RandomizationCascade::set_randomized(int count) {
  if (count == randomized_) return;
  for (int e = std::min(count, randomized_); e < std::max(count, randomized_); ++e) {
    const size_t i = order_[static_cast<size_t>(e)];
    Layer& layer = model_.layer(i);  // invalidates the compiled plans
    std::vector<Weight>& weights = layer.weights();
    std::vector<Tensor>& original = original_[static_cast<size_t>(e)];
    std::vector<Tensor>& random = random_[static_cast<size_t>(e)];
    if (original.empty()) {
      for (const Weight& w : weights) {
        original.push_back(w.value);  // shares the loaded storage: no copy
        random.push_back(is_trainable(w.name) ? randomized_weight(w, layer.name(), seed_)
                                              : w.value);
      }
    }
    const bool randomize = e >= randomized_;  // growing the cascade, else undoing it
    for (size_t k = 0; k < weights.size(); ++k)
      weights[k].value = randomize ? random[k] : original[k];
  }
  randomized_ = count;
  model_.tie_shared_weights();
}

const Model& RandomizationCascade::at(size_t step) {
  set_randomized(counts_.at(step));
  return model_;
}

void RandomizationCascade::reset() {
  set_randomized(0);
}

double spearman(const Tensor& a, const Tensor& b) {
  check_pair(a, b, "spearman");
  const std::span<const float> va = a.values(), vb = b.values();
  if (is_constant(va) || is_constant(vb)) return std::equal(va.begin(), va.end(), vb.begin());
  const std::vector<double> ra = average_ranks(va), rb = average_ranks(vb);
  // Both rank vectors have mean (n + 1) / 2.
  const double mean = (static_cast<double>(ra.size()) + 1.0) / 2.0;
  double cov = 0.0, var_a = 0.0, var_b = 0.0;
  for (size_t i = 0; i < ra.size(); ++i) {
    const double da = ra[i] - mean, db = rb[i] - mean;
    cov += da * db;
    var_a += da * da;
    var_b += db * db;
  }
  return cov / std::sqrt(var_a * var_b);
}

double ssim(const Tensor& a, const Tensor& b, double data_range) {
  check_pair(a, b, "ssim");
  if (a.rank() != 2) throw Error("ssim: the maps must be [h, w], got " + to_string(a.shape()));
  const int64_t h = a.dim(0), w = a.dim(1);
  const std::vector<double> ky = gaussian_kernel(std::min<int64_t>(11, h), 1.5);
  const std::vector<double> kx = gaussian_kernel(std::min<int64_t>(11, w), 1.5);
  std::vector<double> x(a.values().begin(), a.values().end());
  std::vector<double> y(b.values().begin(), b.values().end());
  std::vector<double> xx(x.size()), yy(x.size()), xy(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    xx[i] = x[i] * x[i];
    yy[i] = y[i] * y[i];
    xy[i] = x[i] * y[i];
  }
  const std::vector<double> mx = filter_valid(x, h, w, ky, kx), my = filter_valid(y, h, w, ky, kx);
  const std::vector<double> mxx = filter_valid(xx, h, w, ky, kx);
  const std::vector<double> myy = filter_valid(yy, h, w, ky, kx);
  const std::vector<double> mxy = filter_valid(xy, h, w, ky, kx);
  const double c1 = (0.01 * data_range) * (0.01 * data_range);
  const double c2 = (0.03 * data_range) * (0.03 * data_range);
  double total = 0.0;
  for (size_t i = 0; i < mx.size(); ++i) {
    const double var_x = mxx[i] - mx[i] * mx[i], var_y = myy[i] - my[i] * my[i];
    const double cov = mxy[i] - mx[i] * my[i];
    total += ((2.0 * mx[i] * my[i] + c1) * (2.0 * cov + c2)) /
             ((mx[i] * mx[i] + my[i] * my[i] + c1) * (var_x + var_y + c2));
  }
  return total / static_cast<double>(mx.size());
}

double map_ssim(const Tensor& a, const Tensor& b) {
  return ssim(normalize_map(a, MapNorm::kMinMax), normalize_map(b, MapNorm::kMinMax), 1.0);
}

CascadeScores compare_under_cascade(RandomizationCascade& cascade, const Tensor& input,
                                    const std::vector<std::string>& layers, bool gradients,
                                    const std::vector<Tensor>& originals,
                                    const SanityMapFn& map_of) {
  struct ResetAtExit {
    RandomizationCascade& cascade;
    ~ResetAtExit() { cascade.reset(); }
  } reset_at_exit{cascade};
  const int64_t h = input.dim(1), w = input.dim(2);
  CascadeScores scores;
  scores.spearman.resize(originals.size());
  scores.ssim.resize(originals.size());
  for (size_t step = 0; step < cascade.counts().size(); ++step) {
    CamSession session(cascade.at(step), input, layers, gradients);
    for (size_t i = 0; i < originals.size(); ++i) {
      const Tensor map = upsample_bilinear(map_of(session, i), h, w);
      scores.spearman[i].push_back(spearman(originals[i], map));
      scores.ssim[i].push_back(map_ssim(originals[i], map));
    }
  }
  return scores;
}

std::vector<SanityCurve> sanity_curves(const std::vector<SanityComparison>& comparisons,
                                       const std::vector<int>& counts,
                                       const std::vector<std::string>& reached) {
  std::vector<SanityCurve> curves;
  std::map<std::pair<std::string, std::string>, size_t> index;
  std::vector<std::vector<int>> n;  // comparisons per curve and step
  for (const SanityComparison& c : comparisons) {
    if (c.step >= counts.size()) throw Error("sanity_curves: a comparison past the cascade");
    auto [it, fresh] = index.try_emplace({c.method, c.layer}, curves.size());
    if (fresh) {
      SanityCurve curve;
      curve.method = c.method;
      curve.layer = c.layer;
      curve.randomized = counts;
      curve.reached = reached;
      curve.spearman.assign(counts.size(), 0.0);
      curve.ssim.assign(counts.size(), 0.0);
      curves.push_back(std::move(curve));
      n.emplace_back(counts.size(), 0);
    }
    SanityCurve& curve = curves[it->second];
    curve.spearman[c.step] += c.spearman;
    curve.ssim[c.step] += c.ssim;
    ++n[it->second][c.step];
  }
  for (size_t k = 0; k < curves.size(); ++k) {
    SanityCurve& curve = curves[k];
    for (size_t s = 0; s < counts.size(); ++s) {
      const int m = n[k][s];
      curve.spearman[s] = m > 0 ? curve.spearman[s] / m : std::nan("");
      curve.ssim[s] = m > 0 ? curve.ssim[s] / m : std::nan("");
    }
    curve.inputs = *std::max_element(n[k].begin(), n[k].end());
    for (size_t s = 0; s < counts.size(); ++s) {
      curve.mean_spearman += curve.spearman[s] / static_cast<double>(counts.size());
      curve.mean_ssim += curve.ssim[s] / static_cast<double>(counts.size());
    }
    curve.flagged = curve.mean_spearman > kSanityFlagSpearman;
  }
  return curves;
}

}  // namespace gaze
