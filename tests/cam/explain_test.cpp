// CamSession on tiny models whose gradients can be written down by hand.
#include <gtest/gtest.h>

#include <cmath>

#include "cam/explain.h"
#include "cam/methods.h"
#include "cam/render.h"
#include "layers/keras_layers.h"
#include "tests/support/test_util.h"

namespace gaze {
namespace {

using testing::random_tensor;

void set_weight(Model& m, const std::string& layer, const std::string& weight, Tensor value) {
  for (Weight& w : m.layer(m.index_of(layer)).weights()) {
    if (w.name == weight) w.value = std::move(value);
  }
}

// input [3,4,2] -> conv 3x3 same (5 channels, relu) "feat" -> GAP -> Dense(3, softmax) "out";
// or, as fine-tuned models have it, GAP -> Dropout -> Dense(3) "out" -> Activation('softmax').
Model gap_dense_model(uint32_t seed, bool fine_tuned_head = false) {
  Model m;
  m.add(std::make_unique<InputLayer>("in", Shape{-1, 3, 4, 2}), {});
  m.add(std::make_unique<Conv2D>("feat", Conv2DConfig{5, 3, 3, 1, 1, Padding::kSame, true,
                                                      Activation{ActivationKind::kRelu}}),
        {"in"});
  m.add(std::make_unique<GlobalAveragePooling2D>("gap"), {"feat"});
  const Activation softmax{ActivationKind::kSoftmax};
  if (fine_tuned_head) {
    m.add(std::make_unique<Dropout>("drop"), {"gap"});
    m.add(std::make_unique<Dense>("out", DenseConfig{3, true, Activation{}}), {"drop"});
    m.add(std::make_unique<ActivationLayer>("probs", softmax), {"out"});
  } else {
    m.add(std::make_unique<Dense>("out", DenseConfig{3, true, softmax}), {"gap"});
  }
  set_weight(m, "feat", "kernel", random_tensor({3, 3, 2, 5}, seed));
  set_weight(m, "feat", "bias", random_tensor({5}, seed + 1, 0.1f, 0.5f));
  set_weight(m, "out", "kernel", random_tensor({5, 3}, seed + 2));
  set_weight(m, "out", "bias", random_tensor({3}, seed + 3));
  return m;
}

Tensor dense_kernel(const Model& m) {
  return m.layer(m.index_of("out")).weights()[0].value;
}

TEST(CamSession, LogitGradientOfAGapDenseHeadIsTheDenseWeightOverTheCellCount) {
  const Model m = gap_dense_model(1);
  CamSession s(m, random_tensor({1, 3, 4, 2}, 9), {"feat"}, true);
  const Tensor w = dense_kernel(m);
  const Tensor p = s.probabilities();
  for (int c = 0; c < 3; ++c) {
    const Tensor g = s.gradients("feat", c, ScoreKind::kLogit);
    const Tensor gp = s.gradients("feat", c, ScoreKind::kProbability);
    for (int64_t cell = 0; cell < 12; ++cell) {
      for (int64_t k = 0; k < 5; ++k) {
        // d logit_c / d A_k = W[k,c] / 12;  d p_c / d A_k = p_c (W[k,c] - sum_j p_j W[k,j]) / 12
        EXPECT_NEAR(g.data()[cell * 5 + k], w.at(k, c) / 12.0, 1e-7);
        double mix = 0.0;
        for (int j = 0; j < 3; ++j) mix += p.data()[j] * w.at(k, j);
        EXPECT_NEAR(gp.data()[cell * 5 + k], p.data()[c] * (w.at(k, c) - mix) / 12.0, 1e-7);
      }
    }
  }
}

TEST(CamSession, CamEqualsGradCamUpToAPositiveFactorOnGapDense) {
  const Model m = gap_dense_model(2);
  CamSession s(m, random_tensor({1, 3, 4, 2}, 10), {"feat"}, true);
  for (int c = 0; c < 3; ++c) {
    CamOptions cam_options, grad_options;
    cam_options.method = CamMethod::kCam;
    const Tensor cam = s.map("feat", c, cam_options);
    const Tensor grad = s.map("feat", c, grad_options);
    for (int64_t i = 0; i < cam.size(); ++i)
      EXPECT_NEAR(cam.data()[i], 12.0f * grad.data()[i], 1e-5f);
  }
}

// The head fine-tuned models have: GAP -> Dropout -> Dense (linear) -> Activation('softmax').
TEST(CamSession, CamAcceptsAFineTunedHeadWithDropoutAndASoftmaxActivation) {
  const Model m = gap_dense_model(2, /*fine_tuned_head=*/true);
  CamSession s(m, random_tensor({1, 3, 4, 2}, 10), {"feat"}, true);
  const Tensor& a = s.activations("feat");
  const Tensor& w = dense_kernel(m);
  for (int c = 0; c < 3; ++c) {
    CamOptions cam_options, grad_options;
    cam_options.method = CamMethod::kCam;
    const Tensor cam = s.map("feat", c, cam_options);
    const Tensor grad = s.map("feat", c, grad_options);  // the logit's gradient: W / 12
    for (int64_t p = 0; p < 12; ++p) {
      double want = 0.0;
      for (int64_t k = 0; k < 5; ++k) want += a.data()[p * 5 + k] * w.data()[k * 3 + c];
      EXPECT_NEAR(cam.data()[p], want, 1e-5);
      EXPECT_NEAR(cam.data()[p], 12.0f * grad.data()[p], 1e-5f);
    }
  }
}

TEST(CamSession, CounterfactualNegatesTheGradients) {
  const Model m = gap_dense_model(3);
  CamSession s(m, random_tensor({1, 3, 4, 2}, 11), {"feat"}, true);
  CamOptions plain, counter;
  counter.counterfactual = true;
  const Tensor a = s.map("feat", 1, plain), b = s.map("feat", 1, counter);
  for (int64_t i = 0; i < a.size(); ++i) EXPECT_FLOAT_EQ(a.data()[i], -b.data()[i]);
}

TEST(CamSession, CamRefusesAHeadThatIsNotPoolingAndOneDense) {
  Model m;
  m.add(std::make_unique<InputLayer>("in", Shape{-1, 4, 4, 1}), {});
  m.add(std::make_unique<Conv2D>("feat", Conv2DConfig{2, 3, 3, 1, 1, Padding::kSame, true,
                                                      Activation{ActivationKind::kRelu}}),
        {"in"});
  m.add(std::make_unique<Flatten>("flat"), {"feat"});
  m.add(std::make_unique<Dense>("hidden", DenseConfig{4, true, Activation{ActivationKind::kRelu}}),
        {"flat"});
  m.add(std::make_unique<Dense>("out", DenseConfig{2, true, Activation{ActivationKind::kSoftmax}}),
        {"hidden"});
  for (size_t i = 0; i < m.size(); ++i)
    for (Weight& w : m.layer(i).weights()) w.value = random_tensor(w.shape, 5);
  CamSession s(m, random_tensor({1, 4, 4, 1}, 6), {"feat"}, false);
  CamOptions o;
  o.method = CamMethod::kCam;
  try {
    s.map("feat", 0, o);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("use gradcam"), std::string::npos) << e.what();
  }
}

TEST(CamSession, GradientsAtSeveralLayersMatchGradientsAtEachAlone) {
  // in -> conv "a" -> conv "b" -> GAP -> Dense: recording starts at "a", and "b" is read at its
  // node.
  Model m;
  m.add(std::make_unique<InputLayer>("in", Shape{-1, 5, 5, 2}), {});
  m.add(std::make_unique<Conv2D>("a", Conv2DConfig{3, 3, 3, 1, 1, Padding::kSame, true,
                                                   Activation{ActivationKind::kRelu}}),
        {"in"});
  m.add(std::make_unique<Conv2D>("b", Conv2DConfig{4, 3, 3, 2, 2, Padding::kSame, true,
                                                   Activation{ActivationKind::kRelu}}),
        {"a"});
  m.add(std::make_unique<GlobalAveragePooling2D>("gap"), {"b"});
  m.add(std::make_unique<Dense>("out", DenseConfig{3, true, Activation{ActivationKind::kSoftmax}}),
        {"gap"});
  uint32_t seed = 20;
  for (size_t i = 0; i < m.size(); ++i)
    for (Weight& w : m.layer(i).weights()) w.value = random_tensor(w.shape, seed++, 0.05f, 1.0f);
  const Tensor x = random_tensor({1, 5, 5, 2}, 30, 0.0f, 1.0f);
  CamSession both(m, x, {"a", "b"}, true), only_a(m, x, {"a"}, true), only_b(m, x, {"b"}, true);
  EXPECT_EQ(testing::max_abs_diff(both.gradients("a", 2, ScoreKind::kLogit),
                                  only_a.gradients("a", 2, ScoreKind::kLogit)),
            0.0f);
  EXPECT_EQ(testing::max_abs_diff(both.gradients("b", 2, ScoreKind::kLogit),
                                  only_b.gradients("b", 2, ScoreKind::kLogit)),
            0.0f);
  EXPECT_GT(testing::max_abs(both.gradients("a", 2, ScoreKind::kLogit)), 0.0f);
}

TEST(CamSession, GuidedBackpropOnATwoLayerNetByHand) {
  // x = [1, -1] -> Dense W1 (relu) -> h = relu([2, 1]) -> Dense W2 -> logits [0, -1].
  // d logit_0 / d h = W2[:, 0] = [1, -2]. Standard: d/dx = W1 [1, -2] = [-3, -3].
  // Guided: the ReLU passes only positive gradients: [1, 0], so d/dx = W1 [1, 0] = [1, -1].
  Model m;
  m.add(std::make_unique<InputLayer>("in", Shape{-1, 1, 1, 2}), {});
  m.add(std::make_unique<Flatten>("flat"), {"in"});
  m.add(std::make_unique<Dense>("h", DenseConfig{2, false, Activation{ActivationKind::kRelu}}),
        {"flat"});
  m.add(std::make_unique<Dense>("out", DenseConfig{2, false, Activation{ActivationKind::kSoftmax}}),
        {"h"});
  set_weight(m, "h", "kernel", Tensor::from({2, 2}, {1, 2, -1, 1}));
  set_weight(m, "out", "kernel", Tensor::from({2, 2}, {1, -1, -2, 1}));
  const Tensor x = Tensor::from({1, 1, 1, 2}, {1, -1});
  CamSession s(m, x, {}, false);
  const Tensor guided = s.guided_gradients(0, ScoreKind::kLogit);
  EXPECT_FLOAT_EQ(guided.data()[0], 1.0f);
  EXPECT_FLOAT_EQ(guided.data()[1], -1.0f);
  // The same graph with the standard rule gives the plain gradient.
  Model::ForwardOptions o;
  o.grad_layers = {"in"};
  const Model::ForwardResult r = m.forward(x, o);
  backward(r.logits, Tensor::from({1, 2}, {1, 0}));
  EXPECT_FLOAT_EQ(r.kept.at("in").grad().data()[0], -3.0f);
  EXPECT_FLOAT_EQ(r.kept.at("in").grad().data()[1], -3.0f);
}

TEST(CamSession, ScoreCamWeighsChannelsBySoftmaxOfMaskedScores) {
  const Model m = gap_dense_model(4);
  const Tensor x = random_tensor({1, 3, 4, 2}, 12);
  CamSession s(m, x, {"feat"}, false);
  const Tensor& a = s.activations("feat");
  // Independent computation, one masked forward pass per channel, all 5 channels.
  std::vector<double> scores;
  for (int k = 0; k < 5; ++k) {
    Tensor channel({3, 4});
    for (int64_t p = 0; p < 12; ++p) channel.data()[p] = a.data()[p * 5 + k];
    const Tensor mask = upsample_bilinear(normalize_map(channel, MapNorm::kMinMax), 3, 4);
    Tensor masked = x.clone();
    for (int64_t p = 0; p < 12; ++p)
      for (int c = 0; c < 2; ++c) masked.data()[p * 2 + c] *= mask.data()[p];
    scores.push_back(m.forward(masked).output.value().data()[1]);
  }
  double total = 0.0;
  for (double& v : scores) total += v = std::exp(v);
  Tensor want = Tensor::zeros({3, 4});
  for (int64_t p = 0; p < 12; ++p)
    for (int k = 0; k < 5; ++k)
      want.data()[p] +=
          static_cast<float>(scores[static_cast<size_t>(k)] / total) * a.data()[p * 5 + k];
  for (int batch : {1, 2, 8}) {
    CamOptions o;
    o.method = CamMethod::kScoreCam;
    o.score_cam_batch = batch;
    EXPECT_LE(testing::max_abs_diff(s.map("feat", 1, o), want), 1e-6f) << "batch " << batch;
  }
}

}  // namespace
}  // namespace gaze
