// The new layers wired into whole models by the config builder, in Keras 2's and Keras 3's
// formats: an EfficientNet-like stem (Rescaling, Normalization, per-channel Rescaling), an
// Xception-like separable convolution with a squeeze-excite (GlobalAveragePooling2D, Reshape,
// Multiply) and a residual Add, a ConvNeXt-like LayerNormalization and pointwise Dense, then
// UpSampling2D, Cropping2D, SpatialDropout2D, GlobalMaxPooling2D and a softmax Dense. The model's
// output and its gradient at an inner layer are compared with the same network composed from
// the ops directly.
#include <gtest/gtest.h>

#include "layers/keras_config.h"
#include "tests/support/keras_layer.h"

namespace gaze {
namespace {

using testing::random_tensor;

struct Spec {
  const char* name;
  const char* class_name;
  const char* fields;  // the layer's own config fields
  std::vector<const char*> inbound;
};

const std::vector<Spec> kSpecs = {
    {"in", "InputLayer", R"("batch_input_shape": [null, 8, 8, 3])", {}},
    {"rescale", "Rescaling", R"("scale": 0.00392156862745098, "offset": 0.0)", {"in"}},
    {"norm",
     "Normalization",
     R"("axis": [-1], "invert": false, "mean": null, "variance": null)",
     {"rescale"}},
    {"stddev", "Rescaling", R"("scale": [2.0896, 2.1129, 2.1082], "offset": 0.0)", {"norm"}},
    {"stem",
     "Conv2D",
     R"("filters": 6, "kernel_size": [3, 3], "strides": [2, 2], "padding": "same",
        "activation": "relu", "use_bias": true, "dilation_rate": [1, 1])",
     {"stddev"}},
    {"sep",
     "SeparableConv2D",
     R"("filters": 6, "kernel_size": [3, 3], "padding": "same", "depth_multiplier": 2,
        "activation": "relu", "use_bias": true)",
     {"stem"}},
    {"se_squeeze", "GlobalAveragePooling2D", R"("keepdims": false)", {"sep"}},
    {"se_reshape", "Reshape", R"("target_shape": [1, 1, 6])", {"se_squeeze"}},
    {"se_reduce",
     "Conv2D",
     R"("filters": 2, "kernel_size": [1, 1], "activation": "relu")",
     {"se_reshape"}},
    {"se_expand",
     "Conv2D",
     R"("filters": 6, "kernel_size": [1, 1], "activation": "sigmoid")",
     {"se_reduce"}},
    {"se_excite", "Multiply", "", {"sep", "se_expand"}},
    {"add", "Add", "", {"stem", "se_excite"}},
    {"ln", "LayerNormalization", R"("axis": [3], "epsilon": 1e-06)", {"add"}},
    {"pw", "Dense", R"("units": 8, "activation": "linear")", {"ln"}},
    {"up", "UpSampling2D", R"("size": [2, 2], "interpolation": "bilinear")", {"pw"}},
    {"crop", "Cropping2D", R"("cropping": [[1, 1], [0, 2]])", {"up"}},
    {"sdrop", "SpatialDropout2D", R"("rate": 0.1)", {"crop"}},
    {"gmp", "GlobalMaxPooling2D", "", {"sdrop"}},
    {"out", "Dense", R"("units": 3, "activation": "softmax")", {"gmp"}},
};

std::string inbound_json(const Spec& s, bool keras3) {
  std::string refs;
  for (const char* in : s.inbound) {
    if (!refs.empty()) refs += ", ";
    refs += keras3 ? std::string(R"({"class_name": "__keras_tensor__", "config": {"shape": [null],
                         "dtype": "float32", "keras_history": [")") +
                         in + R"(", 0, 0]}})"
                   : std::string(R"([")") + in + R"(", 0, 0, {}])";
  }
  if (s.inbound.empty()) return "[]";
  if (!keras3) return "[[" + refs + "]]";
  // Keras 3: a merge layer's inputs are one list argument.
  return std::string(R"([{"args": [)") + (s.inbound.size() > 1 ? "[" + refs + "]" : refs) +
         R"(], "kwargs": {}}])";
}

std::string model_json(bool keras3) {
  std::string layers;
  for (const Spec& s : kSpecs) {
    std::string config = std::string("{") + (keras3 ? testing::kKeras3Base : testing::kKeras2Base);
    if (*s.fields) config += std::string(", ") + s.fields;
    config += "}";
    if (keras3 && std::string(s.class_name) == "InputLayer") {
      config = R"({"batch_shape": [null, 8, 8, 3], "dtype": "float32", "name": "in"})";
    }
    if (!layers.empty()) layers += ",\n";
    layers += std::string(R"({"name": ")") + s.name + R"(", "class_name": ")" + s.class_name +
              R"(", "config": )" + config + R"(, "inbound_nodes": )" + inbound_json(s, keras3) +
              "}";
  }
  return std::string(R"({"class_name": ")") + (keras3 ? "Functional" : "Model") +
         R"(", "config": {"name": "m", "layers": [)" + layers +
         R"(], "input_layers": [["in", 0, 0]], "output_layers": [["out", 0, 0]]}})";
}

