// The merge layers (Add, Subtract, Multiply, Average, Maximum, Minimum) from Keras 2 and Keras 3
// configs: Keras' shape rule (inputs of lower rank expanded after the batch axis, then NumPy
// broadcasting), values against loops over explicit indices, gradients of broadcast inputs,
// ties, and the errors.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/support/keras_layer.h"

namespace gaze {
namespace {

using testing::keras_layer;
using testing::random_tensor;

constexpr const char* kClasses[] = {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"};

float combine(const std::string& cls, const std::vector<float>& v) {
  float y = v[0];
  for (size_t i = 1; i < v.size(); ++i) {
    if (cls == "Add" || cls == "Average") y += v[i];
    if (cls == "Subtract") y -= v[i];
    if (cls == "Multiply") y *= v[i];
    if (cls == "Maximum") y = std::max(y, v[i]);
    if (cls == "Minimum") y = std::min(y, v[i]);
  }
  return cls == "Average" ? y / static_cast<float>(v.size()) : y;
}

TEST(MergeLayers, BroadcastASqueezeExciteScaleOverTheMap) {
  // [N, H, W, C] with [N, 1, 1, C] (MobileNetV3, EfficientNet) and [N, C] (expanded to
  // [N, 1, 1, C]): element (n, i, j, c) combines a(n, i, j, c), b(n, 0, 0, c), v(n, c).
  const Tensor a = random_tensor({2, 3, 4, 5}, 1), b = random_tensor({2, 1, 1, 5}, 2),
               v = random_tensor({2, 5}, 3);
  for (const char* cls : kClasses) {
    for (const char* base : {testing::kKeras2Base, testing::kKeras3Base}) {
      const std::string config = std::string("{") + base + "}";
      const bool two = std::string(cls) == "Subtract";
      const std::vector<Shape> shapes =
          two ? std::vector<Shape>{{2, 3, 4, 5}, {2, 1, 1, 5}}
              : std::vector<Shape>{{2, 3, 4, 5}, {2, 1, 1, 5}, {2, 5}};
      testing::BuiltLayer l = keras_layer(cls, config, shapes);
      EXPECT_EQ(l.output_shape, (Shape{-1, 3, 4, 5})) << cls;
      const Tensor y = two ? testing::run(*l.layer, {a, b}) : testing::run(*l.layer, {a, b, v});
      ASSERT_EQ(y.shape(), (Shape{2, 3, 4, 5}));
      float worst = 0.0f;
      for (int64_t n = 0; n < 2; ++n)
        for (int64_t i = 0; i < 3; ++i)
          for (int64_t j = 0; j < 4; ++j)
            for (int64_t c = 0; c < 5; ++c) {
              std::vector<float> in = {a.at(n, i, j, c), b.at(n, 0, 0, c)};
              if (!two) in.push_back(v.at(n, c));
              worst = std::max(worst, std::abs(y.at(n, i, j, c) - combine(cls, in)));
            }
      EXPECT_EQ(worst, 0.0f) << cls;
    }
  }
}

TEST(MergeLayers, GradientsReachEveryInputSummedOverBroadcastAxes) {
  // Values 0.05 apart at least: Maximum and Minimum have no ties within the finite step.
  const Tensor a = testing::distinct_tensor({1, 3, 2, 4}, 4, 0.1f);
  Tensor b = testing::distinct_tensor({1, 1, 1, 4}, 5, 0.1f),
         v = testing::distinct_tensor({1, 4}, 6, 0.1f);
  for (float& x : b.values()) x += 0.05f;
  for (float& x : v.values()) x += 0.025f;
  for (const char* cls : kClasses) {
    const bool two = std::string(cls) == "Subtract";
    testing::BuiltLayer l =
        keras_layer(cls, "{}",
                    two ? std::vector<Shape>{{1, 3, 2, 4}, {1, 1, 1, 4}}
                        : std::vector<Shape>{{1, 3, 2, 4}, {1, 1, 1, 4}, {1, 4}});
    SCOPED_TRACE(cls);
    testing::check_layer_gradients(*l.layer,
                                   two ? std::vector<Tensor>{a, b} : std::vector<Tensor>{a, b, v});
  }
}

TEST(MergeLayers, MaximumAndMinimumGiveTiesToTheFirstInput) {
  for (const char* cls : {"Maximum", "Minimum"}) {
    testing::BuiltLayer l = keras_layer(cls, "{}", {{1, 2}, {1, 2}, {1, 2}});
    const Var a(Tensor::from({1, 2}, {1.0f, 2.0f}), true),
        b(Tensor::from({1, 2}, {1.0f, 2.0f}), true), c(Tensor::from({1, 2}, {1.0f, 2.0f}), true);
    backward(l.layer->forward({a, b, c}).output, Tensor::full({1, 2}, 1.0f));
    EXPECT_EQ(a.grad().at(0, 0), 1.0f) << cls;
    EXPECT_EQ(a.grad().at(0, 1), 1.0f) << cls;
    EXPECT_EQ(b.grad().at(0, 0), 0.0f) << cls;
    EXPECT_EQ(c.grad().at(0, 1), 0.0f) << cls;
  }
}

TEST(MergeLayers, AddOfSameShapesAsBefore) {
  testing::BuiltLayer l = keras_layer("Add", "{}", {{2, 3}, {2, 3}});
  EXPECT_EQ(l.output_shape, (Shape{-1, 3}));
  const Tensor a = random_tensor({2, 3}, 7), b = random_tensor({2, 3}, 8);
  const Tensor y = testing::run(*l.layer, {a, b});
  for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(y.data()[i], a.data()[i] + b.data()[i]);
}

TEST(MergeLayers, ShapeErrors) {
  const std::string mismatch =
      testing::config_error("Multiply", "{}", {{1, 4, 4, 8}, {1, 1, 1, 4}});
  EXPECT_NE(
      mismatch.find("Multiply 'l': input shapes [-1, 4, 4, 8] and [-1, 1, 1, 4] do not broadcast"),
      std::string::npos)
      << mismatch;
  const std::string three = testing::config_error("Subtract", "{}", {{1, 2}, {1, 2}, {1, 2}});
  EXPECT_NE(three.find("Subtract 'l': expects 2 input(s), got 3"), std::string::npos) << three;
  EXPECT_NE(testing::config_error("Add", "{}", {}).find("at least 1 input"), std::string::npos);
}

}  // namespace
}  // namespace gaze
