// Dense on inputs of rank 3 and 4 (ConvNeXt's pointwise layers): the kernel applied to the last
// axis at every position, against a loop; the pre-activation; gradients.
#include <gtest/gtest.h>

#include "tests/support/keras_layer.h"

namespace gaze {
namespace {

using testing::keras_layer;
using testing::random_tensor;

TEST(Dense, AppliesTheKernelToTheLastAxisOfAnyRank) {
  for (const Shape& in : {Shape{2, 3, 4, 6}, Shape{2, 5, 6}, Shape{3, 6}}) {
    testing::BuiltLayer b = keras_layer(
        "Dense", std::string("{") + testing::kKeras3Base + R"(, "units": 4, "activation": "sigmoid",
        "use_bias": true})",
        {in});
    Shape out = testing::with_unknown_batch(in);
    out.back() = 4;
    EXPECT_EQ(b.output_shape, out);
    const Tensor k = random_tensor({6, 4}, 1), bias = random_tensor({4}, 2);
    testing::set_weights(*b.layer, {k, bias});
    const Tensor x = random_tensor(in, 3);
    const LayerOutput y = b.layer->forward({Var(x)});
    const int64_t rows = x.size() / 6;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t o = 0; o < 4; ++o) {
        double s = bias.at(o);
        for (int64_t i = 0; i < 6; ++i) s += static_cast<double>(x.data()[r * 6 + i]) * k.at(i, o);
        EXPECT_NEAR(y.pre_activation.value().data()[r * 4 + o], s, 1e-5);
        EXPECT_NEAR(y.output.value().data()[r * 4 + o], 1.0 / (1.0 + std::exp(-s)), 1e-6);
      }
    ASSERT_EQ(y.output.shape().size(), in.size());
    testing::check_layer_gradients(*b.layer, {random_tensor(in, 4)});
  }
}

TEST(Dense, RejectsAnUnknownLastAxis) {
  EXPECT_NE(
      testing::config_error("Dense", R"({"units": 2})", {{1}}).find("Dense 'l': expects input"),
      std::string::npos);
}

}  // namespace
}  // namespace gaze
