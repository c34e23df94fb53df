// `gaze cam` and `gaze classify` options checked by their effect: what each option does to the
// numbers and pixels the program writes, not only that it runs or that a bad value is refused
// (cli_test.cpp does that).
//
// The program runs as a child process (run_gaze.h) on the committed tiny model (tiny_model.h:
// 224x224x3 input, 5 classes, 26x26x12 at top_conv); the test loads the same converted model
// in-process and computes what each option documents from its own pieces:
//  - every --method's --raw map equals the library function of cam/methods.h, called directly
//    (not through CamSession::map's dispatch), on the activations and gradients of a CamSession;
//    Score-CAM is recomputed from model forwards here;
//  - guided backpropagation equals an independent PyTorch reference with the guided ReLU rule
//    (tests/fixtures/torch/tiny_chelsea_bird_guided.npy, tools/reference/torch_guided.py), and the
//    guided panels are the documented compositions of it;
//  - --layer, --score prob, --counterfactual, --signed: the map equals the method on that layer,
//    on the probability's gradient built from the logits' gradients, on negated gradients, and
//    without the ReLU;
//  - --norm, --colormap, --alpha: the panel's overlay pixels equal the documented formulas
//    applied to the --raw map (render_test.cpp checks upsample_bilinear and colorize themselves
//    against PIL and matplotlib, so those two are used here as the reference pieces);
//  - --preprocessing: the probabilities equal the model run on the input preprocessed by the
//    documented formula, written out here;
//  - --rating: the printed rating is sum_i w_i p_i of the printed probabilities;
//  - classify on the real nsfwjs models gives TensorFlow.js's probabilities for the committed
//    PNG photos, and a wrong --preprocessing does not.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "cam/explain.h"
#include "cam/image.h"
#include "cam/methods.h"
#include "cam/model_input.h"
#include "cam/preprocess.h"
#include "cam/render.h"
#include "tensor/npy.h"
#include "tests/support/fixtures.h"
#include "tests/tools/run_gaze.h"
#include "tests/tools/tiny_model.h"
#include "weights/model_io.h"

