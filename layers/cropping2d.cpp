// Keras Cropping2D: rows and columns removed at the borders of the map; `cropping` is an
// integer, [h, w] or [[top, bottom], [left, right]] as ZeroPadding2D's padding
// (keras/src/layers/reshaping/cropping2d.py; Keras 2 the same). Something must remain.
#include "layers/config_reader.h"
#include "layers/layer_checks.h"

namespace gaze {
namespace {

class Cropping2D : public Layer {
 public:
  Cropping2D(std::string name, Borders crop) : Layer(std::move(name)), crop_(crop) {}
  const char* class_name() const override { return "Cropping2D"; }

  Shape build(const std::vector<Shape>& inputs) override {
    expect_inputs(inputs, 1);
    require_image_input(*this, inputs[0]);
    const Shape& s = inputs[0];
    const int64_t h = s[1] - crop_.top - crop_.bottom, w = s[2] - crop_.left - crop_.right;
    if (h <= 0 || w <= 0) fail("cropping leaves nothing of input " + to_string(s));
    return {s[0], h, w, s[3]};
  }

  LayerOutput forward(const std::vector<Var>& inputs) const override {
    return {crop2d(inputs[0], crop_.top, crop_.bottom, crop_.left, crop_.right), Var()};
  }

 private:
  Borders crop_;
};

}  // namespace

std::unique_ptr<Layer> make_Cropping2D(const std::string& name, const ConfigReader& r) {
  r.require_channels_last();
  return std::make_unique<Cropping2D>(name, r.borders("cropping", 0));
}

}  // namespace gaze
