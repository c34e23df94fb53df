// gaze inspect / gaze layers: what is in a model file.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "layers/registry.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/model_path.h"
#include "tools/run_common.h"
#include "weights/model_io.h"

namespace gaze {
namespace {

std::string shape_text(const Shape& s) {
  std::string t = "(";
  for (size_t i = 0; i < s.size(); ++i) {
    t += (i ? ", " : "") + (s[i] < 0 ? std::string("None") : std::to_string(s[i]));
  }
  return t + ")";
}

std::string with_commas(int64_t n) {
  const std::string digits = std::to_string(n);
  std::string s;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) s += ',';
    s += digits[i];
  }
  return s;
}

std::vector<std::string> inbound_names(const Model& m, size_t i) {
  std::vector<std::string> names;
  for (size_t in : m.inbound(i)) names.push_back(m.layer(in).name());
  return names;
}

nlohmann::json layer_json(const Model& m, size_t i) {
  nlohmann::json l = {{"name", m.layer(i).name()},
                      {"class_name", m.layer(i).class_name()},
                      {"output_shape", m.output_shape(i)},
                      {"params", m.layer(i).parameter_count()},
                      {"inbound", inbound_names(m, i)}};
  return l;
}

std::string model_argument(const cli::Parser& p) {
  if (p.positional().size() > 1)
    throw Error("expected one MODEL file, got " + std::to_string(p.positional().size()));
  return p.positional().empty() ? default_model_path() : p.positional()[0];
}

}  // namespace

int cmd_inspect(const Args& args) {
  cli::Parser p(
      "inspect", "[--json] [--spatial] [--config FILE] [MODEL]",
      "Prints a model's layers like Keras' model.summary(): name, class, output shape,\n"
      "parameter count and inbound layers, then the totals. The whole file is loaded, so\n"
      "a model that inspects cleanly will run.");
  p.option("config", "FILE", kConfigOptionHelp)
      .flag("json", "print one JSON object instead of the table")
      .flag("spatial", "only layers with a spatial output (where a map can be taken)")
      .epilog(
          "MODEL is a .keras or .h5 model, or a weights-only file with --config; it defaults to\n"
          "$GAZE_MODEL, else models/nsfwjs_inception_v3.h5 (tools/fetch_models.sh).\n"
          "example: gaze inspect models/nsfwjs_mobilenet_v2.h5");
  if (!p.parse(args)) return 0;
  const LoadedModel loaded = load_model(model_argument(p), p.get("config"));
  const Model& m = loaded.model;
  const bool spatial_only = p.has("spatial");

  if (p.has("json")) {
    nlohmann::json out = {{"model", loaded.path},
                          {"input_shape", m.input_shape()},
                          {"output", m.layer(m.output_index()).name()},
                          {"params", m.parameter_count()},
                          {"classes", loaded.class_names},
                          {"preprocessing", loaded.preprocessing},
                          {"default_cam_layer", m.layer(default_cam_layer(m)).name()}};
    out["layers"] = nlohmann::json::array();
    for (size_t i = 0; i < m.size(); ++i) {
      if (!spatial_only || is_spatial_layer(m, i)) out["layers"].push_back(layer_json(m, i));
    }
    std::cout << out.dump() << "\n";
    return 0;
  }
  std::printf("Model: %s\n", loaded.path.c_str());
  std::printf("%-28s %-24s %-22s %12s  %s\n", "Layer", "Class", "Output shape", "Param #",
              "Connected to");
  std::printf("%s\n", std::string(110, '=').c_str());
  for (size_t i = 0; i < m.size(); ++i) {
    if (spatial_only && !is_spatial_layer(m, i)) continue;
    std::string inbound;
    for (const std::string& n : inbound_names(m, i)) inbound += (inbound.empty() ? "" : ", ") + n;
    std::printf("%-28s %-24s %-22s %12s  %s\n", m.layer(i).name().c_str(), m.layer(i).class_name(),
                shape_text(m.output_shape(i)).c_str(),
                with_commas(m.layer(i).parameter_count()).c_str(), inbound.c_str());
  }
  std::printf("%s\n", std::string(110, '=').c_str());
  std::printf("Layers: %zu\nTotal params: %s\n", m.size(),
              with_commas(m.parameter_count()).c_str());
  std::printf("Input: %s  Output: %s %s\n", shape_text(m.input_shape()).c_str(),
              m.layer(m.output_index()).name().c_str(),
              shape_text(m.output_shape(m.output_index())).c_str());
  if (!loaded.class_names.empty()) {
    std::string classes;
    for (const std::string& c : loaded.class_names) classes += (classes.empty() ? "" : ", ") + c;
    std::printf("Classes: %s\n", classes.c_str());
  }
  if (!loaded.preprocessing.empty())
    std::printf("Preprocessing: %s\n", loaded.preprocessing.c_str());
  return 0;
}

// Generated from the layer registry and the activation table, so it cannot drift from them.
std::string supported_text() {
  auto listed = [](const std::vector<std::string>& names) {
    std::string text;
    for (const std::string& n : names) text += (text.empty() ? "`" : ", `") + n + "`";
    return text;
  };
  return "- Layers (" + std::to_string(supported_layer_classes().size()) +
         "): " + listed(supported_layer_classes()) + "\n- Activations (" +
         std::to_string(activation_names().size()) + "): " + listed(activation_names()) + "\n";
}

int cmd_layers(const Args& args) {
  cli::Parser p("layers", "[--all] [--config FILE] [MODEL]",
                "Lists the layers a class activation map can be taken at: those with a spatial\n"
                "output (height x width x channels), with their shapes. '*' marks the default for\n"
                "'gaze cam --layer': the last spatial layer before the output (for InceptionV3,\n"
                "mixed10, the last Inception block, not a branch convolution).");
  p.option("config", "FILE", kConfigOptionHelp).flag("all", "list every layer, spatial or not");
  p.flag("supported",
         "print the Keras layer classes and activations gaze supports (no model needed);\n"
         "docs/usage.md's list is this output");
  p.epilog(
      "MODEL is a .keras or .h5 model, or a weights-only file with --config; it defaults to\n"
      "$GAZE_MODEL, else models/nsfwjs_inception_v3.h5.");
  if (!p.parse(args)) return 0;
  if (p.has("supported")) {
    std::printf("%s", supported_text().c_str());
    return 0;
  }
  const LoadedModel loaded = load_model(model_argument(p), p.get("config"));
  const Model& m = loaded.model;
  const size_t def = default_cam_layer(m);
  for (size_t i = 0; i < m.size(); ++i) {
    if (!p.has("all") && !is_spatial_layer(m, i)) continue;
    std::printf("%c %-28s %-20s %s\n", i == def ? '*' : ' ', m.layer(i).name().c_str(),
                m.layer(i).class_name(), shape_text(m.output_shape(i)).c_str());
  }
  return 0;
}

}  // namespace gaze
