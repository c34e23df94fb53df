#include "weights/keras3_weights.h"

#include <map>
#include <regex>
#include <set>

namespace gaze {
namespace {

using json = nlohmann::json;

const std::string kLayers = "layers";
// H5IOStore.get's "Fix for 2.13 compatibility" (keras/src/saving/saving_lib.py).
const std::string kLegacyLayers = "_layer_checkpoint_dependencies";
const std::string kVars = "vars";

std::string in_quotes(const std::string& s) {
  return "'" + s + "'";
}

std::string join(const std::string& path, const std::string& child) {
  return path.empty() ? child : path + "/" + child;
}

// saving_lib._get_unique_name: the first use of a name is the name itself, the k-th repeat gets
// "_k".
std::string unique_name(const std::string& name, std::map<std::string, int>& used) {
  auto [it, first] = used.try_emplace(name, 0);
  if (first) return name;
  return name + "_" + std::to_string(++it->second);
}

std::string class_of(const json& entry) {
  if (!entry.is_object() || !entry.contains("class_name") || !entry["class_name"].is_string()) {
    throw Error("model config: a layer entry has no class_name");
  }
  return entry["class_name"].get<std::string>();
}

// A Functional model's entries carry "name"; a Sequential model's only config.name.
std::string name_of(const json& entry) {
  if (entry.contains("name") && entry["name"].is_string()) return entry["name"].get<std::string>();
  const json config = entry.value("config", json::object());
  if (config.is_object() && config.contains("name") && config["name"].is_string()) {
    return config["name"].get<std::string>();
  }
  throw Error("model config: a " + class_of(entry) + " layer has no name");
}

bool is_model_class(const std::string& class_name) {
  return class_name == "Functional" || class_name == "Sequential" || class_name == "Model";
}

// The layer entries of a model config: config.layers (or, for old Sequential configs, config).
const json& layer_list(const json& model_entry) {
  const json& config = model_entry.contains("config") ? model_entry["config"] : model_entry;
  if (config.is_array()) return config;
  if (!config.is_object() || !config.contains("layers") || !config["layers"].is_array()) {
    throw Error("model config: the " + class_of(model_entry) + " model has no layer list");
  }
  return config["layers"];
}

// " (quantized: 'int8_from_float32')" when the layer's dtype policy is a quantized one, whose
// layers save extra variables (scales) that gaze has no use for. Keras names those policies
// "<mode>_from_<source dtype>" (keras/src/dtype_policies/dtype_policy.py).
std::string quantization_note(const json& entry) {
  const json config = entry.value("config", json::object());
  if (!config.is_object() || !config.contains("dtype")) return "";
  const json& dtype = config["dtype"];
  std::string policy;
  if (dtype.is_string()) policy = dtype.get<std::string>();
  if (dtype.is_object() && dtype.contains("config") && dtype["config"].is_object() &&
      dtype["config"].value("name", json()).is_string()) {
    policy = dtype["config"]["name"].get<std::string>();
  }
  if (policy.find("_from_") == std::string::npos) return "";
  return " (the layer is quantized, dtype policy " + in_quotes(policy) +
         ", which gaze does not read)";
}

class Walker {
 public:
  Walker(Model& model, const hdf5::Group& root, const std::string& label)
      : model_(model), root_(root), label_(label) {
    layers_ = !root.has_child(kLayers) && root.has_child(kLegacyLayers) ? kLegacyLayers : kLayers;
  }

  // Visits the layers of the model `model_entry`, whose groups are under `path` (the file's root
  // for the outer model), naming them with `prefix`.
  void walk_model(const json& model_entry, const std::string& path, const std::string& prefix) {
    const json& layers = layer_list(model_entry);
    const std::string list_path = join(path, layers_);
    // Sequential.layers leaves out the InputLayer that starts config.layers.
    size_t first = 0;
    if (class_of(model_entry) == "Sequential" && !layers.empty() &&
        class_of(layers[0]) == "InputLayer") {
      first = 1;
    }
    std::map<std::string, int> used;
    std::set<std::string> visited;
    for (size_t i = first; i < layers.size(); ++i) {
      const json& entry = layers[i];
      const std::string class_name = class_of(entry), name = name_of(entry);
      const std::string group = unique_name(keras_snake_case(class_name), used);
      visited.insert(group);
      const std::string layer_path = join(list_path, group);
      if (is_model_class(class_name)) {
        expect_no_variables(layer_path, prefix + name, class_name);
        walk_model(entry, layer_path, prefix + name + "/");
      } else {
        assign(entry, layer_path, prefix + name, class_name);
      }
    }
    reject_unvisited(list_path, visited);
  }