namespace gaze {
namespace {

using nlohmann::json;
using testing::fixture_path;
using testing::RunResult;
using testing::TempDir;

const char* const kLayer = "top_conv";  // the tiny model's default layer, 26x26x12
// Where the methods are compared: 28x28x16, under a 3x3 convolution with a ReLU. At top_conv, which
// global average pooling and the Dense follow, d logit / d A is W[k, class] / (26 * 26) in every
// cell, and Grad-CAM, HiResCAM and XGrad-CAM all give the same map there.
const char* const kMethodLayer = "pool2";
const int kBird = 3;         // a class whose signed Grad-CAM has negative cells
const int kPanelMargin = 4;  // compose_panel's margin for tiles up to 400 px high

std::string npy_input() {
  return fixture_path("npy/chelsea_mobilenet_v2.npy");
}
std::string photo_input() {  // 299x299 RGB: the map is upsampled to the photo, not to 224
  return fixture_path("images/astronaut_299.png");
}

// The converted tiny model, loaded in-process once.
const Model& tiny() {
  static const LoadedModel loaded = load_model(testing::tiny_model());
  return loaded.model;
}

Tensor tiny_input(const std::string& path) {
  return load_model_input(path, tiny(), Preprocessing::kNsfwjs).tensor;
}

// `gaze cam --model tiny --out DIR/panel.png --raw DIR/map.npy ARGS... INPUT`; fails the test on
// a non-zero exit.
RunResult cam(const TempDir& dir, std::vector<std::string> args, const std::string& input) {
  std::vector<std::string> all = {"cam",          "--model",         testing::tiny_model(),
                                  "--out",        dir / "panel.png", "--raw",
                                  dir / "map.npy"};
  all.insert(all.end(), args.begin(), args.end());
  all.push_back(input);
  RunResult r = testing::run_gaze(all);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r;
}

// The --raw map of one `gaze cam` run.
Tensor cam_raw(std::vector<std::string> args, const std::string& input = npy_input()) {
  TempDir dir;
  cam(dir, std::move(args), input);
  return read_npy(dir / "map.npy");
}

float max_abs(const Tensor& t) {
  float m = 0.0f;
  for (float v : t.values()) m = std::max(m, std::abs(v));
  return m;
}

// got == want within rel * max|want|, as one failure with the worst cell.
void expect_map_near(const Tensor& got, const Tensor& want, float rel = 1e-5f) {
  ASSERT_EQ(got.shape(), want.shape());
  const float scale = max_abs(want);
  ASSERT_GT(scale, 0.0f) << "an all-zero reference map tests nothing";
  float worst = 0.0f;
  int64_t at = 0;
  for (int64_t i = 0; i < got.size(); ++i) {
    const float d = std::abs(got.data()[i] - want.data()[i]);
    if (d > worst) worst = d, at = i;
  }
  EXPECT_LE(worst, rel * scale) << "cell " << at << ": got " << got.data()[at] << ", want "
                                << want.data()[at] << " (max |want| " << scale << ")";
}

// Two maps that must differ: more than 1% of their scale somewhere.
float max_diff(const Tensor& a, const Tensor& b) {
  float worst = 0.0f;
  for (int64_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, std::abs(a.data()[i] - b.data()[i]));
  return worst;
}

void expect_map_differs(const Tensor& a, const Tensor& b) {
  ASSERT_EQ(a.shape(), b.shape());
  EXPECT_GT(max_diff(a, b), 0.01f * std::max(max_abs(a), max_abs(b)));
}

Tensor negated(const Tensor& t) {
  Tensor n = t.clone();
  for (float& v : n.values()) v = -v;
  return n;
}

// ---- every method: the CLI's map is the library function's ----

struct MethodCase {
  const char* name;
  std::function<Tensor(const Tensor& a, const Tensor& g)> map;  // the signed map
};

std::vector<MethodCase> gradient_free_and_gradient_methods() {
  return {{"gradcam", grad_cam},
          {"gradcam++", grad_cam_plus_plus},
          {"hirescam", hires_cam},
          {"xgradcam", xgrad_cam},
          {"layercam", layer_cam},
          {"eigencam", [](const Tensor& a, const Tensor&) { return eigen_cam(a); }}};
}

std::string test_name(const std::string& method) {
  std::string s = method;
  for (char& c : s)
    if (c == '+') c = 'p';
  return s;
}

void PrintTo(const MethodCase& m, std::ostream* os) {
  *os << m.name;
}

class MethodMapTest : public ::testing::TestWithParam<MethodCase> {};

TEST_P(MethodMapTest, RawMapIsTheLibraryFunctionOnTheSessionsActivationsAndGradients) {
  const Tensor input = tiny_input(npy_input());
  CamSession session(tiny(), input, {kMethodLayer}, true);
  const Tensor a = session.activations(kMethodLayer).clone();
  const Tensor g = session.gradients(kMethodLayer, kBird, ScoreKind::kLogit).clone();
  const Tensor want = relu_map(GetParam().map(a, g));
  const Tensor got =
      cam_raw({"--method", GetParam().name, "--class", "bird", "--layer", kMethodLayer});
  EXPECT_EQ(got.shape(), (Shape{28, 28}));
  expect_map_near(got, want);
  // --signed: the same map before its ReLU.
  expect_map_near(cam_raw({"--method", GetParam().name, "--class", "bird", "--layer", kMethodLayer,
                           "--signed"}),
                  GetParam().map(a, g));
}

// And at the default layer, where the map is taken without --layer.
TEST(CamOptions, DefaultLayerMapIsTheLibraryFunctionsToo) {
  CamSession session(tiny(), tiny_input(npy_input()), {kLayer}, true);
  const Tensor a = session.activations(kLayer).clone();
  const Tensor g = session.gradients(kLayer, kBird, ScoreKind::kLogit).clone();
  const Tensor got = cam_raw({"--method", "gradcam++", "--class", "bird"});
  EXPECT_EQ(got.shape(), (Shape{26, 26}));
  expect_map_near(got, relu_map(grad_cam_plus_plus(a, g)));
}

INSTANTIATE_TEST_SUITE_P(Methods, MethodMapTest,
                         ::testing::ValuesIn(gradient_free_and_gradient_methods()),
                         [](const ::testing::TestParamInfo<MethodCase>& p) {
                           return test_name(p.param.name);
                         });

// CAM needs the head the tiny model has (top_conv -> global average pooling -> Dense): the map is
// the Dense kernel's column of the class over the channels. There, d logit / d A = W[k, class] /
// (26 * 26) in every cell, so CAM is also 26 * 26 times Grad-CAM.
TEST(CamOptions, CamIsTheDenseKernelsColumnOverTheChannels) {
  CamSession session(tiny(), tiny_input(npy_input()), {kLayer}, true);
  const Tensor a = session.activations(kLayer).clone();
  const Tensor g = session.gradients(kLayer, kBird, ScoreKind::kLogit).clone();
  Tensor kernel;
  for (const Weight& w : tiny().layer(tiny().index_of("dense")).weights())
    if (w.name == "kernel") kernel = w.value;
  ASSERT_TRUE(kernel.defined());
  const Tensor got = cam_raw({"--method", "cam", "--class", "bird", "--signed"});
  expect_map_near(got, class_activation_map(a, kernel, kBird));
  Tensor scaled = grad_cam(a, g).clone();
  for (float& v : scaled.values()) v *= 26.0f * 26.0f;
  expect_map_near(got, scaled, 1e-4f);
}

// The test above can tell the methods apart only if their maps differ on this input and class:
// then swapping two methods in the dispatch fails it.
TEST(CamOptions, TheMethodsGiveDifferentMapsHere) {
  CamSession session(tiny(), tiny_input(npy_input()), {kMethodLayer}, true);
  const Tensor a = session.activations(kMethodLayer).clone();
  const Tensor g = session.gradients(kMethodLayer, kBird, ScoreKind::kLogit).clone();
  const std::vector<MethodCase> methods = gradient_free_and_gradient_methods();
  for (size_t i = 0; i < methods.size(); ++i) {
    for (size_t j = i + 1; j < methods.size(); ++j) {
      SCOPED_TRACE(std::string(methods[i].name) + " vs " + methods[j].name);
      // Scale-free: normalized maps, so that a map and a multiple of it count as the same.
      expect_map_differs(normalize_map(relu_map(methods[i].map(a, g)), MapNorm::kMinMax),
                         normalize_map(relu_map(methods[j].map(a, g)), MapNorm::kMinMax));
    }
  }
}

// (m - min) / (max - min) in float, 0 for a constant map: the documented minmax rule.
Tensor minmax(const Tensor& m) {
  const auto [lo, hi] = std::minmax_element(m.data(), m.data() + m.size());
  Tensor out = Tensor::zeros(m.shape());
  if (*hi == *lo) return out;
  for (int64_t i = 0; i < m.size(); ++i) out.data()[i] = (m.data()[i] - *lo) / (*hi - *lo);
  return out;
}

// Score-CAM as documented, from model forwards: the `count` channels with the largest mean
// activation (all for 0); each channel min-max normalized, upsampled to the input and multiplied
// into it; the class probability of each masked input; their softmax over the channels weights
// the channels' activations.
Tensor score_cam_by_hand(const Tensor& input, const Tensor& a, int class_index, size_t count) {
  const int64_t h = a.dim(1), w = a.dim(2), k = a.dim(3);
  std::vector<double> mean(static_cast<size_t>(k), 0.0);
  for (int64_t p = 0; p < h * w; ++p)
    for (int64_t c = 0; c < k; ++c) mean[static_cast<size_t>(c)] += a.data()[p * k + c] / (h * w);
  std::vector<int> channels(static_cast<size_t>(k));
  std::iota(channels.begin(), channels.end(), 0);
  std::stable_sort(channels.begin(), channels.end(), [&](int x, int y) {
    return mean[static_cast<size_t>(x)] > mean[static_cast<size_t>(y)];
  });
  if (count > 0 && count < channels.size()) channels.resize(count);
  std::vector<double> score;
  for (int c : channels) {
    Tensor channel({h, w});
    for (int64_t p = 0; p < h * w; ++p) channel.data()[p] = a.data()[p * k + c];
    const Tensor mask = upsample_bilinear(minmax(channel), input.dim(1), input.dim(2));
    Tensor masked = input.clone();
    for (int64_t p = 0; p < mask.size(); ++p)
      for (int64_t ch = 0; ch < input.dim(3); ++ch)
        masked.data()[p * input.dim(3) + ch] *= mask.data()[p];
    score.push_back(tiny().forward(masked).output.value().data()[class_index]);
  }
  const double top = *std::max_element(score.begin(), score.end());
  double total = 0.0;
  for (double& s : score) total += s = std::exp(s - top);
  Tensor map({h, w});
  for (int64_t p = 0; p < h * w; ++p) {
    double sum = 0.0;
    for (size_t i = 0; i < channels.size(); ++i)
      sum += score[i] / total * a.data()[p * k + channels[i]];
    map.data()[p] = static_cast<float>(std::max(sum, 0.0));
  }
  return map;
}

TEST(CamOptions, ScoreCamIsTheSoftmaxOfMaskedInputProbabilitiesOverTheTopChannels) {
  const Tensor input = tiny_input(npy_input());
  CamSession session(tiny(), input, {kLayer}, false);
  const Tensor a = session.activations(kLayer).clone();
  const Tensor all = score_cam_by_hand(input, a, kBird, 0);
  const Tensor five = score_cam_by_hand(input, a, kBird, 5);
  expect_map_near(cam_raw({"--method", "scorecam", "--class", "bird"}), all);  // 256 >= 12: all
  expect_map_near(cam_raw({"--method", "scorecam", "--class", "bird", "--score-cam-channels", "0"}),
                  all);
  expect_map_near(cam_raw({"--method", "scorecam", "--class", "bird", "--score-cam-channels", "5"}),
                  five);
  expect_map_differs(all, five);
  // Class-dependent, unlike Eigen-CAM.
  expect_map_differs(cam_raw({"--method", "scorecam", "--class", "dog"}), all);
}

// ---- --layer, --score prob, --counterfactual ----

TEST(CamOptions, LayerTakesTheMapAtThatLayer) {
  const Tensor input = tiny_input(npy_input());
  CamSession session(tiny(), input, {"mixed", kLayer}, true);
  const Tensor want_mixed = relu_map(
      grad_cam(session.activations("mixed"), session.gradients("mixed", kBird, ScoreKind::kLogit)));
  const Tensor want_top = relu_map(
      grad_cam(session.activations(kLayer), session.gradients(kLayer, kBird, ScoreKind::kLogit)));
  const Tensor got = cam_raw({"--class", "bird", "--layer", "mixed"});
  EXPECT_EQ(got.shape(), (Shape{56, 56}));
  expect_map_near(got, want_mixed);

  // Two layers: each saved under its own name; the overlay is their normalized maps averaged.
  TempDir dir;
  cam(dir, {"--class", "bird", "--layer", "mixed", "--layer", kLayer}, npy_input());
  expect_map_near(read_npy(dir / "map_bird_mixed.npy"), want_mixed);
  expect_map_near(read_npy(dir / "map_bird_top_conv.npy"), want_top);
}

TEST(CamOptions, ScoreProbUsesTheProbabilitysGradientBuiltFromEveryLogitsGradient) {
  const Tensor input = tiny_input(npy_input());
  CamSession session(tiny(), input, {kLayer}, true);
  const Tensor a = session.activations(kLayer).clone();
  const Tensor& p = session.probabilities();
  std::vector<Tensor> logit_grads;  // d z_j / d A for every class j
  for (int j = 0; j < p.size(); ++j)
    logit_grads.push_back(session.gradients(kLayer, j, ScoreKind::kLogit).clone());
  // d p_k / d A = p_k (d z_k / d A - sum_j p_j d z_j / d A), the softmax's Jacobian.
  Tensor want = Tensor::zeros(a.shape());
  for (int64_t i = 0; i < want.size(); ++i) {
    double mix = 0.0;
    for (int j = 0; j < p.size(); ++j)
      mix += p.data()[j] * logit_grads[static_cast<size_t>(j)].data()[i];
    want.data()[i] = static_cast<float>(p.data()[kBird] * (logit_grads[kBird].data()[i] - mix));
  }
  const Tensor got = session.gradients(kLayer, kBird, ScoreKind::kProbability).clone();
  expect_map_near(got, want, 1e-4f);
  // The CLI's map is Grad-CAM on that gradient, not on the logit's.
  const Tensor map = cam_raw({"--class", "bird", "--score", "prob", "--signed"});
  expect_map_near(map, grad_cam(a, want), 1e-4f);
  expect_map_differs(normalize_map(map, MapNorm::kMinMax),
                     normalize_map(grad_cam(a, logit_grads[kBird]), MapNorm::kMinMax));
}

TEST(CamOptions, CounterfactualIsTheMethodOnNegatedGradients) {
  const Tensor input = tiny_input(npy_input());
  CamSession session(tiny(), input, {kMethodLayer}, true);
  const Tensor a = session.activations(kMethodLayer).clone();
  const Tensor g = session.gradients(kMethodLayer, kBird, ScoreKind::kLogit).clone();
  for (const MethodCase& m : {MethodCase{"gradcam", grad_cam}, MethodCase{"layercam", layer_cam},
                              MethodCase{"gradcam++", grad_cam_plus_plus}}) {
    SCOPED_TRACE(m.name);
    // Signed, since a counterfactual map can be all negative (Grad-CAM's is, here).
    const Tensor want = m.map(a, negated(g));
    const Tensor got = cam_raw({"--method", m.name, "--class", "bird", "--layer", kMethodLayer,
                                "--counterfactual", "--signed"});
    expect_map_near(got, want);
    expect_map_differs(got, m.map(a, g));
  }
  // After the ReLU: LayerCAM's map, which keeps only the (negated) positive gradients, is not
  // zero.
  const Tensor got = cam_raw(
      {"--method", "layercam", "--class", "bird", "--layer", kMethodLayer, "--counterfactual"});
  expect_map_near(got, relu_map(layer_cam(a, negated(g))));
  expect_map_differs(got, relu_map(layer_cam(a, g)));
}

// ---- what the panel shows: --norm, --colormap, --alpha ----

Image crop(const Image& image, int x0, int y0, int width, int height) {
  Image out{width, height, std::vector<uint8_t>(static_cast<size_t>(width) * height * 3)};
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width * 3; ++x) {
      out.rgb[static_cast<size_t>(y * width * 3 + x)] =
          image.rgb.at(static_cast<size_t>(((y0 + y) * image.width + x0) * 3 + x));
    }
  }
  return out;
}

