// load_model (model_io.h): every model file gaze reads, told apart by its first bytes.
#include <cctype>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "layers/keras_config.h"
#include "tensor/json_limits.h"
#include "weights/hdf5_file.h"
#include "weights/keras3_weights.h"
#include "weights/keras_h5.h"
#include "weights/keras_zip.h"
#include "weights/model_io.h"

namespace gaze {
namespace {

using json = nlohmann::json;

// The entries saving_lib._save_model_to_fileobj writes (keras/src/saving/saving_lib.py:
// _CONFIG_FILENAME, _METADATA_FILENAME, _VARS_FNAME_H5), with what gaze allows each to hold.
const std::string kConfigEntry = "config.json";
const std::string kMetadataEntry = "metadata.json";
const std::string kWeightsEntry = "model.weights.h5";
const std::string kNpzWeightsEntry = "model.weights.npz";  // save_model(weights_format="npz")
constexpr uint64_t kMaxMetadata = uint64_t{1} << 20;
constexpr uint64_t kMaxConfig = uint64_t{256} << 20;
constexpr uint64_t kMaxWeights = uint64_t{0xffffffff};  // all a zip without ZIP64 can hold

enum class FileKind { kZip, kHdf5 };

std::string in_quotes(const std::string& s) {
  return "'" + s + "'";
}

// The first bytes: a zip starts with a local header (PK\3\4), or with the end record when it is
// empty (PK\5\6). HDF5's signature is at 0, or after a user block at 512, 1024, 2048, ... (the
// HDF5 file format specification, "Format Signature").
FileKind file_kind(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  if (!fs::exists(status)) throw Error(path + ": no such file");
  if (fs::is_directory(status)) throw Error(path + ": is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open the file");
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  static constexpr char kHdf5[] = {'\x89', 'H', 'D', 'F', '\r', '\n', '\x1a', '\n'};
  for (std::streamoff at = 0; at + 8 <= size; at = at == 0 ? 512 : at * 2) {
    char head[8] = {};
    in.seekg(at);
    if (!in.read(head, sizeof head)) break;
    if (at == 0 && head[0] == 'P' && head[1] == 'K' &&
        ((head[2] == 3 && head[3] == 4) || (head[2] == 5 && head[3] == 6))) {
      return FileKind::kZip;
    }
    if (std::equal(head, head + 8, kHdf5)) return FileKind::kHdf5;
  }
  throw Error(path + ": not a Keras model: neither HDF5 nor a .keras zip" +
              (size == 0 ? " (the file is empty)" : ""));
}

std::string read_text_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  if (!fs::exists(status)) throw Error(path + ": no such file");
  if (fs::is_directory(status)) throw Error(path + ": is a directory, not a file");
  const uintmax_t size = fs::file_size(path, error);
  if (error) throw Error(path + ": cannot read the file");
  if (size > kMaxConfig) {
    throw Error(path + ": " + std::to_string(size) + " bytes, more than a model config can be (" +
                std::to_string(kMaxConfig) + ")");
  }
  std::ifstream in(path, std::ios::binary);
  std::string text(size, '\0');
  if (!in || !in.read(text.data(), static_cast<std::streamsize>(size))) {
    throw Error(path + ": cannot read the file");
  }
  return text;
}

json parse_json(const std::string& text, const std::string& label) {
  check_json_limits(text, label, "the JSON");
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw Error(label + ": not valid JSON (" + e.what() + ")");
  }
}

Model build_model(const std::string& config_text, int keras_major, const std::string& label,
                  const LayerRegistry& layers) {
  try {
    return model_from_keras_config(config_text, keras_major, layers);
  } catch (const Error& e) {
    throw Error(label + ": " + e.what());
  }
}

int keras_major_of(const std::string& version, const std::string& label) {
  try {
    return keras_major_version(version);
  } catch (const Error& e) {
    throw Error(label + ": " + e.what());
  }
}

// keras_version at the top of a config (Keras 2's model.to_json() writes it), or `fallback`.
int config_keras_major(const json& config, int fallback, const std::string& label) {
  if (!config.is_object() || !config.contains("keras_version")) return fallback;
  if (!config["keras_version"].is_string()) throw Error(label + ": keras_version is not a string");
  return keras_major_of(config["keras_version"].get<std::string>(), label);
}

// ---- .keras ----

std::string text_of(const std::vector<unsigned char>& bytes) {
  return std::string(bytes.begin(), bytes.end());
}