 private:
  // The variable datasets `<layer_path>/vars/0`, `1`, ... in index order; none when the group is
  // absent (Keras writes no group for a layer without variables, or an empty one).
  std::vector<std::string> variables(const std::string& layer_path) const {
    const std::string vars_path = join(layer_path, kVars);
    if (!root_.has_child(vars_path)) return {};
    const std::vector<std::string> children = root_.open_group(vars_path).child_names();
    const std::set<std::string> names(children.begin(), children.end());
    std::vector<std::string> paths;
    for (size_t i = 0; i < children.size(); ++i) {
      if (!names.count(std::to_string(i))) {
        std::string list;
        for (const std::string& c : children) list += (list.empty() ? "" : ", ") + in_quotes(c);
        throw Error(label_ + ": group " + in_quotes(vars_path) + " holds " + list +
                    ", not the variables 0 to " + std::to_string(children.size() - 1) +
                    " that Keras writes");
      }
      paths.push_back(join(vars_path, std::to_string(i)));
    }
    return paths;
  }

  void expect_no_variables(const std::string& layer_path, const std::string& name,
                           const std::string& class_name) const {
    const size_t n = variables(layer_path).size();
    if (n > 0) {
      throw Error(label_ + ": layer " + in_quotes(name) + " (" + class_name + ") has " +
                  std::to_string(n) + " variable(s) of its own at " +
                  in_quotes(join(layer_path, kVars)) + ", which a model does not have");
    }
  }

  void assign(const json& entry, const std::string& layer_path, const std::string& name,
              const std::string& class_name) {
    const std::vector<std::string> vars = variables(layer_path);
    const std::string where = label_ + ": layer " + in_quotes(name) + " (" + class_name + ")";
    if (!model_.contains(name)) {
      if (vars.empty()) return;  // e.g. the InputLayer of a nested model, which gaze drops
      throw Error(where + " has " + std::to_string(vars.size()) + " variable(s) at " +
                  in_quotes(join(layer_path, kVars)) + " but the model has no layer of that name");
    }
    std::vector<Weight>& slots = model_.layer(model_.index_of(name)).weights();
    if (vars.size() != slots.size()) {
      std::string expected;
      for (const Weight& w : slots) expected += (expected.empty() ? "" : ", ") + w.name;
      throw Error(where + ": the file has " + std::to_string(vars.size()) + " variable(s) at " +
                  in_quotes(join(layer_path, kVars)) + ", the model expects " +
                  std::to_string(slots.size()) + (expected.empty() ? "" : " (" + expected + ")") +
                  quantization_note(entry));
    }
    for (size_t i = 0; i < vars.size(); ++i) {
      Tensor value = root_.read_float_dataset(vars[i]);
      if (value.shape() != slots[i].shape) {
        throw Error(where + ": variable " + in_quotes(vars[i]) + " has shape " +
                    to_string(value.shape()) + ", the model expects " + to_string(slots[i].shape) +
                    " for " + in_quotes(slots[i].name));
      }
      slots[i].value = std::move(value);
    }
  }

  // A group under `list_path` that the config's walk did not reach but that holds variables
  // means the config is not the one the weights were saved with.
  void reject_unvisited(const std::string& list_path, const std::set<std::string>& visited) const {
    if (!root_.has_child(list_path)) return;
    for (const std::string& child : root_.open_group(list_path).child_names()) {
      if (visited.count(child)) continue;
      const std::string path = join(list_path, child);
      if (!variables(path).empty() || root_.has_child(join(path, layers_))) {
        throw Error(label_ + ": the file has weights at " + in_quotes(path) +
                    " that no layer of the model config takes (is the config this model's?)");
      }
    }
  }

  Model& model_;
  const hdf5::Group& root_;
  const std::string& label_;
  std::string layers_;
};

}  // namespace

std::string keras_snake_case(const std::string& class_name) {
  // The three substitutions of naming.to_snake_case, in order; ECMAScript's \W is Python's for
  // ASCII class names.
  static const std::regex non_word(R"(\W+)"), word(R"((.)([A-Z][a-z]+))"),
      lower_upper(R"(([a-z])([A-Z]))");
  std::string name = std::regex_replace(class_name, non_word, "");
  name = std::regex_replace(name, word, "$1_$2");
  name = std::regex_replace(name, lower_upper, "$1_$2");
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

bool has_keras3_layout(const hdf5::Group& root) {
  return !root.has_attribute("layer_names") && !root.has_attribute("layer_names0") &&
         (root.has_child(kLayers) || root.has_child(kLegacyLayers));
}

void load_keras3_weights(Model& model, const nlohmann::json& config, const hdf5::Group& root,
                         const std::string& label) {
  const json& top = config.contains("model_config") ? config["model_config"] : config;
  const std::string class_name = class_of(top);
  if (!is_model_class(class_name)) {
    throw Error(label + ": the model config's top is a " + class_name +
                ", not a Functional or Sequential model");
  }
  Walker(model, root, label).walk_model(top, "", "");
  // A shared layer's later calls (`name@1`, ...) have no group of their own: they take the
  // first call's weights, as the layer object is one in Keras.
  model.tie_shared_weights();
  try {
    model.check_weights_loaded();
  } catch (const Error& e) {
    throw Error(label + ": " + e.what());
  }
}

}  // namespace gaze
