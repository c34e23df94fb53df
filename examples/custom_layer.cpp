// A custom Keras layer "Square" (y = x * x) registered from outside the library in a copy of the
// built-in registry, handed to the loader, which then reads and explains a model that uses it.
//   custom_layer IMAGE OUT_DIR   (writes OUT_DIR/square_model.h5 and OUT_DIR/square_panel.png)
#include <gaze/gaze.h>
#include <cstdio>

#include "layers/layer.h"      // Layer: the contract a layer implements
#include "weights/keras_h5.h"  // write_keras_h5: stands in here for Keras' model.save()

class Square : public gaze::Layer {
 public:
  using Layer::Layer;
  const char* class_name() const override { return "Square"; }
  gaze::Shape build(const std::vector<gaze::Shape>& inputs) override {
    expect_inputs(inputs, 1);
    return inputs[0];
  }
  // Built from autograd ops, so the layer has its backward pass (and Grad-CAM works) for free.
  gaze::LayerOutput forward(const std::vector<gaze::Var>& in) const override {
    return {gaze::binary(gaze::BinaryOp::kMultiply, in[0], in[0]), gaze::Var()};
  }
};

// Input 16x16x3 -> Square -> global average -> softmax over the three colour channels: the
// classes are the channels, "red", "green", "blue". No weights, so the file is only its config.
void write_model(const std::string& path) {
  gaze::KerasFile file;
  file.model_config = R"({"class_name": "Sequential", "config": {"name": "m", "layers": [
    {"class_name": "InputLayer", "config": {"name": "in", "batch_input_shape": [null, 16, 16, 3]}},
    {"class_name": "Square", "config": {"name": "square"}},
    {"class_name": "GlobalAveragePooling2D", "config": {"name": "gap"}},
    {"class_name": "Softmax", "config": {"name": "softmax"}}]}})";
  file.attributes = {{"gaze_class_names", R"(["red", "green", "blue"])"},
                     {"gaze_preprocessing", "nsfwjs"}};
  gaze::write_keras_h5(path, file);
}

int main(int argc, char** argv) {
  if (argc != 3) return std::fprintf(stderr, "usage: custom_layer IMAGE OUT_DIR\n"), 2;
  try {
    gaze::LayerRegistry layers = gaze::LayerRegistry::builtin();
    layers.add("Square", [](const std::string& name, const gaze::ConfigReader&) {
      return std::make_unique<Square>(name);
    });
    const std::string model = std::string(argv[2]) + "/square_model.h5";
    write_model(model);
    const auto classifier = gaze::Classifier::load(model, {"", "", &layers});
    const gaze::Image photo = gaze::load_image(argv[1]);
    for (const gaze::Prediction& p : classifier.classify(photo, 0))
      std::printf("%s %.4f\n", p.label.c_str(), static_cast<double>(p.probability));
    gaze::ExplainOptions options;
    options.layers = {"square"};
    gaze::save_image(std::string(argv[2]) + "/square_panel.png",
                     classifier.explain(photo, options).panel);
  } catch (const gaze::Error& e) {
    return std::fprintf(stderr, "custom_layer: error: %s\n", e.what()), 1;
  }
  return 0;
}
