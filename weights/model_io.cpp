#include "weights/model_io.h"

#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "layers/keras_config.h"
#include "tensor/json_limits.h"
#include "weights/keras_h5.h"

namespace gaze {
namespace {

// "model/conv2d_1/kernel:0" -> "kernel": the slot name Keras gives the variable.
std::string short_weight_name(const std::string& name) {
  std::string s = name.substr(name.rfind('/') == std::string::npos ? 0 : name.rfind('/') + 1);
  const size_t colon = s.rfind(':');
  if (colon != std::string::npos) s.resize(colon);
  return s;
}

// Assigns the file's weights of one layer to its slots: by slot name when every file name maps
// to a distinct slot, else by position (Keras' own rule). Shapes must match exactly.
void assign_layer_weights(Layer& layer, const LayerWeights& from, const std::string& path) {
  std::vector<Weight>& slots = layer.weights();
  const std::string where = path + ": layer '" + layer.name() + "'";
  if (from.weights.size() != slots.size()) {
    throw Error(where + " has " + std::to_string(from.weights.size()) +
                " weight(s) in the file (layer '" + from.layer + "'), the model expects " +
                std::to_string(slots.size()));
  }
  std::vector<size_t> target(slots.size());
  std::map<std::string, size_t> slot_of;
  for (size_t i = 0; i < slots.size(); ++i) slot_of[slots[i].name] = i;
  bool by_name = true;
  std::vector<bool> taken(slots.size(), false);
  for (size_t i = 0; i < from.weights.size() && by_name; ++i) {
    auto it = slot_of.find(short_weight_name(from.weights[i].name));
    by_name = it != slot_of.end() && !taken[it->second];
    if (by_name) taken[it->second] = true, target[i] = it->second;
  }
  for (size_t i = 0; i < from.weights.size(); ++i) {
    Weight& slot = slots[by_name ? target[i] : i];
    const Tensor& value = from.weights[i].value;
    if (value.shape() != slot.shape) {
      throw Error(where + ": weight '" + from.weights[i].name + "' has shape " +
                  to_string(value.shape()) + " in the file, the model expects " +
                  to_string(slot.shape) + " for '" + slot.name + "'");
    }
    slot.value = value;
  }
}

std::vector<std::string> parse_class_names(const std::string& json_text, const std::string& path) {
  check_json_limits(json_text, path, "attribute gaze_class_names", uint64_t{1} << 20);
  try {
    return nlohmann::json::parse(json_text).get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception&) {
    throw Error(path + ": attribute gaze_class_names is not a JSON list of strings");
  }
}

// The weights of gaze layer `name` in the file: its own group, or for a layer inside a nested
// model (`outer/.../inner`) the entries of the outer model's group that belong to `inner` (Keras
// 2 keeps a nested model's weights in one group, named "inner/kernel:0", or with the nested
// models' names in front, "outer/inner/kernel:0").
std::optional<LayerWeights> file_weights(const std::map<std::string, const LayerWeights*>& groups,
                                         const std::string& name) {
  if (auto it = groups.find(name); it != groups.end()) return *it->second;
  const size_t slash = name.find('/');
  if (slash == std::string::npos) return std::nullopt;
  auto it = groups.find(name.substr(0, slash));
  if (it == groups.end()) return std::nullopt;
  const std::string path = name.substr(slash + 1);  // "b/conv" for "a/b/conv"
  const std::string inner = name.substr(name.rfind('/') + 1);
  LayerWeights mine{name, {}};
  for (const NamedTensor& w : it->second->weights) {
    std::string owner =
        w.name.substr(0, w.name.rfind('/') == std::string::npos ? 0 : w.name.rfind('/'));
    if (owner.starts_with(it->first + "/")) owner = owner.substr(it->first.size() + 1);
    if (owner == inner || owner == path) mine.weights.push_back(w);
  }
  if (mine.weights.empty()) return std::nullopt;
  return mine;
}

void assign_weights_by_name(Model& model, const KerasFile& file, const std::string& path) {
  std::map<std::string, const LayerWeights*> by_name;
  for (const LayerWeights& l : file.layers) by_name[l.layer] = &l;
  for (size_t i = 0; i < model.size(); ++i) {
    if (model.weights_owner(i) != i) continue;  // a later call of a shared layer
    Layer& layer = model.layer(i);
    if (layer.weights().empty()) continue;
    const std::optional<LayerWeights> from = file_weights(by_name, layer.name());
    if (!from) throw Error(path + ": no weights for layer '" + layer.name() + "' in the file");
    assign_layer_weights(layer, *from, path);
  }
  model.tie_shared_weights();
}

}  // namespace

void load_weights_by_name(Model& model, const KerasFile& file, const std::string& path) {
  assign_weights_by_name(model, file, path);
}

void load_weights_by_order(Model& model, const KerasFile& file, const std::string& path) {
  std::vector<Layer*> targets;
  for (size_t i : model.keras_order()) {
    if (model.weights_owner(i) == i && !model.layer(i).weights().empty())
      targets.push_back(&model.layer(i));
  }
  std::vector<const LayerWeights*> sources;
  for (const LayerWeights& l : file.layers) {
    if (!l.weights.empty()) sources.push_back(&l);
  }
  if (targets.size() != sources.size()) {
    throw Error(path + ": the file has " + std::to_string(sources.size()) +
                " layers with weights, the model has " + std::to_string(targets.size()));
  }
  for (size_t i = 0; i < targets.size(); ++i) assign_layer_weights(*targets[i], *sources[i], path);
  model.tie_shared_weights();
}

LoadedModel load_keras_model(const std::string& path, const LayerRegistry& layers) {
  LoadedModel loaded;
  loaded.path = path;
  {
    KerasFile file = read_keras_h5(path);
    if (file.model_config.empty()) {
      throw Error(path + ": a weights-only file (no model_config); it needs a model to load into");
    }
    try {
      auto version = file.attributes.find("keras_version");
      loaded.model = model_from_keras_config(
          file.model_config,
          keras_major_version(version == file.attributes.end() ? "" : version->second), layers);
    } catch (const Error& e) {
      throw Error(path + ": " + e.what());
    }
    assign_weights_by_name(loaded.model, file, path);
    if (auto it = file.attributes.find("gaze_class_names"); it != file.attributes.end()) {
      loaded.class_names = parse_class_names(it->second, path);
      const Model& model = loaded.model;
      const int64_t outputs = model.output_shape(model.output_index()).back();
      if (loaded.class_names.size() != static_cast<size_t>(outputs)) {
        throw Error(path + ": attribute gaze_class_names has " +
                    std::to_string(loaded.class_names.size()) + " names for the model's " +
                    std::to_string(outputs) + " outputs");
      }
    }
    if (auto it = file.attributes.find("gaze_preprocessing"); it != file.attributes.end()) {
      loaded.preprocessing = it->second;
    }
  }
  return loaded;
}

}  // namespace gaze
