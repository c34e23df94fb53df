// Keras 3 files (.keras, .weights.h5 + config.json) and Keras 2 weights-only files + their JSON,
// through load_model. The fixtures (tests/fixtures/keras3/) are written without Keras by
// tools/reference/keras3_unit_fixtures.py, following saving_lib.py line by line, and carry each
// model's output computed there with numpy in float64: every form of a model must give that
// output, and all forms the same one.
#include "weights/keras3_weights.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tensor/npy.h"
#include "tests/support/fixtures.h"
#include "tests/support/test_util.h"
#include "tests/weights/expect_error.h"
#include "tests/weights/zip_builder.h"
#include "weights/hdf5_file.h"
#include "weights/keras_h5.h"
#include "weights/keras_zip.h"
#include "weights/model_io.h"

namespace gaze {
namespace {

using json = nlohmann::json;
using testing::error_of;

std::string fixture(const std::string& name) {
  return testing::fixture_path("keras3/" + name);
}

std::string temp_file(const std::string& name) {
  return testing::test_temp_path(name);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

Tensor output_of(const LoadedModel& m, const std::string& input) {
  return m.model.forward(read_npy(fixture(input))).output.value();
}

// The entries of a committed .keras file, to build variants from.
std::map<std::string, std::string> entries_of(const std::string& keras_file) {
  zip::Archive archive = zip::Archive::open(fixture(keras_file));
  std::map<std::string, std::string> entries;
  for (const zip::Entry& e : archive.entries()) {
    const std::vector<unsigned char> bytes = archive.read(e.name, uint64_t{1} << 30);
    entries[e.name] = std::string(bytes.begin(), bytes.end());
  }
  return entries;
}

// A .keras file with these entries, in saving_lib's order.
std::string write_keras(const std::string& name,
                        const std::map<std::string, std::string>& entries) {
  testing::ZipSpec spec;
  for (const char* entry :
       {"metadata.json", "config.json", "model.weights.h5", "model.weights.npz"}) {
    if (auto it = entries.find(entry); it != entries.end()) {
      spec.entries.push_back({.name = it->first, .data = it->second});
    }
  }
  const std::string path = temp_file(name);
  testing::write_bytes(path, testing::build_zip(spec));
  return path;
}

std::string write_text(const std::string& name, const std::string& text) {
  const std::string path = temp_file(name);
  testing::write_bytes(path, text);
  return path;
}

// Every form of a fixture model gives its numpy output, and the same output as the .keras file.
// `keras2`: the model also has the Keras 2 forms.
void expect_all_forms_agree(const std::string& model, bool keras2 = true) {
  const Tensor expected = read_npy(fixture(model + "_expected.npy"));
  const Tensor reference = output_of(load_model(fixture(model + ".keras")), model + "_input.npy");
  EXPECT_TENSOR_NEAR(reference, expected, 1e-5f);
  std::vector<std::pair<std::string, std::string>> forms = {
      {model + "_deflated.keras", ""},
      {model + ".weights.h5", model + "_config.json"},
  };
  if (keras2) {
    forms.insert(forms.end(), {
                                  {model + "_keras2.h5", ""},
                                  {model + "_keras2_weights.h5", model + "_keras2.json"},
                                  // Keras 3 weights with Keras 2's config, and the other way
                                  // round: the config and the weights layout are read apart.
                                  {model + ".weights.h5", model + "_keras2.json"},
                                  {model + "_keras2_weights.h5", model + "_config.json"},
                              });
  }
  for (const auto& [file, config] : forms) {
    SCOPED_TRACE(file + " " + config);
    const LoadedModel m = load_model(fixture(file), config.empty() ? "" : fixture(config));
    EXPECT_EQ(m.path, fixture(file));
    EXPECT_EQ(testing::max_abs_diff(output_of(m, model + "_input.npy"), reference), 0.0f);
  }
}

TEST(Keras3, SnakeCaseIsKerasOwn) {
  // Printed by the fixture script's copy of keras/src/utils/naming.py to_snake_case.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"Conv2D", "conv2d"},
      {"BatchNormalization", "batch_normalization"},
      {"ReLU", "re_lu"},
      {"DepthwiseConv2D", "depthwise_conv2d"},
      {"InputLayer", "input_layer"},
      {"GlobalAveragePooling2D", "global_average_pooling2d"},
      {"SeparableConv2D", "separable_conv2d"},
      {"PReLU", "p_re_lu"},
      {"ELU", "elu"},
      {"UpSampling2D", "up_sampling2d"},
      {"Functional", "functional"},
      {"Sequential", "sequential"},
      {"LayerNormalization", "layer_normalization"},
      {"Conv2DTranspose", "conv2d_transpose"},
      {"Dense", "dense"},
  };
  for (const auto& [cls, snake] : cases) EXPECT_EQ(keras_snake_case(cls), snake) << cls;
}

TEST(Keras3, FunctionalModelInEveryForm) {
  expect_all_forms_agree("flat");
}

TEST(Keras3, SequentialModelInEveryForm) {
  expect_all_forms_agree("seq");
}

// Models nested two deep (a Sequential block in a Functional base in a Functional model) and a
// shared layer: layers/functional/layers/sequential/layers/conv2d is gaze's base/inner/c, and the
// Dense called twice is `shared` and `shared@1`, one set of weights.
TEST(Keras3, NestedModelsInEveryForm) {
  expect_all_forms_agree("nested", false);
  const LoadedModel m = load_model(fixture("nested.keras"));
  for (const char* name : {"base/conv", "base/inner/c", "base/inner/b", "shared", "shared@1"}) {
    EXPECT_TRUE(m.model.contains(name)) << name;
  }
  const auto& a = m.model.layer(m.model.index_of("shared")).weights();
  const auto& b = m.model.layer(m.model.index_of("shared@1")).weights();
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].value.data(), b[0].value.data());  // the same storage
}

