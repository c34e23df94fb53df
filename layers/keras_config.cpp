#include "layers/keras_config.h"

#include <nlohmann/json.hpp>
#include <set>

#include "layers/keras_layers.h"
#include "layers/registry.h"

namespace gaze {
namespace {

using json = nlohmann::json;

struct LayerSpec {
  std::string class_name, name;
  json config;
  std::vector<std::string> inbound;
};

// One reference to a layer's output: Keras 2 ["name", node, tensor, {kwargs}], Keras 3
// {"class_name": "__keras_tensor__", "config": {"keras_history": ["name", node, tensor]}}.
std::string history_layer(const json& ref, const std::string& layer) {
  const json* h = &ref;
  if (ref.is_object()) {
    if (!ref.contains("config") || !ref["config"].contains("keras_history")) {
      throw Error("layer '" + layer + "': inbound node argument is not a Keras tensor");
    }
    h = &ref["config"]["keras_history"];
  }
  if (!h->is_array() || h->empty() || !(*h)[0].is_string()) {
    throw Error("layer '" + layer + "': malformed inbound node entry " + h->dump());
  }
  if ((h->size() > 1 && (*h)[1] != 0) || (h->size() > 2 && (*h)[2] != 0)) {
    throw Error("layer '" + layer +
                "': takes a layer's output other than its first (shared layers are not supported)");
  }
  return (*h)[0].get<std::string>();
}

std::vector<std::string> inbound_layers(const json& nodes, const std::string& layer) {
  std::vector<std::string> names;
  if (nodes.is_null() || nodes.empty()) return names;
  if (!nodes.is_array()) throw Error("layer '" + layer + "': inbound_nodes is not a list");
  if (nodes.size() > 1)
    throw Error("layer '" + layer +
                "': is called more than once (shared layers are not supported)");
  const json& node = nodes[0];
  if (node.is_array()) {  // Keras 2
    for (const json& ref : node) names.push_back(history_layer(ref, layer));
  } else if (node.is_object() && node.contains("args")) {  // Keras 3
    for (const json& arg : node["args"]) {
      if (arg.is_array()) {
        for (const json& ref : arg) names.push_back(history_layer(ref, layer));
      } else {
        names.push_back(history_layer(arg, layer));
      }
    }
  } else {
    throw Error("layer '" + layer + "': unrecognized inbound_nodes format");
  }
  return names;
}

LayerSpec layer_spec(const json& l) {
  if (!l.is_object() || !l.contains("class_name") || !l["class_name"].is_string()) {
    throw Error("model config: a layer entry has no class_name");
  }
  LayerSpec s;
  s.class_name = l["class_name"].get<std::string>();
  s.config = l.value("config", json::object());
  if (l.contains("name") && l["name"].is_string())
    s.name = l["name"].get<std::string>();
  else if (s.config.contains("name") && s.config["name"].is_string())
    s.name = s.config["name"].get<std::string>();
  else
    throw Error("model config: a " + s.class_name + " layer has no name");
  return s;
}

// [["name", 0, 0]] or (Keras 3, single) ["name", 0, 0]: the names listed.
std::vector<std::string> endpoint_names(const json& v, const char* what) {
  std::vector<std::string> names;
  if (v.is_array() && !v.empty() && v[0].is_string()) {
    names.push_back(v[0].get<std::string>());
  } else if (v.is_array()) {
    for (const json& e : v) {
      if (!e.is_array() || e.empty() || !e[0].is_string())
        throw Error(std::string("model config: malformed ") + what);
      names.push_back(e[0].get<std::string>());
    }
  }
  return names;
}

// Adds the layers so that each comes after its inputs, whatever order the config lists them in.
Model assemble(std::vector<LayerSpec> specs, const std::string& output, int keras_major) {
  Model model;
  std::set<std::string> added;
  while (!specs.empty()) {
    bool progress = false;
    for (auto it = specs.begin(); it != specs.end();) {
      bool ready = true;
      for (const std::string& in : it->inbound) ready = ready && added.count(in);
      if (!ready) {
        ++it;
        continue;
      }
      model.add(make_layer(it->class_name, it->name, it->config, keras_major), it->inbound);
      added.insert(it->name);
      it = specs.erase(it);
      progress = true;
    }
    if (!progress) {
      throw Error("model config: layer '" + specs.front().name +
                  "' has an inbound layer that is never defined (or a cycle)");
    }
  }
  if (!output.empty()) model.set_output(output);
  return model;
}

Model functional(const json& config, int keras_major) {
  if (!config.contains("layers") || !config["layers"].is_array())
    throw Error("model config: no layer list");
  std::vector<LayerSpec> specs;
  for (const json& l : config["layers"]) {
    LayerSpec s = layer_spec(l);
    s.inbound = inbound_layers(l.value("inbound_nodes", json::array()), s.name);
    specs.push_back(std::move(s));
  }
  const auto inputs = endpoint_names(config.value("input_layers", json::array()), "input_layers");
  const auto outputs =
      endpoint_names(config.value("output_layers", json::array()), "output_layers");
  if (inputs.size() > 1)
    throw Error("model config: " + std::to_string(inputs.size()) +
                " inputs (gaze models have one)");
  if (outputs.size() > 1)
    throw Error("model config: " + std::to_string(outputs.size()) +
                " outputs (gaze models have one)");
  // The InputLayer goes first.
  std::stable_partition(specs.begin(), specs.end(),
                        [](const LayerSpec& s) { return s.class_name == "InputLayer"; });
  return assemble(std::move(specs), outputs.empty() ? "" : outputs[0], keras_major);
}

Model sequential(const json& config, int keras_major) {
  const json& layers = config.is_array() ? config : config.value("layers", json::array());
  std::vector<LayerSpec> specs;
  for (const json& l : layers) specs.push_back(layer_spec(l));
  if (specs.empty()) throw Error("model config: empty Sequential model");
  if (specs[0].class_name != "InputLayer") {
    // Keras creates the input from the first layer's batch_input_shape.
    const json& c = specs[0].config;
    if (!c.contains("batch_input_shape") && !c.contains("batch_shape")) {
      throw Error("model config: Sequential model without an input shape");
    }
    LayerSpec in{"InputLayer", specs[0].name + "_input", json::object(), {}};
    in.config["batch_input_shape"] =
        c.contains("batch_input_shape") ? c["batch_input_shape"] : c["batch_shape"];
    specs.insert(specs.begin(), in);
  }
  for (size_t i = 1; i < specs.size(); ++i) specs[i].inbound = {specs[i - 1].name};
  return assemble(std::move(specs), "", keras_major);
}

}  // namespace

Model model_from_keras_config(const std::string& json_text, int keras_major) {
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::exception& e) {
    throw Error(std::string("model config is not valid JSON: ") + e.what());
  }
  if (root.contains("model_config")) root = root["model_config"];  // a TF.js modelTopology
  if (!root.is_object() || !root.contains("class_name"))
    throw Error("model config: no class_name at the top");
  const std::string cls =
      root["class_name"].is_string() ? root["class_name"].get<std::string>() : "";
  const json& config = root.contains("config") ? root["config"] : json();
  if (cls == "Model" || cls == "Functional") return functional(config, keras_major);
  if (cls == "Sequential") return sequential(config, keras_major);
  throw Error("model config: unsupported model class '" + cls +
              "' (supported: Model, Functional, Sequential)");
}

}  // namespace gaze
