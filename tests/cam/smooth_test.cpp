// Smoothing (docs/smoothing.md): eigen-smooth against numpy's SVD on fixtures made by
// tools/reference/smooth_fixtures.py, aug-smooth against the mean of 6 maps computed apart.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "cam/explain.h"
#include "cam/methods.h"
#include "layers/keras_layers.h"
#include "tensor/npy.h"
#include "tests/support/fixtures.h"
#include "tests/support/test_util.h"

namespace gaze {
namespace {

using testing::fixture_path;
using testing::random_tensor;

Tensor fixture(const std::string& name) {
  return read_npy(fixture_path("smooth/" + name + ".npy"));
}

double max_abs(const Tensor& t) {
  double m = 0.0;
  for (float v : t.values()) m = std::max(m, static_cast<double>(std::abs(v)));
  return m;
}

// Every value of `actual` within `relative` x max|expected| of `expected`.
void expect_close(const Tensor& actual, const Tensor& expected, double relative,
                  const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  const double tolerance = relative * max_abs(expected);
  for (int64_t i = 0; i < actual.size(); ++i)
    EXPECT_NEAR(actual.data()[i], expected.data()[i], tolerance) << what << " at " << i;
}

constexpr const char* kSvdCases[] = {"tall", "wide", "close", "weighted", "tie"};

TEST(PrincipalProjection, MatchesNumpysSvdWithGazesSignRule) {
  for (const char* c : kSvdCases) {
    const Tensor x = fixture(std::string("svd_") + c + "_x");
    const Tensor as_layer = x.reshape({1, x.dim(0), 1, x.dim(1)});
    const Tensor p = principal_projection(as_layer).reshape({-1});
    expect_close(p, fixture(std::string("svd_") + c + "_gaze"), 1e-5, c);
  }
}

TEST(PrincipalProjection, EqualsNumpysUpToTheSignNumpyLeavesToLapack) {
  for (const char* c : kSvdCases) {
    const Tensor x = fixture(std::string("svd_") + c + "_x");
    const Tensor p = principal_projection(x.reshape({1, x.dim(0), 1, x.dim(1)})).reshape({-1});
    const Tensor numpy = fixture(std::string("svd_") + c + "_numpy");
    const float sign = p.data()[0] * numpy.data()[0] < 0.0f ? -1.0f : 1.0f;
    Tensor signed_numpy = numpy.clone();
    for (float& v : signed_numpy.values()) v *= sign;
    expect_close(p, signed_numpy, 1e-5, c);
  }
}

TEST(PrincipalDirection, IsAUnitVectorMaximizingTheProjection) {
  for (const char* c : kSvdCases) {
    const Tensor t = fixture(std::string("svd_") + c + "_x");
    const auto rows = static_cast<size_t>(t.dim(0)), columns = static_cast<size_t>(t.dim(1));
    std::vector<double> x(t.values().begin(), t.values().end());
    std::vector<double> mean(columns, 0.0);
    for (size_t r = 0; r < rows; ++r)
      for (size_t k = 0; k < columns; ++k) mean[k] += x[r * columns + k] / rows;
    for (size_t r = 0; r < rows; ++r)
      for (size_t k = 0; k < columns; ++k) x[r * columns + k] -= mean[k];
    const std::vector<double> v = principal_direction(x, rows, columns);
    double norm = 0.0;
    for (double e : v) norm += e * e;
    EXPECT_NEAR(norm, 1.0, 1e-12) << c;
    // |X v|^2 = s_1^2 = |numpy's projection|^2.
    double xv2 = 0.0, numpy2 = 0.0;
    for (size_t r = 0; r < rows; ++r) {
      double s = 0.0;
      for (size_t k = 0; k < columns; ++k) s += x[r * columns + k] * v[k];
      xv2 += s * s;
    }
    const Tensor numpy = fixture(std::string("svd_") + c + "_numpy");
    for (float e : numpy.values()) numpy2 += e * e;
    EXPECT_NEAR(xv2, numpy2, 1e-5 * numpy2) << c;
  }
}

TEST(PrincipalDirection, OfAZeroMatrixIsZero) {
  const std::vector<double> v = principal_direction(std::vector<double>(12, 0.0), 3, 4);
  EXPECT_EQ(v, std::vector<double>(4, 0.0));
  const Tensor flat = principal_projection(Tensor::full({1, 2, 3, 4}, 2.5f));
  for (float e : flat.values()) EXPECT_EQ(e, 0.0f);
}

TEST(EigenSmooth, EachMethodsTermsMatchNumpysProjection) {
  const Tensor a = fixture("eigen_a"), g = fixture("eigen_g");
  const std::pair<const char*, Tensor> cases[] = {
      {"gradcam", weighted_activations(a, grad_cam_weights(a, g))},
      {"gradcampp", weighted_activations(a, grad_cam_plus_plus_weights(a, g))},
      {"xgradcam", weighted_activations(a, xgrad_cam_weights(a, g))},
      {"hirescam", hires_cam_terms(a, g)},
      {"layercam", layer_cam_terms(a, g)},
  };
  for (const auto& [name, terms] : cases)
    expect_close(principal_projection(terms), fixture(std::string("eigen_") + name), 1e-5, name);
}

TEST(EigenSmooth, TermsSumToThePlainMaps) {
  const Tensor a = random_tensor({1, 3, 4, 5}, 3, 0.0f, 1.0f), g = random_tensor({1, 3, 4, 5}, 4);
  const std::pair<Tensor, Tensor> cases[] = {
      {weighted_activations(a, grad_cam_weights(a, g)), grad_cam(a, g)},
      {weighted_activations(a, grad_cam_plus_plus_weights(a, g)), grad_cam_plus_plus(a, g)},
      {weighted_activations(a, xgrad_cam_weights(a, g)), xgrad_cam(a, g)},
      {hires_cam_terms(a, g), hires_cam(a, g)},
      {layer_cam_terms(a, g), layer_cam(a, g)},
  };
  for (const auto& [terms, plain] : cases) {
    for (int64_t p = 0; p < 12; ++p) {
      double s = 0.0;
      for (int64_t k = 0; k < 5; ++k) s += terms.data()[p * 5 + k];
      EXPECT_NEAR(s, plain.data()[p], 1e-5);
    }
  }
}

TEST(EigenCam, IsThePrincipalProjectionOfTheActivations) {
  const Tensor a = random_tensor({1, 4, 3, 6}, 5, 0.0f, 2.0f);
  const Tensor e = eigen_cam(a), p = principal_projection(a);
  for (int64_t i = 0; i < e.size(); ++i) EXPECT_EQ(e.data()[i], p.data()[i]);
}

void set_weight(Model& m, const std::string& layer, const std::string& weight, Tensor value) {
  for (Weight& w : m.layer(m.index_of(layer)).weights()) {
    if (w.name == weight) w.value = std::move(value);
  }
}

// input [4,6,2] -> conv 3x3 same (5 channels, relu) "feat" -> conv 3x3 same (4, relu) "feat2"
// -> GAP -> Dense(3, softmax) "out": not left-right symmetric, so flips change the maps.
Model small_model(uint32_t seed) {
  Model m;
  m.add(std::make_unique<InputLayer>("in", Shape{-1, 4, 6, 2}), {});
  const Activation relu{ActivationKind::kRelu};
  m.add(std::make_unique<Conv2D>("feat", Conv2DConfig{5, 3, 3, 1, 1, Padding::kSame, true, relu}),
        {"in"});
  m.add(std::make_unique<Conv2D>("feat2", Conv2DConfig{4, 3, 3, 1, 1, Padding::kSame, true, relu}),
        {"feat"});
  m.add(std::make_unique<GlobalAveragePooling2D>("gap"), {"feat2"});
  m.add(std::make_unique<Dense>("out", DenseConfig{3, true, Activation{ActivationKind::kSoftmax}}),
        {"gap"});
  set_weight(m, "feat", "kernel", random_tensor({3, 3, 2, 5}, seed));
  set_weight(m, "feat", "bias", random_tensor({5}, seed + 1, 0.1f, 0.5f));
  set_weight(m, "feat2", "kernel", random_tensor({3, 3, 5, 4}, seed + 2));
  set_weight(m, "feat2", "bias", random_tensor({4}, seed + 3, 0.1f, 0.5f));
  set_weight(m, "out", "kernel", random_tensor({4, 3}, seed + 4));
  set_weight(m, "out", "bias", random_tensor({3}, seed + 5));
  return m;
}

TEST(EigenSmooth, SessionMapIsTheProjectionOfTheMethodsTerms) {
  const Model m = small_model(7);
  CamSession s(m, random_tensor({1, 4, 6, 2}, 8), {"feat"}, true);
  const Tensor& a = s.activations("feat");
  const Tensor g = s.gradients("feat", 1, ScoreKind::kLogit);
  CamOptions o;
  o.eigen_smooth = true;
  o.method = CamMethod::kGradCam;
  expect_close(s.map("feat", 1, o),
               principal_projection(weighted_activations(a, grad_cam_weights(a, g))), 1e-6,
               "gradcam");
  o.method = CamMethod::kLayerCam;
  expect_close(s.map("feat", 1, o), principal_projection(layer_cam_terms(a, g)), 1e-6, "layercam");
  o.method = CamMethod::kEigenCam;
  EXPECT_THROW(s.map("feat", 1, o), Error);
}

// The input flipped left-right and scaled, by index arithmetic (not flip_left_right).
Tensor flipped_scaled(const Tensor& x, bool flip, float factor) {
  const int64_t h = x.dim(1), w = x.dim(2), c = x.dim(3);
  Tensor out(x.shape());
  for (int64_t i = 0; i < h; ++i)
    for (int64_t j = 0; j < w; ++j)
      for (int64_t k = 0; k < c; ++k)
        out.data()[(i * w + j) * c + k] =
            x.data()[(i * w + (flip ? w - 1 - j : j)) * c + k] * factor;
  return out;
}

TEST(AugSmooth, IsTheMeanOfSixMapsComputedApart) {
  const Model m = small_model(11);
  const Tensor x = random_tensor({1, 4, 6, 2}, 12, 0.0f, 1.0f);
  for (CamMethod method :
       {CamMethod::kGradCam, CamMethod::kGradCamPlusPlus, CamMethod::kEigenCam}) {
    for (bool eigen : {false, true}) {
      if (eigen && method == CamMethod::kEigenCam) continue;
      CamOptions o;
      o.method = method;
      o.eigen_smooth = eigen;
      std::vector<double> expected(24, 0.0);
      int variants = 0;
      for (bool flip : {false, true}) {
        for (float factor : {0.9f, 1.0f, 1.1f}) {
          CamSession apart(m, flipped_scaled(x, flip, factor), {"feat2"}, true);
          const Tensor map = apart.map("feat2", 2, o);
          double lo = 1e300, hi = -1e300;
          for (float v : map.values()) {
            lo = std::min(lo, std::max(0.0, double{v}));
            hi = std::max(hi, std::max(0.0, double{v}));
          }
          for (int64_t i = 0; i < 4; ++i)
            for (int64_t j = 0; j < 6; ++j) {
              const double v = std::max(0.0, double{map.data()[i * 6 + (flip ? 5 - j : j)]});
              expected[static_cast<size_t>(i * 6 + j)] += hi > lo ? (v - lo) / (hi - lo) : 0.0;
            }
          ++variants;
        }
      }
      ASSERT_EQ(variants, 6);
      CamSession s(m, x, {"feat2"}, true);
      o.aug_smooth = true;
      const Tensor smooth = s.map("feat2", 2, o);
      ASSERT_EQ(smooth.shape(), (Shape{4, 6}));
      for (int64_t p = 0; p < 24; ++p)
        EXPECT_NEAR(smooth.data()[p], expected[static_cast<size_t>(p)] / 6.0, 1e-6)
            << cam_method_name(method) << (eigen ? ":eigen" : "") << " at " << p;
    }
  }
}

TEST(AugSmooth, CommutesWithFlippingTheInput) {
  // The 6 variants of flip(x) are those of x, flipped: the smoothed map of a flipped input is
  // the flipped map, for any model.
  const Model m = small_model(21);
  const Tensor x = random_tensor({1, 4, 6, 2}, 22, 0.0f, 1.0f);
  CamOptions o;
  o.aug_smooth = true;
  CamSession s(m, x, {"feat", "feat2"}, true), f(m, flip_left_right(x), {"feat", "feat2"}, true);
  for (const char* layer : {"feat", "feat2"}) {
    const Tensor a = flip_left_right(s.map(layer, 0, o)), b = f.map(layer, 0, o);
    for (int64_t p = 0; p < a.size(); ++p) EXPECT_NEAR(a.data()[p], b.data()[p], 1e-6) << layer;
  }
  // Without smoothing the model is not symmetric: the flipped input's map differs.
  o.aug_smooth = false;
  const Tensor a = flip_left_right(s.map("feat2", 0, o)), b = f.map("feat2", 0, o);
  double diff = 0.0;
  for (int64_t p = 0; p < a.size(); ++p)
    diff = std::max(diff, double{std::abs(a.data()[p] - b.data()[p])});
  EXPECT_GT(diff, 1e-3);
}

TEST(AugSmooth, VariantsAreFlipTimesIntensityFactors) {
  const Tensor x = random_tensor({1, 2, 3, 2}, 31);
  int flips = 0;
  for (const AugVariant& v : kAugVariants) {
    const Tensor a = augment_input(x, v), expected = flipped_scaled(x, v.flip, v.factor);
    for (int64_t i = 0; i < a.size(); ++i) EXPECT_EQ(a.data()[i], expected.data()[i]);
    flips += v.flip;
  }
  EXPECT_EQ(flips, 3);
  EXPECT_EQ(std::size(kAugVariants), 6u);
}

TEST(MethodSpec, ParsesSmoothingSuffixesInAnyOrder) {
  const MethodSpec a = parse_method_spec("gradcam++:aug:eigen");
  EXPECT_EQ(a.name, "gradcam++:eigen:aug");
  EXPECT_EQ(a.method, CamMethod::kGradCamPlusPlus);
  EXPECT_TRUE(a.eigen_smooth && a.aug_smooth);
  const MethodSpec b = parse_method_spec("eigencam:aug");
  EXPECT_EQ(b.name, "eigencam:aug");
  EXPECT_FALSE(b.eigen_smooth);
  EXPECT_EQ(parse_method_spec("layercam").name, "layercam");
  for (const char* bad :
       {"eigencam:eigen", "gradcam:", "gradcam:blur", "gradcam:aug:aug", "nope:aug"})
    EXPECT_THROW(parse_method_spec(bad), Error) << bad;
}

}  // namespace
}  // namespace gaze
