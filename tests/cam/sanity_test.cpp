// The model-randomization sanity check (cam/sanity.h): Spearman and SSIM against naive reference
// loops and hand-computed values; the cascade's counts, order, weights and determinism; and the
// issue's test on a real (small) model: randomizing the weights changes a Grad-CAM map and leaves
// the edge-detector baseline exactly unchanged.
#include "cam/sanity.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>
#include <vector>

#include "cam/evaluate.h"
#include "cam/explain.h"
#include "cam/methods.h"
#include "cam/model_input.h"
#include "cam/render.h"
#include "tensor/error.h"
#include "tensor/npy.h"
#include "tests/support/families.h"
#include "tests/support/fixtures.h"
#include "weights/model_io.h"

namespace gaze {
namespace {

Tensor map_of(int64_t h, int64_t w, const std::vector<float>& v) {
  return Tensor::from({h, w}, v);
}

// A ReLU'd random map: about half its cells are 0, a big tie.
Tensor relu_random(int64_t h, int64_t w, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Tensor m({h, w});
  for (float& v : m.values()) v = std::max(0.0f, normal(rng));
  return m;
}

// Spearman by the definition, O(n^2): rank = (number below) + (number equal + 1) / 2, then
// Pearson's formula with both means computed.
double naive_spearman(const Tensor& a, const Tensor& b) {
  const int64_t n = a.size();
  auto ranks = [n](const Tensor& t) {
    std::vector<double> r(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      double below = 0, equal = 0;
      for (int64_t j = 0; j < n; ++j) {
        below += t.data()[j] < t.data()[i];
        equal += t.data()[j] == t.data()[i];
      }
      r[static_cast<size_t>(i)] = below + (equal + 1.0) / 2.0;
    }
    return r;
  };
  const std::vector<double> ra = ranks(a), rb = ranks(b);
  double ma = 0, mb = 0;
  for (int64_t i = 0; i < n; ++i) ma += ra[i], mb += rb[i];
  ma /= n, mb /= n;
  double sab = 0, saa = 0, sbb = 0;
  for (int64_t i = 0; i < n; ++i) {
    sab += (ra[i] - ma) * (rb[i] - mb);
    saa += (ra[i] - ma) * (ra[i] - ma);
    sbb += (rb[i] - mb) * (rb[i] - mb);
  }
  return sab / std::sqrt(saa * sbb);
}

// SSIM by the definition: every 11x11 window inside the maps, the 2-D Gaussian weights
// g(i) g(j) / sum, weighted moments, the formula, the mean. Data range 1.
double naive_ssim(const Tensor& a, const Tensor& b) {
  const int64_t h = a.dim(0), w = a.dim(1);
  double g[11], gs = 0;
  for (int t = 0; t < 11; ++t) gs += g[t] = std::exp(-(t - 5.0) * (t - 5.0) / (2 * 1.5 * 1.5));
  const double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;
  double total = 0;
  int64_t windows = 0;
  for (int64_t y = 0; y + 11 <= h; ++y) {
    for (int64_t x = 0; x + 11 <= w; ++x) {
      double mx = 0, my = 0, sxx = 0, syy = 0, sxy = 0;
      for (int i = 0; i < 11; ++i) {
        for (int j = 0; j < 11; ++j) {
          const double wt = g[i] * g[j] / (gs * gs);
          const double u = a.data()[(y + i) * w + x + j], v = b.data()[(y + i) * w + x + j];
          mx += wt * u, my += wt * v, sxx += wt * u * u, syy += wt * v * v, sxy += wt * u * v;
        }
      }
      const double vx = sxx - mx * mx, vy = syy - my * my, cov = sxy - mx * my;
      total += ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
      ++windows;
    }
  }
  return total / static_cast<double>(windows);
}

TEST(SanitySpearman, IdenticalNegatedAndAHandComputedTie) {
  const Tensor a = relu_random(9, 7, 1);
  EXPECT_DOUBLE_EQ(spearman(a, a), 1.0);
  Tensor neg = a.clone();
  for (float& v : neg.values()) v = -v;
  EXPECT_NEAR(spearman(a, neg), -1.0, 1e-12);
  // x = [1 2 2 3], y = [1 3 2 4]: ranks [1 2.5 2.5 4] and [1 3 2 4], both of mean 2.5;
  // cov 4.5, var 4.5 and 5: rho = 4.5 / sqrt(22.5).
  EXPECT_NEAR(spearman(map_of(2, 2, {1, 2, 2, 3}), map_of(2, 2, {1, 3, 2, 4})),
              4.5 / std::sqrt(22.5), 1e-12);
  // A monotone transform changes no rank.
  Tensor exp = a.clone();
  for (float& v : exp.values()) v = std::exp(v);
  EXPECT_NEAR(spearman(a, exp), 1.0, 1e-12);
}

TEST(SanitySpearman, MatchesTheNaiveDefinitionOnReluMapsWithManyZeros) {
  for (uint64_t seed = 0; seed < 5; ++seed) {
    const Tensor a = relu_random(13, 11, seed), b = relu_random(13, 11, seed + 100);
    EXPECT_NEAR(spearman(a, b), naive_spearman(a, b), 1e-12) << seed;
  }
}

TEST(SanitySpearman, ConstantMapsAndBadShapes) {
  const Tensor zeros = map_of(2, 2, {0, 0, 0, 0});
  EXPECT_EQ(spearman(zeros, zeros), 1.0);
  EXPECT_EQ(spearman(zeros, map_of(2, 2, {0, 1, 0, 0})), 0.0);
  EXPECT_EQ(spearman(map_of(2, 2, {3, 3, 3, 3}), zeros), 0.0);
  EXPECT_THROW(spearman(zeros, map_of(1, 4, {0, 0, 0, 0})), Error);
  EXPECT_THROW(spearman(zeros, map_of(2, 2, {0, NAN, 0, 0})), Error);
}

TEST(SanitySsim, MatchesTheNaiveDefinition) {
  for (uint64_t seed = 0; seed < 3; ++seed) {
    Tensor a = relu_random(20, 17, seed), b = relu_random(20, 17, seed + 50);
    EXPECT_NEAR(ssim(a, b), naive_ssim(a, b), 1e-12) << seed;
    EXPECT_NEAR(ssim(a, a), 1.0, 1e-12);
  }
}

TEST(SanitySsim, ConstantMapsAndAConstantShift) {
  // Two constant maps a and b: every window has zero variances, so SSIM is the luminance term
  // (2ab + C1) / (a^2 + b^2 + C1).
  Tensor a({12, 12}), b({12, 12});
  for (float& v : a.values()) v = 0.25f;
  for (float& v : b.values()) v = 0.75f;
  const double c1 = 1e-4;
  EXPECT_NEAR(ssim(a, b), (2 * 0.25 * 0.75 + c1) / (0.25 * 0.25 + 0.75 * 0.75 + c1), 1e-12);
  // A shift keeps variance and covariance: only the luminance term falls below 1.
  const Tensor x = relu_random(16, 16, 3);
  Tensor shifted = x.clone();
  for (float& v : shifted.values()) v += 0.5f;
  const double s = ssim(x, shifted);
  EXPECT_LT(s, 1.0);
  EXPECT_NEAR(s, naive_ssim(x, shifted), 1e-12);
  // ... and the min-max normalization of map_ssim undoes a shift and a positive scale exactly.
  Tensor affine = x.clone();
  for (float& v : affine.values()) v = 4.0f * v + 2.0f;
  EXPECT_NEAR(map_ssim(x, affine), 1.0, 1e-6);
}

TEST(SanitySsim, SmallMapsTakeOneWindowOfTheirSize) {
  // 3x3 maps: one window, the Gaussian cropped to 3 taps, so the weights are g(-1), g(0), g(1)
  // normalized; a constant pair reduces to the luminance term again.
  Tensor a({3, 3}), b({3, 3});
  for (float& v : a.values()) v = 0.5f;
  for (float& v : b.values()) v = 0.0f;
  const double c1 = 1e-4;
  EXPECT_NEAR(ssim(a, b), c1 / (0.25 + c1), 1e-12);
}

TEST(SanityCascade, CountsAreEvenlySpacedAndEndAtEveryLayer) {
  EXPECT_EQ(cascade_counts(95, 8), (std::vector<int>{12, 24, 36, 48, 59, 71, 83, 95}));
  EXPECT_EQ(cascade_counts(10, 3), (std::vector<int>{3, 7, 10}));
  EXPECT_EQ(cascade_counts(5, 8), (std::vector<int>{1, 2, 3, 4, 5}));
  EXPECT_EQ(cascade_counts(5, 0), (std::vector<int>{1, 2, 3, 4, 5}));
  EXPECT_EQ(cascade_counts(1, 1), (std::vector<int>{1}));
  EXPECT_TRUE(cascade_counts(0, 3).empty());
}

TEST(SanityCascade, RandomWeightsKeepTheMomentsAndAreSeeded) {
  Weight w{"kernel", {64, 64}, Tensor({64, 64})};
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<float> uniform(-0.3f, 0.5f);  // mean 0.1, std 0.8 / sqrt(12)
  for (float& v : w.value.values()) v = uniform(rng);
  const Tensor r = randomized_weight(w, "conv", 1);
  double mean = 0, sq = 0;
  for (float v : r.values()) mean += v;
  mean /= r.size();
  for (float v : r.values()) sq += (v - mean) * (v - mean);
  EXPECT_NEAR(mean, 0.1, 0.01);
  EXPECT_NEAR(std::sqrt(sq / r.size()), 0.8 / std::sqrt(12.0), 0.01);
  EXPECT_EQ(r.shape(), w.value.shape());
  const Tensor again = randomized_weight(w, "conv", 1);
  EXPECT_TRUE(std::equal(r.values().begin(), r.values().end(), again.values().begin()));
  for (const Tensor& other : {randomized_weight(w, "conv", 2), randomized_weight(w, "conv2", 1)})
    EXPECT_FALSE(std::equal(r.values().begin(), r.values().end(), other.values().begin()));
  Weight bias{"bias", {8}, Tensor({8})};
  for (float& v : bias.value.values()) v = 0.0f;
  const Tensor zero_bias = randomized_weight(bias, "conv", 1);
  for (float v : zero_bias.values()) EXPECT_EQ(v, 0.0f);
}

std::string sequential_cnn() {
  return testing::fixture_path("families/sequential_cnn/model.keras");
}

Tensor photo() {
  return testing::batch_of(read_npy(testing::fixture_path("families/inputs/photo_255.npy")));
}

bool same_values(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() &&
         std::equal(a.values().begin(), a.values().end(), b.values().begin());
}

TEST(SanityCascade, RandomizesTheTopLayersOnlyAndResets) {
  const LoadedModel original = load_model(sequential_cnn());
  const std::vector<size_t> order = randomization_order(original.model);
  std::vector<std::string> names;
  for (size_t i : order) names.push_back(original.model.layer(i).name());
  EXPECT_EQ(names, (std::vector<std::string>{"dense_1", "dense", "conv2d_3", "conv2d_2", "conv2d_1",
                                             "conv2d"}));
  RandomizationCascade cascade(load_model(sequential_cnn()).model, 5, 3);
  EXPECT_EQ(cascade.counts(), (std::vector<int>{2, 4, 6}));
  EXPECT_EQ(cascade.reached(0), "dense");
  EXPECT_EQ(cascade.reached(2), "conv2d");
  for (size_t step : {size_t{1}, size_t{0}, size_t{2}}) {  // forwards, back and forwards again
    const Model& m = cascade.at(step);
    for (size_t e = 0; e < order.size(); ++e) {
      const std::vector<Weight>& got = m.layer(order[e]).weights();
      const std::vector<Weight>& had = original.model.layer(order[e]).weights();
      const bool random = static_cast<int>(e) < cascade.counts()[step];
      SCOPED_TRACE(names[e] + " at step " + std::to_string(step));
      EXPECT_EQ(same_values(got[0].value, had[0].value), !random);  // the kernel
    }
  }
  cascade.reset();
  for (size_t i = 0; i < original.model.size(); ++i) {
    const std::vector<Weight>& got = cascade.model().layer(i).weights();
    const std::vector<Weight>& had = original.model.layer(i).weights();
    ASSERT_EQ(got.size(), had.size());
    for (size_t k = 0; k < got.size(); ++k)
      EXPECT_TRUE(same_values(got[k].value, had[k].value)) << original.model.layer(i).name();
  }
}

TEST(SanityEdges, IsTheSobelMagnitudeOfTheChannelMean) {
  // 6x6, 3 channels (0, 0, 3 * v): the channel mean is v, 0 on the left half and 1 on the right.
  Tensor input({1, 6, 6, 3});
  for (int64_t y = 0; y < 6; ++y)
    for (int64_t x = 0; x < 6; ++x)
      for (int64_t c = 0; c < 3; ++c) input.at(0, y, x, c) = c == 2 && x >= 3 ? 3.0f : 0.0f;
  const Tensor e = edges_map(input);
  ASSERT_EQ(e.shape(), (Shape{6, 6}));
  for (int64_t y = 0; y < 6; ++y) {
    for (int64_t x = 0; x < 6; ++x) {
      // Columns 2 and 3 straddle the step: gx = (1 + 2 + 1) * (1 - 0) = 4, gy = 0 (rows repeated
      // at the border keep it 0); elsewhere the 3x3 neighbourhood is flat.
      const float want = x == 2 || x == 3 ? 4.0f : 0.0f;
      EXPECT_FLOAT_EQ(e.at(y, x), want) << y << "," << x;
    }
  }
  EXPECT_NE(find_baseline("edges"), nullptr);
  EXPECT_EQ(find_baseline("nosuch"), nullptr);
}

// Grad-CAM and edges maps at the default layer after the whole cascade, at the input's size.
struct Maps {
  Tensor gradcam, edges;
};
Maps maps_of(const Model& model, const Tensor& input, int k) {
  const std::string layer = model.layer(default_cam_layer(model)).name();
  CamSession session(model, input, {layer}, true);
  CamOptions options;
  const int64_t h = input.dim(1), w = input.dim(2);
  return {upsample_bilinear(relu_map(session.map(layer, k, options)), h, w), edges_map(input)};
}

int top_class(const Model& model, const Tensor& input) {
  const Tensor probs = model.forward(input).output.value();
  int best = 0;
  for (int64_t i = 1; i < probs.size(); ++i)
    if (probs.data()[i] > probs.data()[best]) best = static_cast<int>(i);
  return best;
}

TEST(SanityCheck, RandomizingTheWeightsChangesGradCamAndLeavesEdgesUnchanged) {
  const LoadedModel original = load_model(sequential_cnn());
  const Tensor input = photo();
  const int k = top_class(original.model, input);
  const Maps before = maps_of(original.model, input, k);
  RandomizationCascade cascade(load_model(sequential_cnn()).model, 1, 0);
  const size_t last = cascade.counts().size() - 1;
  const Maps after = maps_of(cascade.at(last), input, k);
  const double rho = spearman(before.gradcam, after.gradcam);
  std::printf("Grad-CAM after the full cascade: Spearman %.4f, SSIM %.4f\n", rho,
              map_ssim(before.gradcam, after.gradcam));
  EXPECT_LT(rho, 0.5);
  EXPECT_EQ(spearman(before.edges, after.edges), 1.0);
  EXPECT_EQ(map_ssim(before.edges, after.edges), 1.0);
  // The original model is untouched: its map is the same as before the cascade ran.
  const Maps again = maps_of(original.model, input, k);
  EXPECT_TRUE(same_values(before.gradcam, again.gradcam));
  // Undone, the cascade gives the original map back.
  cascade.reset();
  EXPECT_TRUE(same_values(maps_of(cascade.at(last), input, k).gradcam, after.gradcam));
}

// compare_under_cascade against the maps drawn step by step by hand (maps_of), and the cascade
// reset afterwards, also when a map throws half-way.
TEST(SanityCheck, CompareUnderCascadeIsTheStepByStepComparisonAndResets) {
  const LoadedModel original = load_model(sequential_cnn());
  const Tensor input = photo();
  const int k = top_class(original.model, input);
  const Maps before = maps_of(original.model, input, k);
  const std::string layer = original.model.layer(default_cam_layer(original.model)).name();
  RandomizationCascade cascade(load_model(sequential_cnn()).model, 1, 3);
  const auto map_of = [&](CamSession& session, size_t i) {
    return i == 0 ? relu_map(session.map(layer, k, CamOptions{})) : edges_map(input);
  };
  const CascadeScores scores =
      compare_under_cascade(cascade, input, {layer}, true, {before.gradcam, before.edges}, map_of);
  ASSERT_EQ(scores.spearman.size(), 2u);
  ASSERT_EQ(scores.spearman[0].size(), cascade.counts().size());
  for (size_t step = 0; step < cascade.counts().size(); ++step) {
    const Maps after = maps_of(cascade.at(step), input, k);
    EXPECT_EQ(scores.spearman[0][step], spearman(before.gradcam, after.gradcam)) << step;
    EXPECT_EQ(scores.ssim[0][step], map_ssim(before.gradcam, after.gradcam)) << step;
    EXPECT_EQ(scores.spearman[1][step], 1.0) << step;
    EXPECT_EQ(scores.ssim[1][step], 1.0) << step;
  }
  EXPECT_LT(scores.spearman[0].back(), 0.5);
  cascade.at(2);  // left randomized by the loop above: the call below must reset it
  EXPECT_THROW(compare_under_cascade(cascade, input, {layer}, true, {before.gradcam},
                                     [](CamSession&, size_t) -> Tensor { throw Error("boom"); }),
               Error);
  EXPECT_TRUE(same_values(maps_of(cascade.model(), input, k).gradcam, before.gradcam));
}

TEST(SanityCheck, TheSeedDecidesTheRandomModel) {
  const Tensor input = photo();
  const LoadedModel original = load_model(sequential_cnn());
  const int k = top_class(original.model, input);
  RandomizationCascade a(load_model(sequential_cnn()).model, 42, 2);
  RandomizationCascade b(load_model(sequential_cnn()).model, 42, 2);
  RandomizationCascade c(load_model(sequential_cnn()).model, 43, 2);
  for (size_t step = 0; step < a.counts().size(); ++step) {
    const Tensor ma = maps_of(a.at(step), input, k).gradcam;
    EXPECT_TRUE(same_values(ma, maps_of(b.at(step), input, k).gradcam)) << step;
    EXPECT_FALSE(same_values(ma, maps_of(c.at(step), input, k).gradcam)) << step;
  }
}

// The nsfwjs InceptionV3 (models/, when present), two photos, a 4-step cascade: Grad-CAM at mixed10
// forgets the model (mean Spearman over the steps below 0.5), guided backpropagation does not
// (above 0.5), as docs/sanity.md reports for 8 photos and 8 steps. About 3 s.
TEST(SanityCheck, OnInceptionV3GradCamForgetsTheModelAndGuidedBackpropDoesNot) {
  const std::string path = testing::model_path("nsfwjs_inception_v3.h5");
  if (!std::ifstream(path)) GAZE_CANNOT_RUN(path << " is absent (tools/fetch_models.sh)");
  const LoadedModel original = load_model(path);
  RandomizationCascade cascade(load_model(path).model, 1, 4);
  ASSERT_EQ(cascade.counts(), (std::vector<int>{24, 49, 73, 97}));
  double gradcam = 0, guided = 0;
  int n = 0;
  for (const char* photo : {"images/chelsea.jpg", "images/coffee.jpg"}) {
    const Tensor input =
        load_model_input(testing::fixture_path(photo), original.model, Preprocessing::kNsfwjs)
            .tensor;
    const int k = top_class(original.model, input);
    // Map 0 Grad-CAM, map 1 guided backpropagation's channel sum of |d score / d input|,
    // written out here as its definition says.
    const auto map_of = [&](CamSession& session, size_t i) {
      if (i == 0) return relu_map(session.map("mixed10", k, CamOptions{}));
      const Tensor g = session.guided_gradients(k, ScoreKind::kLogit);
      Tensor sum({g.dim(1), g.dim(2)});
      for (int64_t px = 0; px < sum.size(); ++px) {
        double total = 0;
        for (int64_t c = 0; c < g.dim(3); ++c) total += std::abs(g.data()[px * g.dim(3) + c]);
        sum.data()[px] = static_cast<float>(total);
      }
      EXPECT_TRUE(same_values(sum, guided_saliency(g)));
      return sum;
    };
    std::vector<Tensor> originals;
    {
      CamSession session(original.model, input, {"mixed10"}, true);
      for (size_t i = 0; i < 2; ++i)
        originals.push_back(upsample_bilinear(map_of(session, i), 299, 299));
    }
    const CascadeScores scores =
        compare_under_cascade(cascade, input, {"mixed10"}, true, originals, map_of);
    for (size_t step = 0; step < cascade.counts().size(); ++step) {
      gradcam += scores.spearman[0][step];
      guided += scores.spearman[1][step];
      ++n;
    }
  }
  std::printf("mean Spearman over 2 photos x 4 steps: gradcam %.3f, guided-backprop %.3f\n",
              gradcam / n, guided / n);
  EXPECT_LT(gradcam / n, kSanityFlagSpearman);
  EXPECT_GT(guided / n, kSanityFlagSpearman);
}

TEST(SanityCurves, MeansPerMethodAndLayerAndTheFlag) {
  const std::vector<SanityComparison> comparisons = {
      {"gradcam", "L", 0, 0.8, 0.6}, {"gradcam", "L", 1, 0.2, 0.3}, {"edges", "L", 0, 1, 1},
      {"edges", "L", 1, 1, 1},       {"gradcam", "L", 0, 0.6, 0.4}, {"gradcam", "L", 1, 0.4, 0.1},
  };
  const std::vector<SanityCurve> curves = sanity_curves(comparisons, {3, 6}, {"a", "b"});
  ASSERT_EQ(curves.size(), 2u);
  EXPECT_EQ(curves[0].method, "gradcam");
  EXPECT_EQ(curves[0].inputs, 2);
  EXPECT_NEAR(curves[0].spearman[0], 0.7, 1e-12);
  EXPECT_NEAR(curves[0].spearman[1], 0.3, 1e-12);
  EXPECT_NEAR(curves[0].ssim[1], 0.2, 1e-12);
  EXPECT_NEAR(curves[0].mean_spearman, 0.5, 1e-12);  // (0.7 + 0.3) / 2: not above 0.5
  EXPECT_NEAR(curves[0].mean_ssim, 0.35, 1e-12);
  EXPECT_FALSE(curves[0].flagged);
  EXPECT_EQ(curves[1].method, "edges");
  EXPECT_EQ(curves[1].inputs, 1);
  EXPECT_TRUE(curves[1].flagged);
  EXPECT_EQ(curves[1].randomized, (std::vector<int>{3, 6}));
  EXPECT_EQ(curves[1].reached, (std::vector<std::string>{"a", "b"}));
  EXPECT_THROW(sanity_curves({{"x", "L", 2, 1, 1}}, {3, 6}, {"a", "b"}), Error);
}

}  // namespace
}  // namespace gaze
