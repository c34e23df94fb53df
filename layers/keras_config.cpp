#include "layers/keras_config.h"

#include <algorithm>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "layers/keras_layers.h"
#include "layers/registry.h"
#include "tensor/json_limits.h"

namespace gaze {
namespace {

using json = nlohmann::json;

struct LayerSpec {
  std::string class_name, name;  // name: gaze's, `outer/inner` inside nested models
  json config;
  std::vector<std::string> inbound;
  std::string weights_from;  // a later call of a shared layer: the layer that owns the weights
};

bool is_model_class(const std::string& cls) {
  return cls == "Functional" || cls == "Model" || cls == "Sequential";
}

// One reference to a layer's output: the layer, which call of it (node) and which of its outputs.
struct TensorRef {
  std::string layer;
  int64_t node = 0, tensor = 0;
};

// Keras 2 ["name", node, tensor, {kwargs}], Keras 3 {"class_name": "__keras_tensor__",
// "config": {"keras_history": ["name", node, tensor]}}.
TensorRef tensor_ref(const json& ref, const std::string& layer) {
  const json* h = &ref;
  if (ref.is_object()) {
    if (!ref.contains("config") || !ref["config"].contains("keras_history")) {
      throw Error("layer '" + layer + "': inbound node argument is not a Keras tensor");
    }
    h = &ref["config"]["keras_history"];
  }
  if (!h->is_array() || h->empty() || !(*h)[0].is_string() ||
      (h->size() > 1 && !(*h)[1].is_number_integer()) ||
      (h->size() > 2 && !(*h)[2].is_number_integer())) {
    throw Error("layer '" + layer + "': malformed inbound node entry " + h->dump());
  }
  TensorRef r{(*h)[0].get<std::string>()};
  if (h->size() > 1) r.node = (*h)[1].get<int64_t>();
  if (h->size() > 2) r.tensor = (*h)[2].get<int64_t>();
  if (r.node < 0) throw Error("layer '" + layer + "': negative node index in " + h->dump());
  if (r.tensor != 0) {
    throw Error("layer '" + layer + "': takes output " + std::to_string(r.tensor) + " of '" +
                r.layer + "' (gaze layers have one output)");
  }
  return r;
}

// The calls of a layer: each inbound node is the list of tensors one call takes.
std::vector<std::vector<TensorRef>> layer_calls(const json& nodes, const std::string& layer) {
  std::vector<std::vector<TensorRef>> calls;
  if (nodes.is_null() || nodes.empty()) return calls;
  if (!nodes.is_array()) throw Error("layer '" + layer + "': inbound_nodes is not a list");
  for (const json& node : nodes) {
    std::vector<TensorRef> refs;
    if (node.is_array()) {  // Keras 2
      for (const json& ref : node) refs.push_back(tensor_ref(ref, layer));
    } else if (node.is_object() && node.contains("args")) {  // Keras 3
      for (const json& arg : node["args"]) {
        if (arg.is_array()) {
          for (const json& ref : arg) refs.push_back(tensor_ref(ref, layer));
        } else {
          refs.push_back(tensor_ref(arg, layer));
        }
      }
    } else {
      throw Error("layer '" + layer + "': unrecognized inbound_nodes format");
    }
    calls.push_back(std::move(refs));
  }
  return calls;
}

std::string entry_name(const json& l) {
  if (l.contains("name") && l["name"].is_string()) return l["name"].get<std::string>();
  if (l.contains("config") && l["config"].is_object() && l["config"].contains("name") &&
      l["config"]["name"].is_string())
    return l["config"]["name"].get<std::string>();
  throw Error("model config: a layer entry has no name");
}

std::string entry_class(const json& l) {
  if (!l.is_object() || !l.contains("class_name") || !l["class_name"].is_string()) {
    throw Error("model config: a layer entry has no class_name");
  }
  return l["class_name"].get<std::string>();
}

// [["name", 0, 0]] or (Keras 3, single) ["name", 0, 0]: the tensors listed.
std::vector<TensorRef> endpoints(const json& v, const char* what) {
  std::vector<TensorRef> refs;
  if (v.is_array() && !v.empty() && v[0].is_string()) {
    refs.push_back(tensor_ref(v, what));
  } else if (v.is_array()) {
    for (const json& e : v) refs.push_back(tensor_ref(e, what));
  } else if (!v.is_null()) {
    throw Error(std::string("model config: malformed ") + what);
  }
  return refs;
}

std::string call_name(const std::string& prefix, const std::string& layer, int64_t node) {
  return prefix + layer + (node > 0 ? "@" + std::to_string(node) : "");
}

// A model config's layer list (an old Sequential config is the list itself); empty if none.
const json& model_layers(const json& config) {
  static const json kEmpty = json::array();
  if (config.is_array()) return config;
  if (config.is_object() && config.contains("layers") && config["layers"].is_array())
    return config["layers"];
  return kEmpty;
}

// Turns a model config into one flat list of layers. A model nested as a layer is inlined: its
// layers are named `outer/inner` (to any depth) and its input is the tensor the outer model
// passes it. A layer called more than once (a shared layer) becomes one gaze layer per call,
// `name`, `name@1`, `name@2`, ..., the later ones sharing the first one's weights.
class Flattener {
 public:
  std::vector<LayerSpec> specs;