// Tile `index` of a panel whose tiles are all width x height (compose_panel: one row, a margin
// around and between the tiles).
Image panel_tile(const Image& panel, int index, int width, int height) {
  return crop(panel, kPanelMargin + index * (width + kPanelMargin), kPanelMargin, width, height);
}

// Bytes that differ, and by how much at most.
struct PixelDiff {
  int64_t count = 0;
  int worst = 0;
};
PixelDiff pixel_diff(const Image& a, const Image& b) {
  PixelDiff d;
  EXPECT_EQ(a.width, b.width);
  EXPECT_EQ(a.height, b.height);
  if (a.rgb.size() != b.rgb.size()) return {-1, 255};
  for (size_t i = 0; i < a.rgb.size(); ++i) {
    const int delta = std::abs(int{a.rgb[i]} - int{b.rgb[i]});
    d.count += delta != 0;
    d.worst = std::max(d.worst, delta);
  }
  return d;
}

void expect_same_pixels(const Image& got, const Image& want) {
  const PixelDiff d = pixel_diff(got, want);
  EXPECT_EQ(d.count, 0) << d.count << " bytes differ, by up to " << d.worst;
}

// Differ in at least 10% of the bytes: an option that changes the picture visibly.
void expect_different_pixels(const Image& a, const Image& b) {
  EXPECT_GT(pixel_diff(a, b).count, static_cast<int64_t>(a.rgb.size() / 10));
}

