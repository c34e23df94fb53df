// The one place that maps a Keras class_name to gaze's implementation: one line per class.
// Each layer's own file defines its factory,
//   std::unique_ptr<Layer> make_<Class>(const std::string& name, const ConfigReader& config),
// which reads the Keras config fields that matter for inference and rejects the ones gaze cannot
// honour with an Error naming the field.
#include "layers/registry.h"

#include <map>

#include "layers/config_reader.h"

#define GAZE_KERAS_LAYERS(X) \
  X(Activation)              \
  X(Add)                     \
  X(AveragePooling2D)        \
  X(BatchNormalization)      \
  X(Concatenate)             \
  X(Conv2D)                  \
  X(Dense)                   \
  X(DepthwiseConv2D)         \
  X(Dropout)                 \
  X(ELU)                     \
  X(Flatten)                 \
  X(GlobalAveragePooling2D)  \
  X(InputLayer)              \
  X(LeakyReLU)               \
  X(MaxPooling2D)            \
  X(ReLU)                    \
  X(Softmax)                 \
  X(ZeroPadding2D)

namespace gaze {

using LayerFactory = std::unique_ptr<Layer> (*)(const std::string& name,
                                                const ConfigReader& config);

#define GAZE_DECLARE_FACTORY(Class) \
  std::unique_ptr<Layer> make_##Class(const std::string& name, const ConfigReader& config);
GAZE_KERAS_LAYERS(GAZE_DECLARE_FACTORY)
#undef GAZE_DECLARE_FACTORY

namespace {

const std::map<std::string, LayerFactory>& factories() {
#define GAZE_TABLE_ENTRY(Class) {#Class, &make_##Class},
  static const std::map<std::string, LayerFactory> table = {GAZE_KERAS_LAYERS(GAZE_TABLE_ENTRY)};
#undef GAZE_TABLE_ENTRY
  return table;
}

}  // namespace

std::unique_ptr<Layer> make_layer(const std::string& class_name, const std::string& name,
                                  const nlohmann::json& config, int keras_major) {
  auto it = factories().find(class_name);
  if (it == factories().end()) {
    std::string list;
    for (const std::string& s : supported_layer_classes()) list += (list.empty() ? "" : ", ") + s;
    throw Error("layer '" + name + "': unsupported layer type '" + class_name +
                "' (supported: " + list + ")");
  }
  if (!config.is_object()) throw Error("layer '" + name + "': config is not an object");
  return it->second(name, ConfigReader(name, config, keras_major));
}

std::vector<std::string> supported_layer_classes() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : factories()) names.push_back(name);
  return names;
}

}  // namespace gaze