// A Sequential model whose first layer is a Functional backbone.
TEST(Keras3, SequentialAroundAFunctionalBase) {
  expect_all_forms_agree("seqnest", false);
  EXPECT_TRUE(load_model(fixture("seqnest.keras")).model.contains("backbone/b_conv"));
}

// metadata.json's keras_version decides hard_sigmoid: relu6(x + 3) / 6 from Keras 3,
// clip(0.2x + 0.5) before. hsig2.keras also has Keras 2.13's `_layer_checkpoint_dependencies`.
TEST(Keras3, MetadataVersionDecidesSemantics) {
  const Tensor k3 = output_of(load_model(fixture("hsig3.keras")), "hsig_input.npy");
  const Tensor k2 = output_of(load_model(fixture("hsig2.keras")), "hsig_input.npy");
  EXPECT_TENSOR_NEAR(k3, read_npy(fixture("hsig_expected3.npy")), 1e-5f);
  EXPECT_TENSOR_NEAR(k2, read_npy(fixture("hsig_expected2.npy")), 1e-5f);
  EXPECT_GT(testing::max_abs_diff(k2, k3), 1e-3f);  // the two do differ on this input
}

// A full-model .h5 carries keras_version as an attribute (Keras 3's legacy model.save("x.h5")
// writes 3.x), which decides in the same way.
TEST(Keras3, FullModelH5VersionDecidesSemantics) {
  const LoadedModel source = load_model(fixture("hsig3.keras"));
  KerasFile file;
  file.model_config = entries_of("hsig3.keras").at("config.json");
  for (size_t i = 0; i < source.model.size(); ++i) {
    const Layer& layer = source.model.layer(i);
    LayerWeights lw{layer.name(), {}};
    for (const Weight& w : layer.weights())
      lw.weights.push_back({layer.name() + "/" + w.name + ":0", w.value});
    file.layers.push_back(lw);
  }
  for (const auto& [version, expected] :
       {std::pair{"3.1.0", "hsig_expected3.npy"}, std::pair{"2.2.4", "hsig_expected2.npy"}}) {
    SCOPED_TRACE(version);
    file.attributes["keras_version"] = version;
    const std::string path = temp_file("hsig.h5");
    write_keras_h5(path, file);
    EXPECT_TENSOR_NEAR(output_of(load_model(path), "hsig_input.npy"), read_npy(fixture(expected)),
                       1e-5f);
  }
}

// Keras 2 weights-only files load by order (legacy_h5_format.load_weights_from_hdf5_group):
// names written by another model instance (conv2d_1 for conv2d, ...) do not matter.
TEST(Keras3, Keras2WeightsOnlyLoadByOrder) {
  KerasFile file = read_keras_h5(fixture("flat_keras2_weights.h5"));
  for (LayerWeights& l : file.layers) l.layer = "renamed_" + l.layer;
  const std::string path = temp_file("renamed_weights.h5");
  write_keras_h5(path, file);
  const Tensor a = output_of(load_model(path, fixture("flat_keras2.json")), "flat_input.npy");
  const Tensor b = output_of(load_model(fixture("flat.keras")), "flat_input.npy");
  EXPECT_EQ(testing::max_abs_diff(a, b), 0.0f);
}

