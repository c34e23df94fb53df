// Keras UpSampling2D: the map enlarged by whole factors `size`, [N, H*sh, W*sw, C].
//  - nearest: each cell repeated (keras/src/layers/reshaping/up_sampling2d.py: ops.repeat;
//    Keras 2's backend.resize_images: tf.image.resize(method='nearest'), which at whole
//    factors picks the same cells).
//  - bilinear: ops.image.resize(interpolation='bilinear') in Keras 3 (tf.image.resize with the
//    TensorFlow backend, jax.image.resize with JAX), tf.image.resize(method='bilinear') in
//    Keras 2: both sample with half-pixel centres, and gaze follows TensorFlow's kernel.
//    TF.js's own UpSampling2D is NOT this: it calls resizeBilinear without half-pixel centres.
#include "layers/config_reader.h"
#include "layers/layer_checks.h"

namespace gaze {
namespace {

class UpSampling2D : public Layer {
 public:
  UpSampling2D(std::string name, int64_t factor_h, int64_t factor_w, bool bilinear)
      : Layer(std::move(name)), factor_h_(factor_h), factor_w_(factor_w), bilinear_(bilinear) {
    if (factor_h_ <= 0 || factor_w_ <= 0) fail("size must be positive");
  }
  const char* class_name() const override { return "UpSampling2D"; }

  Shape build(const std::vector<Shape>& inputs) override {
    expect_inputs(inputs, 1);
    require_image_input(*this, inputs[0]);
    const Shape& in = inputs[0];
    return {in[0], in[1] * factor_h_, in[2] * factor_w_, in[3]};
  }

  LayerOutput forward(const std::vector<Var>& inputs) const override {
    const Var& x = inputs[0];
    if (!bilinear_) return {upsample_nearest2d(x, factor_h_, factor_w_), Var()};
    return {resize_bilinear(x, x.shape()[1] * factor_h_, x.shape()[2] * factor_w_), Var()};
  }

 private:
  int64_t factor_h_, factor_w_;
  bool bilinear_;
};

}  // namespace

std::unique_ptr<Layer> make_UpSampling2D(const std::string& name, const ConfigReader& r) {
  r.require_channels_last();
  const auto [sh, sw] = r.pair("size", {2, 2});
  const std::string interpolation = r.string("interpolation", "nearest");
  if (interpolation != "nearest" && interpolation != "bilinear")
    r.unsupported("interpolation", "'" + interpolation + "' (supported: nearest, bilinear)");
  return std::make_unique<UpSampling2D>(name, sh, sw, interpolation == "bilinear");
}

}  // namespace gaze