  // Adds the layers of one (possibly nested) model and returns the name of its output.
  // `prefix`: the names' prefix; `input`: the tensor feeding it, empty for the top model (whose
  // InputLayer is kept); `shared_prefix`: for a later call of a shared nested model, the prefix
  // of the call that owns the weights.
  std::string add_model(const std::string& cls, const json& config, const std::string& prefix,
                        const std::string& input, const std::string& shared_prefix) {
    if (++depth_ > kMaxDepth) throw Error("model config: models nested too deeply");
    const std::string out = cls == "Sequential" ? sequential(config, prefix, input, shared_prefix)
                                                : functional(config, prefix, input, shared_prefix);
    --depth_;
    return out;
  }

 private:
  static constexpr int kMaxDepth = 32;
  int depth_ = 0;

  void add_spec(const std::string& cls, const std::string& name, const json& l,
                std::vector<std::string> inbound, std::string weights_from) {
    specs.push_back({cls, name, l.value("config", json::object()), std::move(inbound),
                     std::move(weights_from)});
  }

  std::string functional(const json& config, const std::string& prefix, const std::string& input,
                         const std::string& shared_prefix) {
    if (!config.is_object() || !config.contains("layers") || !config["layers"].is_array())
      throw Error("model config: no layer list");
    std::map<std::string, const json*> by_name;
    for (const json& l : config["layers"]) by_name[entry_name(l)] = &l;
    const auto inputs = endpoints(config.value("input_layers", json::array()), "input_layers");
    const auto outputs = endpoints(config.value("output_layers", json::array()), "output_layers");
    if (inputs.size() > 1)
      throw Error("model config: " + std::to_string(inputs.size()) +
                  " inputs (gaze models have one)");
    if (outputs.size() != 1)
      throw Error("model config: " + std::to_string(outputs.size()) +
                  " outputs (gaze models have one)");
    const std::map<std::string, int64_t> offsets = nested_node_offsets(config, by_name);
    // The gaze name of a tensor of this model.
    std::function<std::string(const TensorRef&)> resolve = [&](const TensorRef& r) {
      auto it = by_name.find(r.layer);
      if (it == by_name.end()) return call_name(prefix, r.layer, r.node);  // reported later
      const std::string cls = entry_class(*it->second);
      if (cls == "InputLayer") return input.empty() ? prefix + r.layer : input;
      if (is_model_class(cls)) {
        const int64_t call = r.node - offsets.at(r.layer);
        return nested_output(cls, it->second->value("config", json::object()),
                             call_name(prefix, r.layer, call) + "/");
      }
      return call_name(prefix, r.layer, r.node);
    };
    for (const json& l : config["layers"]) {
      const std::string cls = entry_class(l), name = entry_name(l);
      if (cls == "InputLayer") {
        if (input.empty()) add_spec(cls, prefix + name, l, {}, "");
        continue;
      }
      const auto calls = layer_calls(l.value("inbound_nodes", json::array()), prefix + name);
      for (size_t k = 0; k < calls.size(); ++k) {
        std::vector<std::string> inbound;
        for (const TensorRef& r : calls[k]) inbound.push_back(resolve(r));
        const std::string here = call_name(prefix, name, static_cast<int64_t>(k));
        // The weights belong to the first call, or to the shared model's first call.
        std::string owner = k > 0 ? prefix + name : "";
        if (owner.empty() && !shared_prefix.empty()) owner = shared_prefix + name;
        if (is_model_class(cls)) {
          if (inbound.size() != 1)
            throw Error("layer '" + here + "': a nested model takes one input here");
          add_model(cls, l.value("config", json::object()), here + "/", inbound[0],
                    owner.empty() ? "" : owner + "/");
        } else {
          add_spec(cls, here, l, std::move(inbound), owner);
        }
      }
    }
    return resolve(outputs[0]);
  }