// Two HDF5 images open at once are two files (HDF5 would take two of the same name for one).
TEST(Keras3, FileImagesOpenSideBySide) {
  const auto flat = entries_of("flat.keras").at("model.weights.h5");
  const auto seq = entries_of("seq.keras").at("model.weights.h5");
  const std::vector<unsigned char> a(flat.begin(), flat.end()), b(seq.begin(), seq.end());
  const hdf5::File fa = hdf5::File::open_image(a, "flat");
  const hdf5::File fb = hdf5::File::open_image(b, "seq");
  EXPECT_TRUE(fa.root().has_child("layers/depthwise_conv2d"));
  EXPECT_FALSE(fb.root().has_child("layers/depthwise_conv2d"));
  EXPECT_TRUE(fb.root().has_child("layers/max_pooling2d"));
  EXPECT_EQ(fa.root().read_float_dataset("layers/dense/vars/0").shape(), (Shape{8, 5}));
  EXPECT_EQ(fb.root().read_float_dataset("layers/dense/vars/0").shape(), (Shape{100, 3}));
}

// ---- Which file is which, and the errors ----

TEST(Keras3Errors, FilesThatAreNotModels) {
  const std::string text = write_text("notes.keras", "these are notes, not a model");
  EXPECT_EQ(error_of([&] { load_model(text); }),
            text + ": not a Keras model: neither HDF5 nor a .keras zip");
  const std::string empty = write_text("empty.h5", "");
  EXPECT_EQ(error_of([&] { load_model(empty); }),
            empty + ": not a Keras model: neither HDF5 nor a .keras zip (the file is empty)");
  EXPECT_EQ(error_of([&] { load_model(temp_file("absent.keras")); }),
            temp_file("absent.keras") + ": no such file");
  EXPECT_CONTAINS(error_of([&] { load_model(::testing::TempDir()); }), "is a directory");
  // An HDF5 file with no Keras layout.
  const std::string other = temp_file("other.h5");
  {
    hdf5::File f = hdf5::File::create(other);
    f.root().write_dataset("data", Tensor({2}));
    f.close();
  }
  EXPECT_CONTAINS(error_of([&] { load_model(other); }),
                  other + ": an HDF5 file but neither a Keras model nor Keras weights");
}

TEST(Keras3Errors, ConfigOnlyWhereItBelongs) {
  const std::string config = fixture("flat_config.json");
  EXPECT_CONTAINS(error_of([&] { load_model(fixture("flat.keras"), config); }),
                  fixture("flat.keras") + ": a .keras file holds its own config.json");
  EXPECT_CONTAINS(error_of([&] { load_model(fixture("flat_keras2.h5"), config); }),
                  fixture("flat_keras2.h5") + ": a full model with its own model_config");
  EXPECT_CONTAINS(error_of([&] { load_model(fixture("flat.weights.h5")); }),
                  fixture("flat.weights.h5") + ": Keras 3 weights without a model");
  EXPECT_CONTAINS(error_of([&] { load_model(fixture("flat.weights.h5")); }), "--config");
  EXPECT_CONTAINS(error_of([&] { load_model(fixture("flat_keras2_weights.h5")); }),
                  fixture("flat_keras2_weights.h5") + ": Keras weights without a model");
  EXPECT_CONTAINS(error_of([&] { load_model(fixture("flat.weights.h5"), temp_file("none.json")); }),
                  temp_file("none.json") + ": no such file");
  const std::string bad_json = write_text("bad.json", "{\"class_name\": ");
  EXPECT_CONTAINS(error_of([&] { load_model(fixture("flat.weights.h5"), bad_json); }),
                  bad_json + ": not valid JSON");
}

TEST(Keras3Errors, ArchivesWithoutTheirEntries) {
  const auto entries = entries_of("flat.keras");
  for (const char* missing : {"metadata.json", "config.json", "model.weights.h5"}) {
    SCOPED_TRACE(missing);
    auto some = entries;
    some.erase(missing);
    const std::string path = write_keras("missing.keras", some);
    EXPECT_EQ(error_of([&] { load_model(path); }),
              path + ": no entry '" + missing +
                  "' (a .keras file holds config.json, metadata.json and model.weights.h5)");
  }
  auto npz = entries;
  npz["model.weights.npz"] = npz["model.weights.h5"];
  npz.erase("model.weights.h5");
  const std::string path = write_keras("npz.keras", npz);
  EXPECT_CONTAINS(error_of([&] { load_model(path); }), "weights_format=\"npz\"");
}