// The documented overlay: the map normalized (minmax: (m - min)/(max - min); max: max(m, 0)/max),
// bilinearly upsampled to the photo, averaged over the layers, coloured, and blended as
// (1 - alpha) * photo + alpha * colour, rounded.
Image expected_overlay(const Image& photo, const std::vector<Tensor>& maps, const std::string& norm,
                       Colormap colormap, float alpha) {
  Tensor mean = Tensor::zeros({photo.height, photo.width});
  for (const Tensor& m : maps) {
    Tensor unit = Tensor::zeros(m.shape());
    if (norm == "minmax") {
      unit = minmax(m);
    } else {
      const float hi = *std::max_element(m.data(), m.data() + m.size());
      if (hi > 0.0f)
        for (int64_t i = 0; i < m.size(); ++i) unit.data()[i] = std::max(m.data()[i], 0.0f) / hi;
    }
    const Tensor up = upsample_bilinear(unit, photo.height, photo.width);
    for (int64_t i = 0; i < up.size(); ++i) mean.data()[i] += up.data()[i];
  }
  for (float& v : mean.values()) v /= static_cast<float>(maps.size());
  const Image colour = colorize(mean, colormap);
  Image out = photo;
  const double a = alpha;
  for (size_t i = 0; i < out.rgb.size(); ++i)
    out.rgb[i] = static_cast<uint8_t>(std::lround((1.0 - a) * photo.rgb[i] + a * colour.rgb[i]));
  return out;
}

