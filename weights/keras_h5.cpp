#include "weights/keras_h5.h"

#include "tensor/atomic_write.h"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <system_error>

#include "weights/hdf5_file.h"

namespace gaze {
namespace {

using hdf5::File;
using hdf5::Group;

const std::string kModelConfig = "model_config";
const std::string kModelWeights = "model_weights";
const std::string kLayerNames = "layer_names";
const std::string kWeightNames = "weight_names";
const std::string kKerasVersion = "keras_version";
const std::string kBackend = "backend";

// Keras' HDF5_OBJECT_HEADER_LIMIT: a larger attribute does not fit in an HDF5 object header, so
// Keras splits such lists into `<name>0`, `<name>1`, ...
constexpr size_t kAttributeLimit = 64512;

std::string quoted(const std::string& name) {
  return "'" + name + "'";
}

// True for `name` itself and for its chunks (`name` followed by digits).
bool is_list_or_chunk(const std::string& attribute, const std::string& name) {
  return attribute.starts_with(name) &&
         std::all_of(attribute.begin() + static_cast<std::ptrdiff_t>(name.size()), attribute.end(),
                     [](unsigned char c) { return std::isdigit(c) != 0; });
}

bool has_string_list(const Group& group, const std::string& name) {
  return group.has_attribute(name) || group.has_attribute(name + "0");
}

// A list attribute read as Keras reads it (load_attributes_from_hdf5_group): whole, or from its
// chunks `<name>0`, `<name>1`, ...; a missing list is empty.
std::vector<std::string> read_string_list(const Group& group, const std::string& name) {
  if (group.has_attribute(name)) return group.read_string_array_attribute(name);
  std::vector<std::string> list;
  for (int chunk = 0; group.has_attribute(name + std::to_string(chunk)); ++chunk) {
    std::vector<std::string> part = group.read_string_array_attribute(name + std::to_string(chunk));
    list.insert(list.end(), std::make_move_iterator(part.begin()),
                std::make_move_iterator(part.end()));
  }
  return list;
}

// A list attribute written as Keras writes it (save_attributes_to_hdf5_group): fixed-length
// strings, split like numpy.array_split into the fewest near-equal chunks that each fit in
// kAttributeLimit bytes.
void write_string_list(Group& group, const std::string& name, const std::vector<std::string>& list,
                       const std::string& path) {
  size_t width = 1;
  for (const std::string& item : list) width = std::max(width, item.size());
  if (width > kAttributeLimit) {
    throw Error(path + ": a name in " + quoted(name) + " is longer than " +
                std::to_string(kAttributeLimit) + " bytes");
  }
  const size_t count = list.size();
  size_t chunks = 1;
  while ((count + chunks - 1) / chunks * width > kAttributeLimit) ++chunks;
  if (chunks == 1) {
    group.write_string_array_attribute(name, list);
    return;
  }
  auto begin = list.begin();
  for (size_t chunk = 0; chunk < chunks; ++chunk) {
    // As numpy.array_split: the first count % chunks chunks hold one more item.
    const size_t size = count / chunks + (chunk < count % chunks ? 1 : 0);
    const auto end = begin + static_cast<std::ptrdiff_t>(size);
    group.write_string_array_attribute(name + std::to_string(chunk),
                                       std::vector<std::string>(begin, end));
    begin = end;
  }
}

// A scalar string attribute. Fixed-length bytes, as Keras 2 wrote them through h5py 2: every
// Keras can decode those, while older ones fail on the variable-length strings that h5py 3 reads
// as `str`. Only a value too long for an object header (a large model_config) is variable-length.
void write_text(Group& group, const std::string& name, const std::string& value) {
  group.write_string_attribute(name, value,
                               value.size() <= kAttributeLimit
                                   ? hdf5::StringStorage::kFixedLength
                                   : hdf5::StringStorage::kVariableLength);
}

// ---- Reading ----

LayerWeights read_layer(const Group& weights_group, const std::string& layer,
                        const std::string& path) {
  const std::string where = path + ": layer " + quoted(layer) + ": ";
  if (!weights_group.has_child(layer)) {
    const std::string group_path =
        weights_group.path().empty() ? layer : weights_group.path() + "/" + layer;
    throw Error(where + "group " + quoted(group_path) + " is missing");
  }
  const Group group = weights_group.open_group(layer);
  LayerWeights result{.layer = layer, .weights = {}};
  // Names are used exactly as listed: they are paths relative to the layer's group.
  for (const std::string& weight : read_string_list(group, kWeightNames)) {
    if (!group.has_child(weight)) {
      throw Error(where + "missing weight " + quoted(weight) + " (no dataset " +
                  quoted(group.path() + "/" + weight) + ")");
    }
    result.weights.push_back({.name = weight, .value = group.read_float_dataset(weight)});
  }
  return result;
}

std::vector<LayerWeights> read_layers(const Group& weights_group, const std::string& path) {
  std::vector<LayerWeights> layers;
  for (const std::string& layer : read_string_list(weights_group, kLayerNames)) {
    layers.push_back(read_layer(weights_group, layer, path));
  }
  return layers;
}

// The root's string attributes, except those that make up the Keras layout itself. Attributes
// of other types are skipped: KerasFile holds strings only.
std::map<std::string, std::string> read_extra_attributes(const Group& root) {
  std::map<std::string, std::string> attributes;
  for (const std::string& name : root.attribute_names()) {
    if (name == kModelConfig || is_list_or_chunk(name, kLayerNames)) continue;
    if (root.has_string_attribute(name)) attributes[name] = root.read_string_attribute(name);
  }
  return attributes;
}

[[noreturn]] void throw_not_keras(const std::string& path) {
  throw Error(path + ": neither a Keras model nor a Keras weights file (no " + quoted(kLayerNames) +
              " attribute at the root or in " + quoted(kModelWeights) + ")");
}

// ---- Writing ----

void write_layers(Group& weights_group, const std::vector<LayerWeights>& layers,
                  const std::string& path) {
  std::vector<std::string> layer_names;
  for (const LayerWeights& layer : layers) layer_names.push_back(layer.layer);
  write_string_list(weights_group, kLayerNames, layer_names, path);
  for (const LayerWeights& layer : layers) {
    Group group = weights_group.create_group(layer.layer);
    std::vector<std::string> weight_names;
    for (const NamedTensor& weight : layer.weights) weight_names.push_back(weight.name);
    write_string_list(group, kWeightNames, weight_names, path);
    // A name such as "conv2d_1/kernel:0" makes the nested dataset Keras expects.
    for (const NamedTensor& weight : layer.weights) group.write_dataset(weight.name, weight.value);
  }
}

// The caller's attributes plus Keras' keras_version and backend, which Keras reads to decide
// how to convert old weights; the defaults are those of the Keras 2 that wrote the models gaze
// targets.
std::map<std::string, std::string> root_attributes(const KerasFile& file, const std::string& path) {
  for (const auto& [name, value] : file.attributes) {
    if (name == kModelConfig || is_list_or_chunk(name, kLayerNames)) {
      throw Error(path + ": attribute " + quoted(name) + " is reserved for the Keras layout");
    }
  }
  std::map<std::string, std::string> attributes = file.attributes;
  attributes.try_emplace(kKerasVersion, "2.2.4");
  attributes.try_emplace(kBackend, "tensorflow");
  return attributes;
}

void write_contents(Group& root, const KerasFile& file, const std::string& path) {
  const std::map<std::string, std::string> attributes = root_attributes(file, path);
  for (const auto& [name, value] : attributes) write_text(root, name, value);
  if (file.model_config.empty()) {
    write_layers(root, file.layers, path);
    return;
  }
  write_text(root, kModelConfig, file.model_config);
  Group weights_group = root.create_group(kModelWeights);
  write_text(weights_group, kKerasVersion, attributes.at(kKerasVersion));
  write_text(weights_group, kBackend, attributes.at(kBackend));
  write_layers(weights_group, file.layers, path);
}

}  // namespace

KerasFile read_keras_h5(const std::string& path) {
  const File file = File::open_read_only(path);
  const Group& root = file.root();
  KerasFile keras;
  keras.attributes = read_extra_attributes(root);
  if (root.has_attribute(kModelConfig))
    keras.model_config = root.read_string_attribute(kModelConfig);

  if (has_string_list(root, kLayerNames)) {
    keras.layers = read_layers(root, path);  // weights only
    return keras;
  }
  if (!root.has_child(kModelWeights)) throw_not_keras(path);
  const Group weights_group = root.open_group(kModelWeights);
  if (!has_string_list(weights_group, kLayerNames)) throw_not_keras(path);
  keras.layers = read_layers(weights_group, path);
  // Keras 2 writes keras_version and backend on both groups, some writers on model_weights only.
  for (const std::string& name : {kKerasVersion, kBackend}) {
    if (!keras.attributes.contains(name) && weights_group.has_string_attribute(name)) {
      keras.attributes[name] = weights_group.read_string_attribute(name);
    }
  }
  return keras;
}

void write_keras_h5(const std::string& path, const KerasFile& file) {
  write_atomically(path, [&](const std::string& temporary) {
    File out = File::create(temporary, path);
    write_contents(out.root(), file, path);
    out.close();
  });
}

}  // namespace gaze