// metadata.json: {"keras_version": "3.6.0", "date_saved": "..."} (saving_lib.
// _serialize_model_as_json).
int archive_keras_major(zip::Archive& archive) {
  const std::string label = archive.path() + ": " + kMetadataEntry;
  const json metadata = parse_json(text_of(archive.read(kMetadataEntry, kMaxMetadata)), label);
  if (!metadata.is_object() || !metadata.contains("keras_version") ||
      !metadata["keras_version"].is_string()) {
    throw Error(label + ": no keras_version string");
  }
  return keras_major_of(metadata["keras_version"].get<std::string>(), label);
}

void require_entries(const zip::Archive& archive) {
  for (const std::string& name : {kMetadataEntry, kConfigEntry, kWeightsEntry}) {
    if (archive.find(name)) continue;
    if (name == kWeightsEntry && archive.find(kNpzWeightsEntry)) {
      throw Error(archive.path() + ": the weights are in " + in_quotes(kNpzWeightsEntry) +
                  " (saved with weights_format=\"npz\"); gaze reads " + in_quotes(kWeightsEntry));
    }
    throw Error(archive.path() + ": no entry " + in_quotes(name) + " (a .keras file holds " +
                kConfigEntry + ", " + kMetadataEntry + " and " + kWeightsEntry + ")");
  }
}

LoadedModel load_keras_archive(const std::string& path, const std::string& config_path,
                               const LayerRegistry& layers) {
  if (!config_path.empty()) {
    throw Error(path +
                ": a .keras file holds its own config.json; --config is only for "
                "weights-only files");
  }
  zip::Archive archive = zip::Archive::open(path);
  require_entries(archive);
  const int keras_major = archive_keras_major(archive);
  const std::string config_label = path + ": " + kConfigEntry;
  const std::string config_text = text_of(archive.read(kConfigEntry, kMaxConfig));
  const json config = parse_json(config_text, config_label);
  LoadedModel loaded;
  loaded.path = path;
  loaded.model = build_model(config_text, keras_major, config_label, layers);
  // The weights file is opened where it lies in memory; `image` outlives `weights`.
  const std::vector<unsigned char> image = archive.read(kWeightsEntry, kMaxWeights);
  const std::string weights_label = path + ": " + kWeightsEntry;
  const hdf5::File weights = hdf5::File::open_image(image, weights_label);
  load_keras3_weights(loaded.model, config, weights.root(), weights_label);
  return loaded;
}

// ---- HDF5 ----

// A Keras 3 `.weights.h5` with its config.json (or model.to_json()).
LoadedModel load_keras3_weights_file(const std::string& path, const hdf5::File& file,
                                     const std::string& config_path, const LayerRegistry& layers) {
  const std::string config_text = read_text_file(config_path);
  const json config = parse_json(config_text, config_path);
  LoadedModel loaded;
  loaded.path = path;
  loaded.model =
      build_model(config_text, config_keras_major(config, 3, config_path), config_path, layers);
  load_keras3_weights(loaded.model, config, file.root(), path);
  return loaded;
}

// The names of the config's top-level layers (`model.layers`, in the config's order, which is
// that list's order: Functional.get_config walks it) that own weights in `model`: a layer by its
// name, a nested model by its name when one of its layers (`name/...`) has weights.
std::vector<std::string> top_layers_with_weights(const json& config, const Model& model,
                                                 const std::string& label) {
  std::set<std::string> owners;
  for (size_t i = 0; i < model.size(); ++i) {
    if (model.weights_owner(i) != i || model.layer(i).weights().empty()) continue;
    const std::string& name = model.layer(i).name();
    owners.insert(name.substr(0, name.find('/')));
  }
  const json& top = config.contains("model_config") ? config["model_config"] : config;
  const json* layers = top.contains("config") ? &top["config"] : nullptr;
  if (layers && layers->is_object())
    layers = layers->contains("layers") ? &(*layers)["layers"] : nullptr;
  if (!layers || !layers->is_array()) throw Error(label + ": model config: no layer list");
  std::vector<std::string> names;
  for (const json& entry : *layers) {
    std::string name;
    if (entry.is_object() && entry.contains("name") && entry["name"].is_string()) {
      name = entry["name"];
    } else if (entry.is_object() && entry.contains("config") && entry["config"].is_object() &&
               entry["config"].value("name", json()).is_string()) {
      name = entry["config"]["name"];
    }
    if (owners.erase(name)) names.push_back(name);
  }
  return names;
}