// One `gaze cam` run on the photo: its overlay tile and its --raw map.
struct PanelRun {
  Image tile;
  Tensor raw;
};
PanelRun panel_run(std::vector<std::string> args) {
  TempDir dir;
  cam(dir, std::move(args), photo_input());
  const Image photo = load_image(photo_input());
  const Image panel = load_image(dir / "panel.png");
  // The first tile is the photo itself: the layout assumed here is the panel's.
  expect_same_pixels(panel_tile(panel, 0, photo.width, photo.height), photo);
  return {panel_tile(panel, 1, photo.width, photo.height), read_npy(dir / "map.npy")};
}

TEST(CamPanel, DefaultOverlayIsMinMaxJetAtHalfOpacity) {
  const Image photo = load_image(photo_input());
  const PanelRun run = panel_run({"--class", "bird"});
  expect_same_pixels(run.tile, expected_overlay(photo, {run.raw}, "minmax", Colormap::kJet, 0.5f));
}

TEST(CamPanel, NormMaxClipsNegativesAndDividesByTheMax) {
  // On a map after the ReLU whose minimum is 0, max and minmax agree; the signed map tells them
  // apart.
  const Image photo = load_image(photo_input());
  const PanelRun minmax_run = panel_run({"--class", "bird", "--signed"});
  const PanelRun max_run = panel_run({"--class", "bird", "--signed", "--norm", "max"});
  ASSERT_LT(*std::min_element(max_run.raw.data(), max_run.raw.data() + max_run.raw.size()), 0.0f);
  expect_same_pixels(max_run.tile,
                     expected_overlay(photo, {max_run.raw}, "max", Colormap::kJet, 0.5f));
  expect_same_pixels(minmax_run.tile,
                     expected_overlay(photo, {minmax_run.raw}, "minmax", Colormap::kJet, 0.5f));
  expect_different_pixels(max_run.tile, minmax_run.tile);
}

TEST(CamPanel, ColormapColoursTheMapWithThatTable) {
  const Image photo = load_image(photo_input());
  const PanelRun jet = panel_run({"--class", "bird"});
  for (const char* name : {"turbo", "viridis", "inferno", "jet"}) {
    SCOPED_TRACE(name);
    const PanelRun run = panel_run({"--class", "bird", "--colormap", name});
    expect_same_pixels(run.tile,
                       expected_overlay(photo, {run.raw}, "minmax", parse_colormap(name), 0.5f));
    if (std::string(name) != "jet") expect_different_pixels(run.tile, jet.tile);
  }
}

