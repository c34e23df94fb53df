// The one place that maps a Keras class_name to gaze's implementation: one line per class.
// Each layer's own file defines its factory,
//   std::unique_ptr<Layer> make_<Class>(const std::string& name, const ConfigReader& config),
// which reads the Keras config fields that matter for inference and rejects the ones gaze cannot
// honour with an Error naming the field.
#include "layers/registry.h"

#define GAZE_KERAS_LAYERS(X) \
  X(Activation)              \
  X(ActivityRegularization)  \
  X(Add)                     \
  X(Average)                 \
  X(AveragePooling2D)        \
  X(BatchNormalization)      \
  X(CenterCrop)              \
  X(Concatenate)             \
  X(Conv2D)                  \
  X(Cropping2D)              \
  X(Dense)                   \
  X(DepthwiseConv2D)         \
  X(Dropout)                 \
  X(ELU)                     \
  X(Flatten)                 \
  X(GaussianDropout)         \
  X(GaussianNoise)           \
  X(GlobalAveragePooling2D)  \
  X(GlobalMaxPooling2D)      \
  X(InputLayer)              \
  X(LayerNormalization)      \
  X(LeakyReLU)               \
  X(MaxPooling2D)            \
  X(Maximum)                 \
  X(Minimum)                 \
  X(Multiply)                \
  X(Normalization)           \
  X(Permute)                 \
  X(PReLU)                   \
  X(ReLU)                    \
  X(Rescaling)               \
  X(Reshape)                 \
  X(SeparableConv2D)         \
  X(Softmax)                 \
  X(SpatialDropout2D)        \
  X(Subtract)                \
  X(UpSampling2D)            \
  X(ZeroPadding2D)

namespace gaze {

#define GAZE_DECLARE_FACTORY(Class) \
  std::unique_ptr<Layer> make_##Class(const std::string& name, const ConfigReader& config);
GAZE_KERAS_LAYERS(GAZE_DECLARE_FACTORY)
#undef GAZE_DECLARE_FACTORY

const LayerRegistry& LayerRegistry::builtin() {
  static const LayerRegistry registry = [] {
    LayerRegistry r;
#define GAZE_TABLE_ENTRY(Class) r.add(#Class, &make_##Class);
    GAZE_KERAS_LAYERS(GAZE_TABLE_ENTRY)
#undef GAZE_TABLE_ENTRY
    return r;
  }();
  return registry;
}

void LayerRegistry::add(const std::string& class_name, LayerFactory factory) {
  if (!factory) throw Error("layer class '" + class_name + "': no factory");
  if (!factories_.emplace(class_name, std::move(factory)).second) {
    throw Error("layer class '" + class_name + "' is already registered");
  }
}

std::unique_ptr<Layer> LayerRegistry::make(const std::string& class_name, const std::string& name,
                                           const nlohmann::json& config, int keras_major) const {
  auto it = factories_.find(class_name);
  if (it == factories_.end()) {
    std::string list;
    for (const std::string& s : classes()) list += (list.empty() ? "" : ", ") + s;
    const std::string what =
        class_name == "Lambda" || class_name == "TFOpLambda" || class_name == "SlicingOpLambda"
            ? "is a " + class_name + " layer, whose Python code cannot run in gaze"
            : "has the unsupported layer type '" + class_name +
                  "' (a custom class's Python code cannot run in gaze)";
    throw Error("layer '" + name + "' " + what + "; supported: " + list +
                " ('gaze layers --supported'; docs/adding-a-layer.md says how to add one)");
  }
  if (!config.is_object()) throw Error("layer '" + name + "': config is not an object");
  return it->second(name, ConfigReader(name, config, keras_major));
}

std::vector<std::string> LayerRegistry::classes() const {
  std::vector<std::string> names;
  for (const auto& [name, factory] : factories_) names.push_back(name);
  return names;
}

std::unique_ptr<Layer> make_layer(const std::string& class_name, const std::string& name,
                                  const nlohmann::json& config, int keras_major) {
  return LayerRegistry::builtin().make(class_name, name, config, keras_major);
}

std::vector<std::string> supported_layer_classes() {
  return LayerRegistry::builtin().classes();
}

}  // namespace gaze
