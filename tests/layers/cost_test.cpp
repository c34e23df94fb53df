// layer_costs: the multiply-adds and bytes of each layer, against the formulas written out by
// hand for a small model, with and without Winograd's algorithm.
#include <gtest/gtest.h>

#include "layers/cost.h"
#include "layers/keras_layers.h"
#include "layers/model.h"
#include "tests/support/test_util.h"

namespace gaze {
namespace {

// in [18, 17, 3] -> c1 3x3 same, 4 filters (Winograd: stride 1, 306 output pixels) -> b1 -> r1
// -> c2 1x1 stride 2, 5 filters [9, 9, 5] -> gap -> out Dense 3.
Model small_model() {
  Model m;
  m.add(std::make_unique<InputLayer>("in", Shape{-1, 18, 17, 3}), {});
  m.add(std::make_unique<Conv2D>("c1",
                                 Conv2DConfig{4, 3, 3, 1, 1, Padding::kSame, false, Activation{}}),
        {"in"});
  m.add(std::make_unique<BatchNormalization>("b1", BatchNormalizationConfig{1e-3f, true, true}),
        {"c1"});
  m.add(std::make_unique<ActivationLayer>("r1", Activation{ActivationKind::kRelu}), {"b1"});
  m.add(std::make_unique<Conv2D>("c2",
                                 Conv2DConfig{5, 1, 1, 2, 2, Padding::kValid, true, Activation{}}),
        {"r1"});
  m.add(std::make_unique<GlobalAveragePooling2D>("gap"), {"c2"});
  m.add(std::make_unique<Dense>("out", DenseConfig{3, true, Activation{ActivationKind::kSoftmax}}),
        {"gap"});
  uint32_t seed = 1;
  for (size_t i = 0; i < m.size(); ++i) {
    for (Weight& w : m.layer(i).weights()) {
      w.value = testing::random_tensor(w.shape, seed++, 0.5f, 1.5f);
    }
  }
  return m;
}

TEST(LayerCosts, CountTheDirectAndTheExecutedMultiplyAddsAndTheBytes) {
  Model m = small_model();
  std::vector<LayerCost> c = layer_costs(m);
  ASSERT_EQ(c.size(), m.size());
  const size_t c1 = m.index_of("c1"), c2 = m.index_of("c2"), out = m.index_of("out");
  EXPECT_EQ(c[c1].multiply_adds, 18 * 17 * 3 * 3 * 3 * 4);
  EXPECT_TRUE(c[c1].winograd);
  // 4x4 tiles: ceil(18/4) * ceil(17/4) = 25 tiles of 6x6 products, each over 3 x 4 channels.
  EXPECT_EQ(c[c1].executed_multiply_adds, 25 * 36 * 3 * 4);
  EXPECT_EQ(c[c1].bytes, 4 * (18 * 17 * 3 + 18 * 17 * 4 + 3 * 3 * 3 * 4));
  EXPECT_EQ(c[c2].multiply_adds, 9 * 9 * 4 * 5);
  EXPECT_FALSE(c[c2].winograd);
  EXPECT_EQ(c[c2].executed_multiply_adds, c[c2].multiply_adds);
  EXPECT_EQ(c[c2].bytes, 4 * (18 * 17 * 4 + 9 * 9 * 5 + 4 * 5 + 5));
  EXPECT_EQ(c[out].multiply_adds, 5 * 3);
  EXPECT_EQ(c[m.index_of("b1")].multiply_adds, 0);
  EXPECT_EQ(c[m.index_of("b1")].bytes, 4 * (2 * 18 * 17 * 4 + 4 * 4));  // gamma, beta, mean, var

  m.use_winograd(false);
  c = layer_costs(m);
  EXPECT_FALSE(c[c1].winograd);
  EXPECT_EQ(c[c1].executed_multiply_adds, c[c1].multiply_adds);
}

}  // namespace
}  // namespace gaze
