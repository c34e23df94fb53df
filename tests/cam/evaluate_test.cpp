// The faithfulness metrics (cam/evaluate.h) against what they must give by construction: a
// synthetic scorer whose class probability is the mean of a known square of the image, so an
// oracle map, an anti-oracle map and a random map have AUCs known in closed form; and the pieces
// (ranking and its tie order, the step counts, the trapezoid rule, the blur) against naive loops.
#include "cam/evaluate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "tensor/error.h"

namespace gaze {
namespace {

constexpr int64_t kSize = 16;  // a 16x16x1 image
// The square R: rows and columns 4..11, 64 of the 256 pixels.
bool in_region(int64_t p) {
  const int64_t y = p / kSize, x = p % kSize;
  return y >= 4 && y < 12 && x >= 4 && x < 12;
}

// Class 0's "probability": the mean of R's pixels; class 1: one minus it. Counts the batches.
struct RegionScorer {
  int* calls = nullptr;
  int64_t* largest_batch = nullptr;
  Tensor operator()(const Tensor& batch) const {
    if (calls) ++*calls;
    if (largest_batch) *largest_batch = std::max(*largest_batch, batch.dim(0));
    Tensor probs({batch.dim(0), 2});
    for (int64_t b = 0; b < batch.dim(0); ++b) {
      double sum = 0.0;
      for (int64_t p = 0; p < kSize * kSize; ++p)
        if (in_region(p)) sum += batch.data()[b * kSize * kSize + p];
      probs.at(b, 0) = static_cast<float>(sum / 64.0);
      probs.at(b, 1) = 1.0f - probs.at(b, 0);
    }
    return probs;
  }
};

Tensor filled(float value) {
  Tensor t({1, kSize, kSize, 1});
  for (float& v : t.values()) v = value;
  return t;
}

// 1 on R, 0 elsewhere, at the input's size.
Tensor oracle_map() {
  Tensor m({kSize, kSize});
  for (int64_t p = 0; p < kSize * kSize; ++p) m.data()[p] = in_region(p) ? 1.0f : 0.0f;
  return m;
}

PerturbationOptions steps(int n, int batch = 8) {
  PerturbationOptions o;
  o.steps = n;
  o.batch = batch;
  return o;
}

TEST(EvaluateRanking, MostSalientFirstTiesByIncreasingIndex) {
  const Tensor m = Tensor::from({1, 6}, {0.5f, 1.0f, 0.5f, 1.0f, 0.0f, 0.5f});
  EXPECT_EQ(rank_pixels(m), (std::vector<int64_t>{1, 3, 0, 2, 5, 4}));
  const Tensor flat = Tensor::from({2, 2}, {0.0f, 0.0f, 0.0f, 0.0f});
  EXPECT_EQ(rank_pixels(flat), (std::vector<int64_t>{0, 1, 2, 3}));
  const Tensor bad = Tensor::from({1, 2}, {1.0f, std::nanf("")});
  EXPECT_THROW(rank_pixels(bad), Error);
}

TEST(EvaluateSteps, FloorOfTheShareAndTheTrapezoidRule) {
  EXPECT_EQ(pixels_at_step(0, 3, 10), 0);
  EXPECT_EQ(pixels_at_step(1, 3, 10), 3);
  EXPECT_EQ(pixels_at_step(2, 3, 10), 6);
  EXPECT_EQ(pixels_at_step(3, 3, 10), 10);
  EXPECT_DOUBLE_EQ(trapezoid_auc({0.0, 0.5, 1.0}, {0.0, 1.0, 0.0}), 0.5);
  // Uneven x: 0.1 * (1 + 1) / 2 + 0.9 * (1 + 0) / 2
  EXPECT_DOUBLE_EQ(trapezoid_auc({0.0, 0.1, 1.0}, {1.0, 1.0, 0.0}), 0.1 + 0.45);
  EXPECT_THROW(trapezoid_auc({0.0}, {0.0, 1.0}), Error);
}

// Oracle deletion: R goes first, 16 pixels a step, so the score falls linearly from 1 at x = 0 to
// 0 at x = 1/4 and stays there: AUC = 1/8. The anti-oracle (R last): 1 until x = 3/4, then down
// to 0 at x = 1: AUC = 3/4 + 1/8. Insertion from black is 1 minus those.
TEST(EvaluateOracle, DeletionAndInsertionAucsInClosedForm) {
  const RegionScorer scorer;
  const std::vector<int64_t> oracle = rank_pixels(oracle_map());
  std::vector<int64_t> anti(oracle.rbegin(), oracle.rend());
  const Curve del = perturbation_curve(scorer, filled(1), filled(0), oracle, 0, steps(16));
  ASSERT_EQ(del.score.size(), 17u);
  EXPECT_DOUBLE_EQ(del.fraction.front(), 0.0);
  EXPECT_DOUBLE_EQ(del.fraction.back(), 1.0);
  EXPECT_NEAR(del.auc, 0.125, 1e-7);
  EXPECT_NEAR(del.score[2], 0.5, 1e-7);
  EXPECT_NEAR(perturbation_curve(scorer, filled(1), filled(0), anti, 0, steps(16)).auc, 0.875,
              1e-7);
  EXPECT_NEAR(perturbation_curve(scorer, filled(0), filled(1), oracle, 0, steps(16)).auc, 0.875,
              1e-7);
  EXPECT_NEAR(perturbation_curve(scorer, filled(0), filled(1), anti, 0, steps(16)).auc, 0.125,
              1e-7);
  // The other class sees the opposite curve.
  EXPECT_NEAR(perturbation_curve(scorer, filled(1), filled(0), oracle, 1, steps(16)).auc, 0.875,
              1e-7);
}

// A map at a quarter of the resolution (4x4, the centre 2x2 hot), upsampled: R's pixels all rank
// above the rest (>= 0.625^2 against <= 0.375), so it is the oracle. On a flat image the blur
// changes nothing (edges repeated), so insertion is 1 throughout. Masked by the upsampled map,
// R's rows and columns are weighted 0.625, 0.875, 1, 1, 1, 1, 0.875, 0.625 (mean 7/8), so the
// score is (7/8)^2 and the drop 100 * (1 - 49/64).
TEST(EvaluateOracle, EvaluateMapUpsamplesTheMapAndBlursTheStart) {
  const RegionScorer scorer;
  Tensor coarse({4, 4});
  for (int64_t y = 0; y < 4; ++y)
    for (int64_t x = 0; x < 4; ++x)
      coarse.at(y, x) = (y == 1 || y == 2) && (x == 1 || x == 2) ? 1.0f : 0.0f;
  const MapEvaluation e = evaluate_map(scorer, filled(1), coarse, 0, steps(16));
  EXPECT_NEAR(e.deletion.auc, 0.125, 1e-7);
  EXPECT_NEAR(e.insertion.auc, 1.0, 1e-6);
  EXPECT_NEAR(e.confidence.original, 1.0, 1e-7);
  EXPECT_NEAR(e.confidence.masked, 49.0 / 64.0, 1e-6);
  EXPECT_NEAR(e.confidence.drop, 100.0 * 15.0 / 64.0, 1e-4);
  EXPECT_FALSE(e.confidence.increase);
  // The inverted map ranks R last and keeps 1 - 49/64 of it.
  Tensor inverted({4, 4});
  for (int64_t i = 0; i < 16; ++i) inverted.data()[i] = 1.0f - coarse.data()[i];
  const MapEvaluation bad = evaluate_map(scorer, filled(1), inverted, 0, steps(16));
  EXPECT_NEAR(bad.deletion.auc, 0.875, 1e-7);
  EXPECT_NEAR(bad.confidence.drop, 100.0 * 49.0 / 64.0, 1e-4);
  EXPECT_FALSE(bad.confidence.increase);
}

// A random map: its deletion AUC is the trapezoid of 1 - |R within the first count_i| / 64 (a
// naive count here), and 1/2 in expectation, since E[|R within k random pixels|] = 64 k / 256.
TEST(EvaluateRandom, AucIsTheNaiveCountAndOneHalfOnAverage) {
  const RegionScorer scorer;
  double sum = 0.0;
  const int seeds = 200;
  for (int seed = 0; seed < seeds; ++seed) {
    const Tensor map = random_map(kSize, kSize, static_cast<uint64_t>(seed));
    const std::vector<int64_t> order = rank_pixels(map);
    const Curve c = perturbation_curve(scorer, filled(1), filled(0), order, 0, steps(16));
    std::vector<double> x, y;
    for (int i = 0; i <= 16; ++i) {
      int hits = 0;
      for (int j = 0; j < 16 * i; ++j) hits += in_region(order[static_cast<size_t>(j)]);
      x.push_back(i / 16.0);
      y.push_back(1.0 - hits / 64.0);
    }
    ASSERT_NEAR(c.auc, trapezoid_auc(x, y), 1e-6) << "seed " << seed;
    sum += c.auc;
  }
  EXPECT_NEAR(sum / seeds, 0.5, 0.02);
}

TEST(EvaluateCurve, BatchesAreBoundedAndDoNotChangeTheResult) {
  int calls = 0;
  int64_t largest = 0;
  const RegionScorer counted{&calls, &largest};
  const Tensor map = random_map(kSize, kSize, 7);
  const std::vector<int64_t> order = rank_pixels(map);
  const Curve a = perturbation_curve(counted, filled(1), filled(0), order, 0, steps(50, 8));
  EXPECT_EQ(calls, 7);  // 51 inputs, 8 at a time
  EXPECT_EQ(largest, 8);
  const Curve b = perturbation_curve(RegionScorer{}, filled(1), filled(0), order, 0, steps(50, 1));
  EXPECT_EQ(a.score, b.score);
  EXPECT_EQ(a.fraction, b.fraction);
  EXPECT_THROW(perturbation_curve(RegionScorer{}, filled(1), filled(0), order, 0, steps(0)), Error);
}

// The separable blur against a direct 11x11 convolution with clamped indices.
TEST(EvaluateBlur, MatchesADirectGaussianConvolution) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  const int64_t h = 13, w = 20, c = 2;
  Tensor x({1, h, w, c});
  for (float& v : x.values()) v = u(rng);
  const Tensor blurred = blur_input(x);
  double total = 0.0;
  for (int dy = -5; dy <= 5; ++dy)
    for (int dx = -5; dx <= 5; ++dx) total += std::exp(-(dy * dy + dx * dx) / 50.0);
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t xx = 0; xx < w; ++xx) {
      for (int64_t k = 0; k < c; ++k) {
        double sum = 0.0;
        for (int dy = -5; dy <= 5; ++dy) {
          for (int dx = -5; dx <= 5; ++dx) {
            const int64_t sy = std::clamp<int64_t>(y + dy, 0, h - 1);
            const int64_t sx = std::clamp<int64_t>(xx + dx, 0, w - 1);
            sum += std::exp(-(dy * dy + dx * dx) / 50.0) * x.at(0, sy, sx, k);
          }
        }
        ASSERT_NEAR(blurred.at(0, y, xx, k), sum / total, 1e-5) << y << "," << xx;
      }
    }
  }
  const Tensor zero = deletion_baseline(x);  // named: a temporary would die before the loop
  for (float v : zero.values()) ASSERT_EQ(v, 0.0f);
}

TEST(EvaluateBaselines, RandomIsSeededAndCenterIsACentredGaussian) {
  const Tensor a = random_map(5, 7, 11), b = random_map(5, 7, 11), other = random_map(5, 7, 12);
  EXPECT_EQ(std::vector<float>(a.values().begin(), a.values().end()),
            std::vector<float>(b.values().begin(), b.values().end()));
  EXPECT_NE(std::vector<float>(a.values().begin(), a.values().end()),
            std::vector<float>(other.values().begin(), other.values().end()));
  for (float v : a.values()) {
    EXPECT_GE(v, 0.0f);
    EXPECT_LT(v, 1.0f);
  }
  const Tensor g = center_map(9, 13);  // sigma = 9 / 4, centre (4, 6)
  EXPECT_FLOAT_EQ(g.at(4, 6), 1.0f);
  EXPECT_NEAR(g.at(4, 6 + 2), std::exp(-4.0 / (2 * 2.25 * 2.25)), 1e-6);
  EXPECT_FLOAT_EQ(g.at(0, 0), g.at(8, 12));
  EXPECT_EQ(rank_pixels(g).front(), 4 * 13 + 6);
}

}  // namespace
}  // namespace gaze