TEST(CamPanel, AlphaIsTheHeatmapsOpacity) {
  const Image photo = load_image(photo_input());
  const PanelRun half = panel_run({"--class", "bird"});
  for (float alpha : {0.0f, 0.25f, 1.0f}) {
    SCOPED_TRACE(alpha);
    char text[16];
    std::snprintf(text, sizeof text, "%g", static_cast<double>(alpha));
    const PanelRun run = panel_run({"--class", "bird", "--alpha", text});
    expect_same_pixels(run.tile,
                       expected_overlay(photo, {run.raw}, "minmax", Colormap::kJet, alpha));
    expect_different_pixels(run.tile, half.tile);
  }
  // The ends: the photo itself, and the bare heatmap.
  expect_same_pixels(panel_run({"--class", "bird", "--alpha", "0"}).tile, photo);
  const PanelRun opaque = panel_run({"--class", "bird", "--alpha", "1"});
  expect_same_pixels(
      opaque.tile,
      colorize(upsample_bilinear(minmax(opaque.raw), photo.height, photo.width), Colormap::kJet));
}

TEST(CamPanel, SeveralLayersAverageTheirNormalizedMaps) {
  TempDir dir;
  cam(dir, {"--class", "bird", "--layer", "mixed", "--layer", kLayer}, photo_input());
  const Image photo = load_image(photo_input());
  const Image tile = panel_tile(load_image(dir / "panel.png"), 1, photo.width, photo.height);
  const std::vector<Tensor> maps = {read_npy(dir / "map_bird_mixed.npy"),
                                    read_npy(dir / "map_bird_top_conv.npy")};
  expect_same_pixels(tile, expected_overlay(photo, maps, "minmax", Colormap::kJet, 0.5f));
  expect_different_pixels(tile, expected_overlay(photo, {maps[1]}, "minmax", Colormap::kJet, 0.5f));
}

// ---- guided backpropagation and guided Grad-CAM ----

// The picture of a gradient, as gaze draws it: standardized over all values, scaled to a 0.1
// spread around grey, clipped to [0, 1], rounded to bytes.
Image gradient_picture(const Tensor& g) {
  const int64_t h = g.dim(1), w = g.dim(2), c = g.dim(3);
  double mean = 0.0, sq = 0.0;
  for (float v : g.values()) mean += v;
  mean /= static_cast<double>(g.size());
  for (float v : g.values()) sq += (v - mean) * (v - mean);
  const double stdev = std::sqrt(sq / static_cast<double>(g.size())) + 1e-12;
  Image img{static_cast<int>(w), static_cast<int>(h),
            std::vector<uint8_t>(static_cast<size_t>(h * w * 3))};
  for (int64_t i = 0; i < h * w * 3; ++i) {
    const double v = (g.data()[i / 3 * c + std::min<int64_t>(i % 3, c - 1)] - mean) / stdev;
    img.rgb[static_cast<size_t>(i)] =
        static_cast<uint8_t>(std::lround(std::clamp(v * 0.1 + 0.5, 0.0, 1.0) * 255.0));
  }
  return img;
}

// PyTorch's guided backpropagation of the tiny model on chelsea for class bird: d logit / d input
// [224, 224, 3] with the guided ReLU rule (tools/reference/torch_guided.py, float64).
Tensor torch_guided_reference() {
  return read_npy(fixture_path("torch/tiny_chelsea_bird_guided.npy"));
}

TEST(CamGuided, GuidedGradientsEqualPyTorchsGuidedBackprop) {
  const Tensor input = tiny_input(npy_input());
  CamSession session(tiny(), input, {kLayer}, true);
  const Tensor got = session.guided_gradients(kBird, ScoreKind::kLogit);
  const Tensor want = torch_guided_reference().reshape({1, 224, 224, 3});
  expect_map_near(got, want, 1e-4f);
  double dot = 0.0, gg = 0.0, ww = 0.0;
  for (int64_t i = 0; i < got.size(); ++i) {
    dot += double{got.data()[i]} * want.data()[i];
    gg += double{got.data()[i]} * got.data()[i];
    ww += double{want.data()[i]} * want.data()[i];
  }
  const double correlation = dot / std::sqrt(gg * ww);
  EXPECT_GT(correlation, 0.99999);
  std::printf(
      "[ measured ] guided backprop vs PyTorch: max |diff| / max |torch| = %.3g, cosine %.9f\n",
      max_diff(got, want) / max_abs(want), correlation);
}