TEST(Keras3Errors, CorruptArchivesAndEntries) {
  // A flipped byte inside the stored weights: the CRC-32 catches it.
  std::string bytes = read_file(fixture("flat.keras"));
  bytes[bytes.size() - 3000] ^= 0x55;
  const std::string flipped = write_text("flipped.keras", bytes);
  EXPECT_EQ(error_of([&] { load_model(flipped); }),
            flipped + ": entry 'model.weights.h5' fails its CRC-32 check (the file is corrupt)");
  const std::string truncated = write_text("truncated.keras", bytes.substr(0, bytes.size() / 2));
  EXPECT_CONTAINS(error_of([&] { load_model(truncated); }),
                  truncated + ": not a complete zip file");

  auto entries = entries_of("flat.keras");
  auto with = [&](const std::string& entry, const std::string& value) {
    auto changed = entries;
    changed[entry] = value;
    return write_keras("changed.keras", changed);
  };
  std::string path = with("metadata.json", "{\"keras_version\": \"three\"}");
  EXPECT_EQ(error_of([&] { load_model(path); }),
            path + ": metadata.json: keras_version 'three' is not a version number");
  path = with("metadata.json", "[1, 2");
  EXPECT_CONTAINS(error_of([&] { load_model(path); }), path + ": metadata.json: not valid JSON");
  path = with("config.json", "{\"class_name\": \"Frobnicator\", \"config\": {}}");
  EXPECT_CONTAINS(error_of([&] { load_model(path); }),
                  path + ": config.json: model config: unsupported model class 'Frobnicator'");
  path = with("model.weights.h5", "not hdf5 at all");
  EXPECT_EQ(error_of([&] { load_model(path); }), path + ": model.weights.h5: not an HDF5 file");
  const std::string h5 = entries.at("model.weights.h5");
  for (size_t cut : {size_t{100}, h5.size() / 2, h5.size() - 100}) {
    SCOPED_TRACE(cut);
    path = with("model.weights.h5", h5.substr(0, cut));
    EXPECT_CONTAINS(error_of([&] { load_model(path); }), path + ": model.weights.h5: ");
  }
}

// ---- Weights that do not fit the config ----

// A Keras 3 weights file written here from a description: the datasets <group>/vars/0, 1, ...
void write_keras3_weights(const std::string& path,
                          const std::vector<std::pair<std::string, std::vector<Tensor>>>& groups) {
  hdf5::File f = hdf5::File::create(path);
  for (const auto& [group, tensors] : groups) {
    hdf5::Group vars = f.root().create_group(group + "/vars");
    for (size_t i = 0; i < tensors.size(); ++i) vars.write_dataset(std::to_string(i), tensors[i]);
  }
  f.close();
}

std::vector<Tensor> weights_of(const Model& m, const std::string& layer) {
  std::vector<Tensor> values;
  for (const Weight& w : m.layer(m.index_of(layer)).weights()) values.push_back(w.value);
  return values;
}

class Keras3Mismatch : public ::testing::Test {
 protected:
  // The sequential model's weights as Keras 3 places them: by class, not by layer name.
  std::vector<std::pair<std::string, std::vector<Tensor>>> groups() const {
    return {{"layers/conv2d", weights_of(seq_.model, "conv_a")},
            {"layers/conv2d_1", weights_of(seq_.model, "conv_b")},
            {"layers/batch_normalization", weights_of(seq_.model, "bn_b")},
            {"layers/dense", weights_of(seq_.model, "out")}};
  }
  std::string error_with(const std::vector<std::pair<std::string, std::vector<Tensor>>>& groups,
                         const std::string& config = fixture("seq_config.json")) {
    write_keras3_weights(path_, groups);
    return error_of([&] { load_model(path_, config); });
  }

  const LoadedModel seq_ = load_model(fixture("seq.keras"));
  const std::string path_ = temp_file("seq_variant.weights.h5");
};

TEST_F(Keras3Mismatch, TheDescriptionItselfLoads) {
  write_keras3_weights(path_, groups());
  const LoadedModel m = load_model(path_, fixture("seq_config.json"));
  EXPECT_EQ(testing::max_abs_diff(output_of(m, "seq_input.npy"), output_of(seq_, "seq_input.npy")),
            0.0f);
}

TEST_F(Keras3Mismatch, MissingAndExtraVariables) {
  auto g = groups();
  g[2].second.pop_back();
  EXPECT_EQ(error_with(g), path_ +
                               ": layer 'bn_b' (BatchNormalization): the file has 3 variable(s) at "
                               "'layers/batch_normalization/vars', the model expects 4 (gamma, "
                               "beta, moving_mean, moving_variance)");
  g = groups();
  g[3].second.push_back(Tensor({3}));
  EXPECT_EQ(error_with(g), path_ +
                               ": layer 'out' (Dense): the file has 3 variable(s) at "
                               "'layers/dense/vars', the model expects 2 (kernel, bias)");
  g = groups();
  g.erase(g.begin() + 1);
  EXPECT_EQ(error_with(g), path_ +
                               ": layer 'conv_b' (Conv2D): the file has 0 variable(s) at "
                               "'layers/conv2d_1/vars', the model expects 2 (kernel, bias)");
}

