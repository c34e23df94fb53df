// gaze convert: a TensorFlow.js layers model (model.json, or an nsfwjs model.min.js bundle) to a
// Keras HDF5 file that the rest of gaze loads.
#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "tensor/error.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "weights/keras_h5.h"
#include "weights/tfjs.h"

namespace gaze {
namespace {

// The converter's version, printed by --version and stored in every file it writes as the root
// attribute gaze_converter_version. tools/fetch_models.sh keeps it beside the models and converts
// them again when it changes. Bump it with every change to what conversion writes (the TF.js
// reading, the dequantization, the .h5 layout); the tiny TF.js model's test (tests/tools/
// convert_test.cpp) catches a change that forgot to.
constexpr int kConverterVersion = 1;

constexpr std::array<std::string_view, 5> kPreprocessings = {"nsfwjs", "keras-inception", "caffe",
                                                             "torch", "none"};

std::string trim(std::string_view text) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return "";
  const size_t last = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(first, last - first + 1));
}

// "--classes a,b,c" or "--classes @file" (one name per line; blank lines skipped).
std::vector<std::string> parse_class_names(const std::string& spec) {
  std::vector<std::string> names;
  if (spec.starts_with("@")) {
    const std::string file = spec.substr(1);
    std::ifstream in(file);
    if (!in) throw Error("convert: cannot read the class list " + file);
    for (std::string line; std::getline(in, line);) {
      if (!trim(line).empty()) names.push_back(trim(line));
    }
    if (names.empty()) throw Error("convert: the class list " + file + " holds no names");
  } else {
    for (const std::string& item : cli::split_commas(spec)) {
      names.push_back(trim(item));
      if (names.back().empty()) throw Error("convert: --classes has an empty name: '" + spec + "'");
    }
  }
  std::set<std::string> unique;
  for (const std::string& name : names) {
    if (!unique.insert(name).second) throw Error("convert: class '" + name + "' is listed twice");
  }
  return names;
}

// The units of the model's last Dense layer: the number of classes it scores.
long last_dense_units(const std::string& model_config, const std::string& input) {
  const nlohmann::json model = nlohmann::json::parse(model_config);
  const nlohmann::json& config = model.at("config");
  const nlohmann::json& layers = config.is_array() ? config : config.at("layers");
  for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
    if (!it->is_object() || it->value("class_name", "") != "Dense") continue;
    const nlohmann::json units = it->at("config").value("units", nlohmann::json());
    if (units.is_number_integer()) return units.get<long>();
    break;
  }
  throw Error("convert: --classes: " + input +
              " has no last Dense layer with units to check the names against");
}

void check_class_count(const std::vector<std::string>& names, const KerasFile& file,
                       const std::string& input) {
  const long units = last_dense_units(file.model_config, input);
  if (static_cast<long>(names.size()) != units) {
    throw Error("convert: --classes lists " + std::to_string(names.size()) +
                " names, but the last Dense layer of " + input + " has " + std::to_string(units) +
                " units");
  }
}

int64_t parameter_count(const KerasFile& file) {
  int64_t count = 0;
  for (const LayerWeights& layer : file.layers) {
    for (const NamedTensor& weight : layer.weights) count += weight.value.size();
  }
  return count;
}

size_t weight_count(const KerasFile& file) {
  size_t count = 0;
  for (const LayerWeights& layer : file.layers) count += layer.weights.size();
  return count;
}

const char* kDescription =
    "Converts a TensorFlow.js layers model (a Keras model exported for the browser) to a Keras\n"
    "HDF5 file, as Keras' model.save() writes it: the model config and every layer's weights.";

const char* kEpilog =
    "INPUT is one of:\n"
    "  model.json     TF.js layers model; its weight shards (weightsManifest paths) beside it\n"
    "  model.min.js   nsfwjs bundle; shards group1-shardNofM.min.js (base64) beside it\n"
    "Graph models (format \"graph-model\") are not Keras models and are refused.\n"
    "\n"
    "Quantized weights are dequantized as TF.js does: value = float32(q * scale + min), computed\n"
    "in double precision for uint8 and uint16 q; float32 weights are copied bit for bit.\n"
    "Weights are named <layer>/<weight>:0 and stored in Keras order.\n"
    "\n"
    "example:\n"
    "  gaze convert --classes Drawing,Hentai,Neutral,Porn,Sexy --preprocessing nsfwjs \\\n"
    "      nsfwjs/dist/models/inception_v3/model.min.js models/nsfwjs_inception_v3.h5";

}  // namespace

int cmd_convert(const Args& args) {
  cli::Parser parser("convert",
                     "[--classes LIST|@FILE] [--preprocessing NAME] [--force] INPUT OUTPUT.h5",
                     kDescription);
  parser
      .option("classes", "LIST|@FILE",
              "class names, comma-separated or one per line in FILE; their number must equal "
              "the last Dense layer's units")
      .option("preprocessing", "NAME",
              "input preprocessing the model expects: nsfwjs, keras-inception, caffe, torch or "
              "none (default none)")
      .flag("force", "overwrite OUTPUT if it exists")
      .flag("version", "print the converter's version and exit")
      .epilog(kEpilog);
  if (!parser.parse(args)) return 0;
  if (parser.has("version")) {
    std::printf("gaze convert %d\n", kConverterVersion);
    return 0;
  }
  if (parser.positional().size() != 2) {
    throw Error("convert: expected INPUT and OUTPUT.h5 (see 'gaze convert --help')");
  }
  const std::string& input = parser.positional()[0];
  const std::string& output = parser.positional()[1];

  const std::string preprocessing = parser.get("preprocessing", "none");
  if (std::find(kPreprocessings.begin(), kPreprocessings.end(), preprocessing) ==
      kPreprocessings.end()) {
    throw Error("convert: unknown --preprocessing '" + preprocessing +
                "' (nsfwjs, keras-inception, caffe, torch or none)");
  }
  std::vector<std::string> class_names;
  if (parser.has("classes")) class_names = parse_class_names(parser.get("classes"));
  // Checked before the (slow) conversion, so a forgotten --force costs nothing.
  std::error_code error;
  if (std::filesystem::exists(output, error) && !parser.has("force")) {
    throw Error("convert: " + output + " exists (use --force to overwrite it)");
  }

  KerasFile file = read_tfjs_model(input);
  if (!class_names.empty()) {
    check_class_count(class_names, file, input);
    file.attributes["gaze_class_names"] = nlohmann::json(class_names).dump();
  }
  file.attributes["gaze_preprocessing"] = preprocessing;
  file.attributes["gaze_converter_version"] = std::to_string(kConverterVersion);
  write_keras_h5(output, file);

  std::printf("wrote %s: %zu layers, %zu weights, %lld parameters\n", output.c_str(),
              file.layers.size(), weight_count(file),
              static_cast<long long>(parameter_count(file)));
  return 0;
}

}  // namespace gaze