TEST(CamGuided, GuidedBackpropPanelIsTheGradientsPicture) {
  const Tensor g = CamSession(tiny(), tiny_input(npy_input()), {kLayer}, true)
                       .guided_gradients(kBird, ScoreKind::kLogit);
  TempDir dir;
  const RunResult r =
      testing::run_gaze({"cam", "--model", testing::tiny_model(), "--method", "guided-backprop",
                         "--class", "bird", "--out", dir / "panel.png", npy_input()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // A .npy input is shown at its own size, 224x224, so the tile is not resized.
  const Image tile = panel_tile(load_image(dir / "panel.png"), 1, 224, 224);
  expect_same_pixels(tile, gradient_picture(g));
}

TEST(CamGuided, GuidedGradCamIsTheGuidedGradientTimesTheUpsampledNormalizedGradCam) {
  const Tensor input = tiny_input(npy_input());
  const Tensor guided =
      CamSession(tiny(), input, {kLayer}, true).guided_gradients(kBird, ScoreKind::kLogit);
  TempDir dir;
  cam(dir, {"--method", "guided-gradcam", "--class", "bird"}, npy_input());
  const Tensor raw = read_npy(dir / "map.npy");  // Grad-CAM after its ReLU, as documented
  CamSession session(tiny(), input, {kLayer}, true);
  expect_map_near(raw, relu_map(grad_cam(session.activations(kLayer),
                                         session.gradients(kLayer, kBird, ScoreKind::kLogit))));
  const Tensor unit = upsample_bilinear(minmax(raw), 224, 224);
  Tensor product = guided.clone();
  for (int64_t i = 0; i < product.size(); ++i) product.data()[i] *= unit.data()[i / 3];
  const Image tile = panel_tile(load_image(dir / "panel.png"), 1, 224, 224);
  expect_same_pixels(tile, gradient_picture(product));
  expect_different_pixels(tile, gradient_picture(guided));
}

// ---- --preprocessing and --rating ----

std::vector<json> json_lines(const std::string& text) {
  std::vector<json> objects;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) objects.push_back(json::parse(line));
  return objects;
}

// The "predictions" of one output object as probabilities by class index.
std::vector<double> probabilities_by_index(const json& object) {
  std::vector<double> p(object.at("predictions").size(), -1.0);
  for (const json& pr : object.at("predictions"))
    p.at(pr.at("index").get<size_t>()) = pr.at("prob").get<double>();
  return p;
}

// The README's formulas, for an image already at the model's size (no resize).
Tensor preprocess_by_hand(const Image& image, const std::string& method) {
  Tensor t({1, image.height, image.width, 3});
  const float caffe_mean[3] = {103.939f, 116.779f, 123.68f};  // B, G, R
  const float torch_mean[3] = {0.485f, 0.456f, 0.406f}, torch_std[3] = {0.229f, 0.224f, 0.225f};
  for (int64_t p = 0; p < int64_t{image.width} * image.height; ++p) {
    for (int c = 0; c < 3; ++c) {
      const float rgb = image.rgb[static_cast<size_t>(p * 3 + c)];
      const float bgr = image.rgb[static_cast<size_t>(p * 3 + 2 - c)];
      float& out = t.data()[p * 3 + c];
      if (method == "nsfwjs") out = rgb / 255.0f;
      if (method == "keras-inception") out = rgb / 127.5f - 1.0f;
      if (method == "caffe") out = bgr - caffe_mean[c];
      if (method == "torch") out = (rgb / 255.0f - torch_mean[c]) / torch_std[c];
      if (method == "none") out = rgb;
    }
  }
  return t;
}

TEST(CamOptions, PreprocessingIsTheDocumentedFormula) {
  // A colour photo at the model's own size, so that each method is its formula alone.
  TempDir dir;
  const Image photo = resize_image(load_image(photo_input()), 224, 224);
  save_image(dir / "photo.png", photo);
  std::vector<std::vector<double>> seen;
  for (const char* method : {"nsfwjs", "keras-inception", "caffe", "torch", "none"}) {
    SCOPED_TRACE(method);
    const Tensor want = tiny().forward(preprocess_by_hand(photo, method)).output.value();
    const RunResult r =
        testing::run_gaze({"classify", "--model", testing::tiny_model(), "--json", "--top", "0",
                           "--preprocessing", method, dir / "photo.png"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::vector<json> lines = json_lines(r.out);
    ASSERT_EQ(lines.size(), 1u);
    const std::vector<double> got = probabilities_by_index(lines[0]);
    ASSERT_EQ(got.size(), 5u);
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want.data()[i], 2e-6) << i;
    for (const std::vector<double>& other : seen) {  // each method gives other probabilities
      double d = 0.0;
      for (size_t i = 0; i < got.size(); ++i) d = std::max(d, std::abs(got[i] - other[i]));
      EXPECT_GT(d, 1e-3);
    }
    seen.push_back(got);
  }
  // cam takes the same option: its predictions and its map are those of the caffe input.
  const Tensor caffe = preprocess_by_hand(photo, "caffe");
  const Tensor probs = tiny().forward(caffe).output.value();
  const RunResult r =
      cam(dir, {"--json", "--top-predictions", "0", "--class", "bird", "--preprocessing", "caffe"},
          dir / "photo.png");
  const std::vector<json> lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 1u);
  const std::vector<double> got = probabilities_by_index(lines[0]);
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], probs.data()[i], 2e-6) << i;
  CamSession session(tiny(), caffe, {kLayer}, true);
  expect_map_near(read_npy(dir / "map.npy"),
                  relu_map(grad_cam(session.activations(kLayer),
                                    session.gradients(kLayer, kBird, ScoreKind::kLogit))));
}

