// The layers whose numbers are subtle, against TensorFlow.js 4.22.0: SeparableConv2D (depth
// multiplier order), LayerNormalization (epsilon placement), Normalization (its epsilon rule,
// TF.js ops), UpSampling2D (bilinear with half-pixel centres, TF.js's port of TensorFlow's
// kernel), Multiply with broadcasting, Dense on rank 4; and 'same' padding where TF puts the extra
// cell at the bottom/right (Conv2D, DepthwiseConv2D, MaxPooling2D, AveragePooling2D; stride 2 on
// even and odd inputs, even kernels), with TF.js's input gradients where TF.js's own are right.
// The fixture and how it was made: tools/reference/layers_reference.js
// (tools/reference/LAYERS.md).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/keras_layer.h"

namespace gaze {
namespace {

using json = nlohmann::json;

Tensor tensor_of(const json& t) {
  const Shape shape = t.at("shape").get<Shape>();
  std::vector<float> v;
  for (const json& x : t.at("values")) v.push_back(static_cast<float>(x.get<double>()));
  return Tensor::from(shape, v);
}

json fixture() {
  std::ifstream in(std::string(GAZE_SOURCE_DIR) + "/tests/fixtures/layers/tfjs_layers.json");
  return json::parse(in);
}

TEST(TfjsLayers, GazeMatchesTensorFlowJs) {
  const json f = fixture();
  EXPECT_EQ(f.at("tfjs").get<std::string>(), "4.22.0");
  ASSERT_GE(f.at("cases").size(), 29u);
  int gradient_cases = 0;
  for (const json& c : f.at("cases")) {
    const std::string name = c.at("name").get<std::string>();
    SCOPED_TRACE(name + " (reference: " + c.at("reference").get<std::string>() + ")");
    std::vector<Tensor> inputs;
    std::vector<Shape> shapes;
    for (const json& i : c.at("inputs")) {
      inputs.push_back(tensor_of(i));
      shapes.push_back(inputs.back().shape());
    }
    testing::BuiltLayer b =
        testing::keras_layer(c.at("class_name").get<std::string>(), c.at("config").dump(), shapes);
    // Weights by slot name, as the weight files assign them.
    ASSERT_EQ(b.layer->weights().size(), c.at("weights").size());
    for (const json& w : c.at("weights")) {
      bool found = false;
      for (Weight& slot : b.layer->weights()) {
        if (slot.name != w.at("name").get<std::string>()) continue;
        slot.value = tensor_of(w);
        ASSERT_EQ(slot.value.shape(), slot.shape) << slot.name;
        found = true;
      }
      ASSERT_TRUE(found) << w.at("name");
    }
    const Tensor expected = tensor_of(c.at("output"));
    const Tensor got = testing::run(*b.layer, inputs);
    Shape out = testing::with_unknown_batch(expected.shape());
    EXPECT_EQ(b.output_shape, out);
    // float32 on both sides, sums in different orders: a few units in the last place.
    const float diff = testing::max_abs_diff(got, expected);
    const float scale = 1.0f + testing::max_abs(expected);
    std::printf("  %-32s max |gaze - tfjs| = %.3g (%.3g of 1 + max|tfjs|)\n", name.c_str(), diff,
                diff / scale);
    EXPECT_TENSOR_NEAR(got, expected, 2e-6f);
    if (c.contains("grad")) {
      ++gradient_cases;
      std::vector<Var> vars;
      for (const Tensor& t : inputs) vars.push_back(Var(t, true));
      backward(b.layer->forward(vars).output, tensor_of(c.at("grad").at("dy")));
      const Tensor want = tensor_of(c.at("grad").at("input_grad"));
      const float gdiff = testing::max_abs_diff(vars[0].grad(), want);
      std::printf("  %-32s max |gaze - tfjs| of d/dx = %.3g\n", name.c_str(), gdiff);
      EXPECT_TENSOR_NEAR(vars[0].grad(), want, 2e-6f);
    }
  }
  // Conv2D, DepthwiseConv2D and MaxPooling2D 'same' cases (not AveragePooling2D: TF.js's gradient
  // of it is not the adjoint of its forward at 'same' borders, tools/reference/TORCH.md).
  EXPECT_EQ(gradient_cases, 13);
}

}  // namespace
}  // namespace gaze