// A Keras 2 weights-only file (save_weights, keras.applications) with the architecture JSON of
// model.to_json(). Keras loads such a file by order unless asked to go by name:
// keras/src/saving/saving_api.py load_weights calls legacy_h5_format.
// load_weights_from_hdf5_group, "topological (order-based) weight loading", the same function
// Keras 2's Model.load_weights uses: the k-th layer with weights in the file goes to the k-th of
// model.layers with weights. A nested model is one of model.layers, and the file keeps all its
// weights in one group; inside it they are matched by the layer names the file lists.
void load_keras2_weights_by_order(Model& model, const json& config, const KerasFile& file,
                                  const std::string& path, const std::string& config_path) {
  const std::vector<std::string> targets = top_layers_with_weights(config, model, config_path);
  KerasFile renamed;
  for (const LayerWeights& l : file.layers) {
    if (!l.weights.empty()) renamed.layers.push_back(l);
  }
  if (renamed.layers.size() != targets.size()) {
    throw Error(path + ": the file has " + std::to_string(renamed.layers.size()) +
                " layers with weights, the model has " + std::to_string(targets.size()) +
                " (Keras loads a weights-only file by layer order)");
  }
  for (size_t k = 0; k < targets.size(); ++k) renamed.layers[k].layer = targets[k];
  load_weights_by_name(model, renamed, path);
}

LoadedModel load_keras2_weights_file(const std::string& path, const std::string& config_path,
                                     const LayerRegistry& layers) {
  const std::string config_text = read_text_file(config_path);
  const json config = parse_json(config_text, config_path);
  const KerasFile file = read_keras_h5(path);
  auto version = file.attributes.find("keras_version");
  const int file_major =
      version == file.attributes.end() ? 2 : keras_major_of(version->second, path);
  LoadedModel loaded;
  loaded.path = path;
  loaded.model = build_model(config_text, config_keras_major(config, file_major, config_path),
                             config_path, layers);
  load_keras2_weights_by_order(loaded.model, config, file, path, config_path);
  return loaded;
}

LoadedModel load_hdf5(const std::string& path, const std::string& config_path,
                      const LayerRegistry& layers) {
  bool full_model = false, keras2_weights = false;
  {
    const hdf5::File file = hdf5::File::open_read_only(path);
    const hdf5::Group& root = file.root();
    full_model = root.has_attribute("model_config");
    if (!full_model && has_keras3_layout(root)) {
      if (config_path.empty()) {
        throw Error(path +
                    ": Keras 3 weights without a model (a .weights.h5 file); give the "
                    "model's config.json with --config");
      }
      return load_keras3_weights_file(path, file, config_path, layers);
    }
    keras2_weights = root.has_attribute("layer_names") || root.has_attribute("layer_names0") ||
                     root.has_child("model_weights");
  }
  if (full_model) {
    if (!config_path.empty()) {
      throw Error(path +
                  ": a full model with its own model_config; --config is only for "
                  "weights-only files");
    }
    return load_keras_model(path, layers);
  }
  if (!keras2_weights) {
    throw Error(path +
                ": an HDF5 file but neither a Keras model nor Keras weights (no "
                "model_config, no layer_names, no Keras 3 'layers' group)");
  }
  if (config_path.empty()) {
    throw Error(path +
                ": Keras weights without a model (no model_config); give the model's "
                "architecture JSON (model.to_json()) with --config");
  }
  return load_keras2_weights_file(path, config_path, layers);
}

}  // namespace

int keras_major_version(const std::string& keras_version) {
  // TF.js writes "tfjs-layers 4.22.0"; its layers follow Keras 2 (tfjs-layers' hard_sigmoid is
  // clip(0.2x + 0.5)).
  if (keras_version.empty() || keras_version.starts_with("tfjs")) return 2;
  size_t digits = 0;
  while (digits < keras_version.size() &&
         std::isdigit(static_cast<unsigned char>(keras_version[digits])))
    ++digits;
  if (digits == 0 || digits > 3 ||
      (digits < keras_version.size() && keras_version[digits] != '.')) {
    throw Error("keras_version " + in_quotes(keras_version) + " is not a version number");
  }
  return std::stoi(keras_version.substr(0, digits));
}

LoadedModel load_model(const std::string& path, const std::string& config_path,
                       const LayerRegistry& layers) {
  switch (file_kind(path)) {
    case FileKind::kZip:
      return load_keras_archive(path, config_path, layers);
    case FileKind::kHdf5:
      break;
  }
  return load_hdf5(path, config_path, layers);
}

}  // namespace gaze