TEST(CamOptions, RatingIsTheExpectedWeightUnderThePrintedProbabilities) {
  const std::map<std::string, double> weights = {
      {"cat", 10}, {"dog", 5}, {"fish", 2.5}, {"frog", 1}};
  const std::string spec = "cat=10,dog=5,fish=2.5,frog=1";  // bird: weight 0
  TempDir dir;
  const RunResult json_run =
      cam(dir, {"--json", "--top-predictions", "0", "--rating", spec}, npy_input());
  const std::vector<json> lines = json_lines(json_run.out);
  ASSERT_EQ(lines.size(), 1u);
  double want = 0.0;
  for (const json& pr : lines[0].at("predictions")) {
    const auto it = weights.find(pr.at("class").get<std::string>());
    if (it != weights.end()) want += it->second * pr.at("prob").get<double>();
  }
  EXPECT_GT(want, 0.0);
  EXPECT_NEAR(lines[0].at("rating").get<double>(), want, 1e-6);
  // The text output prints it with two decimals, after the predictions.
  const RunResult text_run = cam(dir, {"--top-predictions", "0", "--rating", spec}, npy_input());
  char line[64];
  std::snprintf(line, sizeof line, "  rating %.2f/10", want);
  const std::vector<std::string> out = text_run.out_lines();
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back(), line) << text_run.out;
}

// ---- classify against TensorFlow.js on the real models ----

struct RealModel {
  const char* key;   // in nsfwjs_reference.json
  const char* file;  // under models/
};

// Runs `gaze classify --json --top 0` on the reference's PNG photos (whose decoding is exact, so
// that gaze must give TF.js's probabilities) and returns the worst |gaze - TF.js|.
double worst_difference_from_tfjs(const RealModel& model, const std::vector<std::string>& extra) {
  const json ref = testing::read_json_fixture("nsfwjs_reference.json");
  std::vector<std::string> args = {"classify", "--model", testing::model_path(model.file),
                                   "--json",   "--top",   "0"};
  args.insert(args.end(), extra.begin(), extra.end());
  std::map<std::string, std::vector<double>> want;
  for (const json& image : ref.at("images")) {
    const std::string file = image.at("file");
    if (!file.ends_with(".png")) continue;
    args.push_back(fixture_path(file));
    want[fixture_path(file)] =
        image.at("models").at(model.key).at("probs_image").get<std::vector<double>>();
  }
  const RunResult r = testing::run_gaze(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::vector<json> lines = json_lines(r.out);
  EXPECT_EQ(lines.size(), want.size());
  double worst = 0.0;
  for (const json& line : lines) {
    const std::vector<double> got = probabilities_by_index(line);
    const std::vector<double>& w = want.at(line.at("input").get<std::string>());
    EXPECT_EQ(got.size(), w.size());
    for (size_t i = 0; i < std::min(got.size(), w.size()); ++i)
      worst = std::max(worst, std::abs(got[i] - w[i]));
  }
  return worst;
}

void PrintTo(const RealModel& m, std::ostream* os) {
  *os << m.file;
}

class ClassifyAgainstTfjs : public ::testing::TestWithParam<RealModel> {};

TEST_P(ClassifyAgainstTfjs, GivesTfjsProbabilitiesAndAWrongPreprocessingDoesNot) {
  GAZE_REQUIRE_MODEL(GetParam().file);
  const double right = worst_difference_from_tfjs(GetParam(), {});
  EXPECT_LE(right, 1e-5);
  // The comparison has the power to catch a wrong preprocessing: each other method misses by far.
  std::printf("[ measured ] %s: classify on the PNG photos, max |gaze - TF.js| = %.3g\n",
              GetParam().key, right);
  for (const char* wrong : {"keras-inception", "caffe", "torch", "none"}) {
    SCOPED_TRACE(wrong);
    const double miss = worst_difference_from_tfjs(GetParam(), {"--preprocessing", wrong});
    EXPECT_GT(miss, 1e-2);
    std::printf("[ measured ]   with --preprocessing %s: %.3g\n", wrong, miss);
  }
}

INSTANTIATE_TEST_SUITE_P(Models, ClassifyAgainstTfjs,
                         ::testing::Values(RealModel{"mobilenet_v2", "nsfwjs_mobilenet_v2.h5"},
                                           RealModel{"inception_v3", "nsfwjs_inception_v3.h5"}),
                         [](const ::testing::TestParamInfo<RealModel>& p) {
                           return std::string(p.param.key);
                         });

}  // namespace
}  // namespace gaze