void fill_weights(Model& m) {
  uint32_t seed = 1;
  for (size_t i = 0; i < m.size(); ++i) {
    for (Weight& w : m.layer(i).weights()) {
      const bool positive = w.name == "variance" || w.name == "count" || w.name == "gamma";
      w.value = random_tensor(w.shape, seed++, positive ? 0.5f : -0.5f, positive ? 1.5f : 0.5f);
    }
  }
}

// The same network from the ops, with the model's weights; `at_add` is the output of "add",
// made a leaf that requires a gradient.
struct Reference {
  Var add, output;
};

Reference reference(const Model& m, const Tensor& x) {
  auto w = [&](const char* layer, const char* weight) {
    for (const Weight& v : m.layer(m.index_of(layer)).weights())
      if (v.name == weight) return Var(v.value);
    throw Error(std::string("no weight ") + weight);
  };
  auto constant = [](Shape s, std::vector<float> v) { return Var(Tensor::from(s, v)); };
  Var y = binary(BinaryOp::kMultiply, Var(x), constant({1}, {1.0f / 255.0f}));
  y = binary(BinaryOp::kAdd, y, constant({1}, {0.0f}));
  Tensor denom(w("norm", "variance").shape());
  for (int64_t c = 0; c < 3; ++c)
    denom.data()[c] = std::max(std::sqrt(w("norm", "variance").value().data()[c]), 1e-7f);
  y = binary(BinaryOp::kDivide, binary(BinaryOp::kSubtract, y, w("norm", "mean")), Var(denom));
  y = binary(BinaryOp::kMultiply, y, constant({3}, {2.0896f, 2.1129f, 2.1082f}));
  const Var stem = relu(conv2d(y, w("stem", "kernel"), w("stem", "bias"), {2, 2, Padding::kSame}));
  const Var sep = relu(
      conv2d(depthwise_conv2d(stem, w("sep", "depthwise_kernel"), Var(), {1, 1, Padding::kSame}),
             w("sep", "pointwise_kernel"), w("sep", "bias"), {}));
  Var se = reshape(global_avg_pool2d(sep), {x.dim(0), 1, 1, 6});
  se = relu(conv2d(se, w("se_reduce", "kernel"), w("se_reduce", "bias"), {}));
  se = sigmoid(conv2d(se, w("se_expand", "kernel"), w("se_expand", "bias"), {}));
  Reference r;
  r.add = add({stem, binary(BinaryOp::kMultiply, sep, se)}).detach(true);
  y = layer_norm(r.add, w("ln", "gamma"), w("ln", "beta"), 1e-6f);
  y = reshape(dense(reshape(y, {-1, 6}), w("pw", "kernel"), w("pw", "bias")), {x.dim(0), 4, 4, 8});
  y = crop2d(resize_bilinear(y, 8, 8), 1, 1, 0, 2);
  r.output = softmax(dense(global_max_pool2d(y), w("out", "kernel"), w("out", "bias")));
  return r;
}

TEST(KerasBlocks, NewLayersInKeras2AndKeras3ModelsMatchTheOpsComposedByHand) {
  const Tensor x = random_tensor({2, 8, 8, 3}, 99, 0.0f, 255.0f);
  for (bool keras3 : {false, true}) {
    SCOPED_TRACE(keras3 ? "Keras 3" : "Keras 2");
    Model m = model_from_keras_config(model_json(keras3));
    ASSERT_EQ(m.size(), kSpecs.size());
    EXPECT_EQ(m.output_shape(m.index_of("se_excite")), (Shape{-1, 4, 4, 6}));
    EXPECT_EQ(m.output_shape(m.index_of("pw")), (Shape{-1, 4, 4, 8}));
    EXPECT_EQ(m.output_shape(m.index_of("crop")), (Shape{-1, 6, 6, 8}));
    fill_weights(m);
    const ModelForwardResult r = m.forward(x, {{}, {"add"}});
    const Reference ref = reference(m, x);
    EXPECT_TENSOR_NEAR(r.output.value(), ref.output.value(), 1e-6f);
    // The gradient of a class score at an inner layer, as Grad-CAM takes it.
    Tensor seed = Tensor::zeros({2, 3});
    seed.at(0, 1) = seed.at(1, 2) = 1.0f;
    backward(r.output, seed);
    backward(ref.output, seed);
    ASSERT_TRUE(r.kept.at("add").grad().defined());
    EXPECT_TENSOR_NEAR(r.kept.at("add").grad(), ref.add.grad(), 1e-5f);
    EXPECT_GT(testing::max_abs(ref.add.grad()), 0.0f);
  }
}

}  // namespace
}  // namespace gaze