  std::string sequential(const json& config, const std::string& prefix, const std::string& input,
                         const std::string& shared_prefix) {
    const json& layers = model_layers(config);
    if (layers.empty()) throw Error("model config: empty Sequential model");
    std::string previous = input;
    for (size_t i = 0; i < layers.size(); ++i) {
      const json& l = layers[i];
      const std::string cls = entry_class(l), name = entry_name(l);
      const std::string owner = shared_prefix.empty() ? "" : shared_prefix + name;
      if (cls == "InputLayer") {
        if (i != 0) throw Error("model config: InputLayer '" + name + "' is not first");
        if (input.empty()) add_spec(cls, prefix + name, l, {}, ""), previous = prefix + name;
        continue;
      }
      if (previous.empty()) {
        // Keras creates the input from the first layer's batch_input_shape.
        const json c = l.value("config", json::object());
        if (!c.contains("batch_input_shape") && !c.contains("batch_shape")) {
          throw Error("model config: Sequential model without an input shape");
        }
        json in = {{"config", json::object()}};
        in["config"]["batch_input_shape"] =
            c.contains("batch_input_shape") ? c["batch_input_shape"] : c["batch_shape"];
        previous = prefix + name + "_input";
        add_spec("InputLayer", previous, in, {}, "");
      }
      if (is_model_class(cls)) {
        previous = add_model(cls, l.value("config", json::object()), prefix + name + "/", previous,
                             owner.empty() ? "" : owner + "/");
      } else {
        add_spec(cls, prefix + name, l, {previous}, owner);
        previous = prefix + name;
      }
    }
    return previous;
  }

  // How node indices that refer to each nested model count. A model built on an Input already
  // has a node of its own (input to output), which Keras leaves out of the config but counts: its
  // first call in the outer model is node 1 (keras/src/models/functional.py, get_config's
  // node_reindexing_map; tf.keras' _should_skip_first_node; TF.js does the same). Without that
  // node, the first call is node 0. Decided from the references themselves where they tell (an
  // index equal to the number of calls, or a 0), else by class: Functional models have one.
  static std::map<std::string, int64_t> nested_node_offsets(
      const json& config, const std::map<std::string, const json*>& by_name) {
    std::map<std::string, std::vector<int64_t>> used;  // nested model -> node indices referred to
    auto note = [&](const TensorRef& r) {
      auto it = by_name.find(r.layer);
      if (it != by_name.end() && is_model_class(entry_class(*it->second)))
        used[r.layer].push_back(r.node);
    };
    for (const json& l : config["layers"]) {
      for (const auto& call : layer_calls(l.value("inbound_nodes", json::array()), entry_name(l)))
        for (const TensorRef& r : call) note(r);
    }
    for (const TensorRef& r : endpoints(config.value("output_layers", json::array()), "outputs"))
      note(r);
    std::map<std::string, int64_t> offsets;
    for (const auto& [name, entry] : by_name) {
      const std::string cls = entry_class(*entry);
      if (!is_model_class(cls)) continue;
      const int64_t calls = static_cast<int64_t>(
          layer_calls(entry->value("inbound_nodes", json::array()), name).size());
      const std::vector<int64_t>& nodes = used[name];
      int64_t offset = cls == "Sequential" ? 0 : 1;
      if (std::count(nodes.begin(), nodes.end(), calls) > 0) offset = 1;
      if (std::count(nodes.begin(), nodes.end(), 0) > 0) offset = 0;
      for (int64_t n : nodes) {
        if (n - offset < 0 || n - offset >= calls) {
          throw Error("model config: a reference to node " + std::to_string(n) +
                      " of nested model '" + name + "', which is called " + std::to_string(calls) +
                      " time(s)");
        }
      }
      offsets[name] = offset;
    }
    return offsets;
  }

