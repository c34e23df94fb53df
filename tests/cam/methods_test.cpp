// Each CAM method on a 2x2 layer with 2 channels, against values worked out by hand.
//   cells p = 0..3 (row-major), A_0 = [1, 2, 3, 4], A_1 = [0, 1, 0, 2]
//                               G_0 = [.5, .5, -.5, .5], G_1 = [1, -1, 2, 0]
#include <gtest/gtest.h>

#include <cmath>

#include "cam/methods.h"

namespace gaze {
namespace {

Tensor layer(const std::vector<float>& c0, const std::vector<float>& c1) {
  Tensor t({1, 2, 2, 2});
  for (int p = 0; p < 4; ++p) {
    t.data()[p * 2] = c0[static_cast<size_t>(p)];
    t.data()[p * 2 + 1] = c1[static_cast<size_t>(p)];
  }
  return t;
}

const Tensor kA = layer({1, 2, 3, 4}, {0, 1, 0, 2});
const Tensor kG = layer({.5f, .5f, -.5f, .5f}, {1, -1, 2, 0});

void expect_map(const Tensor& map, const std::vector<double>& want) {
  ASSERT_EQ(map.shape(), (Shape{2, 2}));
  for (size_t p = 0; p < 4; ++p) EXPECT_NEAR(map.data()[p], want[p], 1e-6) << "cell " << p;
}

TEST(CamMethods, GradCam) {
  // w = mean G = (.25, .5); map = .25 A_0 + .5 A_1
  expect_map(grad_cam(kA, kG), {0.25, 1.0, 0.75, 2.0});
}

TEST(CamMethods, GradCamPlusPlus) {
  // channel 0 (sum A = 10): g = .5 -> alpha = .25 / (.5 + 10 * .125) = 1/7, three such cells:
  //   w_0 = 3 * (1/7) * .5 = 3/14; g = -.5 contributes relu(g) = 0.
  // channel 1 (sum A = 3): g = 1 -> alpha = 1/5, +.2; g = 2 -> alpha = 4/(8 + 24) = 1/8, +.25;
  //   g = -1 -> 0; g = 0 -> alpha 0.  w_1 = .45
  const double w0 = 3.0 / 14.0, w1 = 0.45;
  expect_map(grad_cam_plus_plus(kA, kG), {w0, 2 * w0 + w1, 3 * w0, 4 * w0 + 2 * w1});
}

TEST(CamMethods, HiResCam) {
  // A_0 G_0 + A_1 G_1 per cell
  expect_map(hires_cam(kA, kG), {0.5, 0.0, -1.5, 2.0});
}

TEST(CamMethods, XGradCam) {
  // w_0 = (.5 + 1 - 1.5 + 2) / 10 = .2, w_1 = (0 - 1 + 0 + 0) / 3
  const double w1 = -1.0 / 3.0;
  expect_map(xgrad_cam(kA, kG), {0.2, 0.4 + w1, 0.6, 0.8 + 2 * w1});
}

TEST(CamMethods, LayerCam) {
  // A_0 relu(G_0) + A_1 relu(G_1)
  expect_map(layer_cam(kA, kG), {0.5, 1.0, 0.0, 2.0});
}

TEST(CamMethods, ClassActivationMap) {
  const Tensor kernel = Tensor::from({2, 3}, {1, 2, 3, 4, 5, 6});  // [channels, classes]
  expect_map(class_activation_map(kA, kernel, 1), {2, 4 + 5, 6, 8 + 10});
  EXPECT_THROW(class_activation_map(kA, kernel, 3), Error);
}

TEST(CamMethods, EigenCamFindsTheRankOneComponentWithAPositiveSign) {
  // A_pk = 5 + s_p v_k with centred s: the first component is v, the projection is s |v|^2.
  const std::vector<float> s = {1, -2, 3, -2}, v = {.6f, .8f};
  const Tensor a = layer({5 + s[0] * v[0], 5 + s[1] * v[0], 5 + s[2] * v[0], 5 + s[3] * v[0]},
                         {5 + s[0] * v[1], 5 + s[1] * v[1], 5 + s[2] * v[1], 5 + s[3] * v[1]});
  expect_map(eigen_cam(a), {1, -2, 3, -2});
}

TEST(CamMethods, ScoreCamCombination) {
  expect_map(weighted_channel_sum(kA, {0.75f, 0.25f}, {0, 1}), {0.75, 1.75, 2.25, 3.5});
}

TEST(CamMethods, ReluMapAndShapeErrors) {
  expect_map(relu_map(hires_cam(kA, kG)), {0.5, 0.0, 0.0, 2.0});
  EXPECT_THROW(grad_cam(kA, Tensor::zeros({1, 2, 2, 3})), Error);
  EXPECT_THROW(grad_cam(Tensor::zeros({2, 3}), Tensor::zeros({2, 3})), Error);
}

}  // namespace
}  // namespace gaze