TEST_F(Keras3Mismatch, ShapesAndStrayGroups) {
  auto g = groups();
  std::swap(g[0].second, g[1].second);
  EXPECT_EQ(error_with(g), path_ +
                               ": layer 'conv_a' (Conv2D): variable 'layers/conv2d/vars/0' has "
                               "shape [3, 3, 6, 4], the model expects [3, 3, 3, 6] for 'kernel'");
  g = groups();
  g.push_back({"layers/dense_1", {Tensor({2})}});
  EXPECT_EQ(error_with(g), path_ +
                               ": the file has weights at 'layers/dense_1' that no layer of the "
                               "model config takes (is the config this model's?)");
  // Another model's weights for this config.
  EXPECT_CONTAINS(
      error_of([&] { load_model(fixture("flat.weights.h5"), fixture("seq_config.json")); }),
      fixture("flat.weights.h5") + ": layer 'conv_a' (Conv2D): the file has 1 variable(s)");
}

TEST_F(Keras3Mismatch, VariablesNotNumberedAsKerasDoes) {
  {
    // Variables "0" and "2" for a layer: rewrite the dense group by hand.
    hdf5::File f = hdf5::File::create(path_);
    for (const auto& [group, tensors] : groups()) {
      hdf5::Group vars = f.root().create_group(group + "/vars");
      for (size_t i = 0; i < tensors.size(); ++i) {
        vars.write_dataset(group == "layers/dense" && i == 1 ? "2" : std::to_string(i), tensors[i]);
      }
    }
    f.close();
  }
  EXPECT_EQ(error_of([&] { load_model(path_, fixture("seq_config.json")); }),
            path_ +
                ": group 'layers/dense/vars' holds '0', '2', not the variables 0 to 1 that "
                "Keras writes");
}

// Inside nested models the paths nest too, and the messages name the nested layer.
TEST(Keras3NestedMismatch, PathsAndNamesInsideNestedModels) {
  const LoadedModel nested = load_model(fixture("nested.keras"));
  const std::string inner = "layers/functional/layers/sequential/layers/";
  std::vector<std::pair<std::string, std::vector<Tensor>>> groups = {
      {"layers/functional/layers/conv2d", weights_of(nested.model, "base/conv")},
      {"layers/functional/layers/batch_normalization", weights_of(nested.model, "base/bn")},
      {inner + "conv2d", weights_of(nested.model, "base/inner/c")},
      {inner + "batch_normalization", weights_of(nested.model, "base/inner/b")},
      {"layers/dense", weights_of(nested.model, "shared")},
      {"layers/dense_1", weights_of(nested.model, "logits")}};
  const std::string path = temp_file("nested_variant.weights.h5");
  write_keras3_weights(path, groups);
  const LoadedModel again = load_model(path, fixture("nested_config.json"));
  EXPECT_EQ(testing::max_abs_diff(output_of(again, "nested_input.npy"),
                                  output_of(nested, "nested_input.npy")),
            0.0f);
  groups[3].second.pop_back();
  write_keras3_weights(path, groups);
  EXPECT_EQ(error_of([&] { load_model(path, fixture("nested_config.json")); }),
            path + ": layer 'base/inner/b' (BatchNormalization): the file has 3 variable(s) at '" +
                inner +
                "batch_normalization/vars', the model expects 4 (gamma, beta, moving_mean, " +
                "moving_variance)");
}

TEST_F(Keras3Mismatch, QuantizedLayersSaySo) {
  json config = json::parse(read_file(fixture("seq_config.json")));
  json& dense = config["config"]["layers"].back();
  ASSERT_EQ(dense["class_name"], "Dense");
  dense["config"]["dtype"] = {{"module", "keras"},
                              {"class_name", "DTypePolicy"},
                              {"config", {{"name", "int8_from_float32"}}}};
  const std::string config_path = write_text("quantized.json", config.dump());
  auto g = groups();
  g[3].second.push_back(Tensor({3}));  // Dense int8: kernel, bias, kernel_scale
  EXPECT_CONTAINS(error_with(g, config_path),
                  "the model expects 2 (kernel, bias) (the layer is quantized, dtype policy "
                  "'int8_from_float32', which gaze does not read)");
}

}  // namespace
}  // namespace gaze