  // The gaze name of a nested model's output, for the call named by `prefix`.
  std::string nested_output(const std::string& cls, const json& config, const std::string& prefix) {
    if (++depth_ > kMaxDepth) throw Error("model config: models nested too deeply");
    std::string out;
    if (cls == "Sequential") {
      const json& layers = model_layers(config);
      if (layers.empty()) throw Error("model config: empty Sequential model");
      const json& last = layers.back();
      const std::string last_cls = entry_class(last);
      out = is_model_class(last_cls) ? nested_output(last_cls, last.value("config", json::object()),
                                                     prefix + entry_name(last) + "/")
                                     : prefix + entry_name(last);
    } else {
      const auto outputs = endpoints(config.value("output_layers", json::array()), "output_layers");
      if (outputs.size() != 1) throw Error("model config: a nested model needs one output");
      const TensorRef& r = outputs[0];
      std::string inner_cls;
      json inner_config;
      for (const json& l : model_layers(config)) {
        if (entry_name(l) == r.layer)
          inner_cls = entry_class(l), inner_config = l.value("config", json::object());
      }
      if (inner_cls == "InputLayer")
        throw Error("model config: nested model '" + prefix + "' returns its input");
      out = is_model_class(inner_cls)
                ? nested_output(inner_cls, inner_config, call_name(prefix, r.layer, r.node) + "/")
                : call_name(prefix, r.layer, r.node);
    }
    --depth_;
    return out;
  }
};

// Adds the layers so that each comes after its inputs, whatever order the config lists them in.
Model assemble(std::vector<LayerSpec> specs, const std::string& output, int keras_major,
               const LayerRegistry& layers) {
  Model model;
  std::set<std::string> added;
  // The InputLayer goes first.
  std::stable_partition(specs.begin(), specs.end(),
                        [](const LayerSpec& s) { return s.class_name == "InputLayer"; });
  while (!specs.empty()) {
    bool progress = false;
    for (auto it = specs.begin(); it != specs.end();) {
      bool ready = true;
      for (const std::string& in : it->inbound) ready = ready && added.count(in);
      if (!ready) {
        ++it;
        continue;
      }
      model.add(layers.make(it->class_name, it->name, it->config, keras_major), it->inbound);
      if (!it->weights_from.empty()) model.share_weights(it->name, it->weights_from);
      added.insert(it->name);
      it = specs.erase(it);
      progress = true;
    }
    if (!progress) {
      std::string missing;
      for (const std::string& in : specs.front().inbound) {
        if (!added.count(in)) missing = in;
      }
      throw Error("model config: layer '" + specs.front().name + "' has an inbound layer '" +
                  missing + "' that is never defined (or a cycle)");
    }
  }
  if (!output.empty()) model.set_output(output);
  return model;
}

}  // namespace

Model model_from_keras_config(const std::string& json_text, int keras_major,
                              const LayerRegistry& layers) {
  check_json_limits(json_text, "", "model config");
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
  if (!is_model_class(cls)) {
    throw Error("model config: unsupported model class '" + cls +
                "' (supported: Model, Functional, Sequential)");
  }
  Flattener flat;
  const std::string output =
      flat.add_model(cls, root.contains("config") ? root["config"] : json(), "", "", "");
  return assemble(std::move(flat.specs), output, keras_major, layers);
}

}  // namespace gaze
