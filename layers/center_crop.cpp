// Keras CenterCrop: the central height x width window of each image. The worked example of
// docs/adding-a-layer.md: one file, one registry line, one test. Keras
// (keras/src/layers/preprocessing/center_crop.py) starts the window at (input - target) // 2 on
// each axis; when the input is smaller than the target it resizes instead, which gaze refuses with
// an error naming the sizes.
#include "layers/config_reader.h"
#include "layers/layer_checks.h"

namespace gaze {
namespace {

class CenterCrop : public Layer {
 public:
  CenterCrop(std::string name, int64_t height, int64_t width)
      : Layer(std::move(name)), height_(height), width_(width) {
    if (height_ <= 0 || width_ <= 0) fail("height and width must be positive");
  }
  const char* class_name() const override { return "CenterCrop"; }

  // Checks the input and returns the output shape; a crop has no weights to create.
  Shape build(const std::vector<Shape>& inputs) override {
    expect_inputs(inputs, 1);
    require_image_input(*this, inputs[0]);
    const Shape& s = inputs[0];
    if (s[1] < height_ || s[2] < width_) {
      fail("input " + to_string(s) + " is smaller than the crop " + std::to_string(height_) + "x" +
           std::to_string(width_) + " (Keras would resize it; gaze does not)");
    }
    top_ = (s[1] - height_) / 2;
    left_ = (s[2] - width_) / 2;
    bottom_ = s[1] - height_ - top_;
    right_ = s[2] - width_ - left_;
    return {s[0], height_, width_, s[3]};
  }

  // crop2d (autograd/shape_ops.cpp) has its forward and backward already.
  LayerOutput forward(const std::vector<Var>& inputs) const override {
    return {crop2d(inputs[0], top_, bottom_, left_, right_), Var()};
  }

 private:
  int64_t height_, width_;
  int64_t top_ = 0, bottom_ = 0, left_ = 0, right_ = 0;  // set by build()
};

}  // namespace

// The Keras config's fields: height and width (both required), data_format.
std::unique_ptr<Layer> make_CenterCrop(const std::string& name, const ConfigReader& r) {
  r.require_channels_last();
  if (!r.find("height") || !r.find("width")) r.bad("height", "given, with width");
  return std::make_unique<CenterCrop>(name, r.integer("height", 0), r.integer("width", 0));
}

}  // namespace gaze
