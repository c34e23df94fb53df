#include "layers/inception_v3.h"

#include <map>

#include "layers/keras_layers.h"

namespace gaze {
namespace {

// Adds layers with Keras' automatic names (class name in snake case + "_N", counted from 1).
class InceptionBuilder {
 public:
  Model model;

  std::string input(int64_t size) {
    model.add(std::make_unique<InputLayer>("input_1", Shape{-1, size, size, 3}), {});
    return "input_1";
  }

  // keras.applications' conv2d_bn: Conv2D without bias, BatchNormalization without scale, ReLU.
  std::string conv2d_bn(const std::string& x, int64_t filters, int64_t rows, int64_t cols,
                        Padding padding = Padding::kSame, int64_t stride = 1) {
    Conv2DConfig conv;
    conv.filters = filters;
    conv.kernel_h = rows;
    conv.kernel_w = cols;
    conv.stride_h = conv.stride_w = stride;
    conv.padding = padding;
    conv.use_bias = false;
    const std::string c = add<Conv2D>("conv2d", {x}, conv);
    const std::string b = add<BatchNormalization>("batch_normalization", {c},
                                                  BatchNormalizationConfig{1e-3f, true, false});
    return add<ActivationLayer>("activation", {b}, Activation{ActivationKind::kRelu});
  }

  std::string max_pool(const std::string& x) {  // 3x3, stride 2, valid
    return add<Pooling2D>("max_pooling2d", {x}, Pooling2D::Kind::kMax,
                          Window2d{3, 3, 2, 2, Padding::kValid});
  }

  std::string avg_pool_same(const std::string& x) {  // 3x3, stride 1, same: the branch pools
    return add<Pooling2D>("average_pooling2d", {x}, Pooling2D::Kind::kAverage,
                          Window2d{3, 3, 1, 1, Padding::kSame});
  }

  std::string concat(const std::vector<std::string>& xs, const std::string& name = "") {
    if (name.empty()) return add<Concatenate>("concatenate", xs);
    model.add(std::make_unique<Concatenate>(name), xs);
    return name;
  }

 private:
  template <typename L, typename... A>
  std::string add(const std::string& base, const std::vector<std::string>& inbound, A&&... args) {
    const std::string name = base + "_" + std::to_string(++counters_[base]);
    model.add(std::make_unique<L>(name, std::forward<A>(args)...), inbound);
    return name;
  }
  std::map<std::string, int> counters_;
};

}  // namespace

Model inception_v3(const InceptionV3Options& options) {
  if (options.input_size < 75) throw Error("inception_v3: input size must be at least 75");
  if (options.include_top && options.classes <= 0)
    throw Error("inception_v3: classes must be positive");
  InceptionBuilder b;
  const Padding valid = Padding::kValid;

  // Stem: 299x299x3 -> 35x35x192.
  std::string x = b.input(options.input_size);
  x = b.conv2d_bn(x, 32, 3, 3, valid, 2);
  x = b.conv2d_bn(x, 32, 3, 3, valid);
  x = b.conv2d_bn(x, 64, 3, 3);
  x = b.max_pool(x);
  x = b.conv2d_bn(x, 80, 1, 1, valid);
  x = b.conv2d_bn(x, 192, 3, 3, valid);
  x = b.max_pool(x);

  // mixed0, 1, 2: 35x35x256, 288, 288.
  for (int i = 0; i < 3; ++i) {
    const std::string branch1x1 = b.conv2d_bn(x, 64, 1, 1);
    std::string branch5x5 = b.conv2d_bn(x, 48, 1, 1);
    branch5x5 = b.conv2d_bn(branch5x5, 64, 5, 5);
    std::string branch3x3dbl = b.conv2d_bn(x, 64, 1, 1);
    branch3x3dbl = b.conv2d_bn(branch3x3dbl, 96, 3, 3);
    branch3x3dbl = b.conv2d_bn(branch3x3dbl, 96, 3, 3);
    const std::string branch_pool = b.conv2d_bn(b.avg_pool_same(x), i == 0 ? 32 : 64, 1, 1);
    x = b.concat({branch1x1, branch5x5, branch3x3dbl, branch_pool}, "mixed" + std::to_string(i));
  }

  // mixed3: 17x17x768 (grid reduction).
  {
    const std::string branch3x3 = b.conv2d_bn(x, 384, 3, 3, valid, 2);
    std::string branch3x3dbl = b.conv2d_bn(x, 64, 1, 1);
    branch3x3dbl = b.conv2d_bn(branch3x3dbl, 96, 3, 3);
    branch3x3dbl = b.conv2d_bn(branch3x3dbl, 96, 3, 3, valid, 2);
    const std::string branch_pool = b.max_pool(x);
    x = b.concat({branch3x3, branch3x3dbl, branch_pool}, "mixed3");
  }

  // mixed4 .. mixed7: 17x17x768 with factorized 7x7 convolutions (1x7 then 7x1).
  for (int i = 4; i <= 7; ++i) {
    const int64_t f = i == 4 ? 128 : i == 7 ? 192 : 160;
    const std::string branch1x1 = b.conv2d_bn(x, 192, 1, 1);
    std::string branch7x7 = b.conv2d_bn(x, f, 1, 1);
    branch7x7 = b.conv2d_bn(branch7x7, f, 1, 7);
    branch7x7 = b.conv2d_bn(branch7x7, 192, 7, 1);
    std::string branch7x7dbl = b.conv2d_bn(x, f, 1, 1);
    branch7x7dbl = b.conv2d_bn(branch7x7dbl, f, 7, 1);
    branch7x7dbl = b.conv2d_bn(branch7x7dbl, f, 1, 7);
    branch7x7dbl = b.conv2d_bn(branch7x7dbl, f, 7, 1);
    branch7x7dbl = b.conv2d_bn(branch7x7dbl, 192, 1, 7);
    const std::string branch_pool = b.conv2d_bn(b.avg_pool_same(x), 192, 1, 1);
    x = b.concat({branch1x1, branch7x7, branch7x7dbl, branch_pool}, "mixed" + std::to_string(i));
  }

  // mixed8: 8x8x1280 (grid reduction).
  {
    std::string branch3x3 = b.conv2d_bn(x, 192, 1, 1);
    branch3x3 = b.conv2d_bn(branch3x3, 320, 3, 3, valid, 2);
    std::string branch7x7x3 = b.conv2d_bn(x, 192, 1, 1);
    branch7x7x3 = b.conv2d_bn(branch7x7x3, 192, 1, 7);
    branch7x7x3 = b.conv2d_bn(branch7x7x3, 192, 7, 1);
    branch7x7x3 = b.conv2d_bn(branch7x7x3, 192, 3, 3, valid, 2);
    const std::string branch_pool = b.max_pool(x);
    x = b.concat({branch3x3, branch7x7x3, branch_pool}, "mixed8");
  }

  // mixed9, mixed10: 8x8x2048 with expanded filter banks (1x3 and 3x1 side by side).
  for (int i = 0; i < 2; ++i) {
    const std::string branch1x1 = b.conv2d_bn(x, 320, 1, 1);
    std::string branch3x3 = b.conv2d_bn(x, 384, 1, 1);
    const std::string branch3x3_1 = b.conv2d_bn(branch3x3, 384, 1, 3);
    const std::string branch3x3_2 = b.conv2d_bn(branch3x3, 384, 3, 1);
    branch3x3 = b.concat({branch3x3_1, branch3x3_2}, "mixed9_" + std::to_string(i));
    std::string branch3x3dbl = b.conv2d_bn(x, 448, 1, 1);
    branch3x3dbl = b.conv2d_bn(branch3x3dbl, 384, 3, 3);
    const std::string branch3x3dbl_1 = b.conv2d_bn(branch3x3dbl, 384, 1, 3);
    const std::string branch3x3dbl_2 = b.conv2d_bn(branch3x3dbl, 384, 3, 1);
    branch3x3dbl = b.concat({branch3x3dbl_1, branch3x3dbl_2});
    const std::string branch_pool = b.conv2d_bn(b.avg_pool_same(x), 192, 1, 1);
    x = b.concat({branch1x1, branch3x3, branch3x3dbl, branch_pool},
                 "mixed" + std::to_string(9 + i));
  }

  if (options.include_top) {
    b.model.add(std::make_unique<GlobalAveragePooling2D>("avg_pool"), {x});
    b.model.add(
        std::make_unique<Dense>("predictions", DenseConfig{options.classes, true,
                                                           Activation{ActivationKind::kSoftmax}}),
        {"avg_pool"});
  }
  return std::move(b.model);
}

}  // namespace gaze
