#include "weights/keras_h5.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "tests/support/test_util.h"
#include "weights/hdf5_file.h"

namespace gaze {
namespace {

namespace fs = std::filesystem;
using ::testing::internal::CaptureStderr;
using ::testing::internal::GetCapturedStderr;

// Each test works in a directory of its own, removed afterwards.
class KerasH5Test : public ::testing::Test {
 protected:
  void SetUp() override {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    directory_ = fs::temp_directory_path() /
                 ("gaze-keras-h5-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(directory_);
    fs::create_directories(directory_);
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(directory_, ignored);
  }

  std::string path(const std::string& name) const { return (directory_ / name).string(); }

  // Names of the files in the test's directory.
  std::vector<std::string> files() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(directory_)) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  fs::path directory_;
};

::testing::AssertionResult contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

bool bit_equal(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() &&
         std::memcmp(a.data(), b.data(), static_cast<size_t>(a.size()) * sizeof(float)) == 0;
}

void expect_same(const KerasFile& actual, const KerasFile& expected) {
  EXPECT_EQ(actual.model_config, expected.model_config);
  EXPECT_EQ(actual.attributes, expected.attributes);
  ASSERT_EQ(actual.layers.size(), expected.layers.size());
  for (size_t i = 0; i < expected.layers.size(); ++i) {
    const LayerWeights& got = actual.layers[i];
    const LayerWeights& want = expected.layers[i];
    EXPECT_EQ(got.layer, want.layer);
    ASSERT_EQ(got.weights.size(), want.weights.size()) << want.layer;
    for (size_t j = 0; j < want.weights.size(); ++j) {
      EXPECT_EQ(got.weights[j].name, want.weights[j].name);
      EXPECT_TRUE(bit_equal(got.weights[j].value, want.weights[j].value))
          << want.weights[j].name << ": got shape " << to_string(got.weights[j].value.shape());
    }
  }
}

// Values whose bits a lossy path would change: NaN, infinities, -0, a subnormal.
Tensor special_values() {
  return Tensor::from(
      {6}, {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
            -std::numeric_limits<float>::infinity(), -0.0f,
            std::numeric_limits<float>::denorm_min(), 1.0f / 3.0f});
}

// A small full model in Keras' naming, listed in model order (not alphabetical), with layers
// that have no weights.
KerasFile sample_model() {
  KerasFile file;
  file.model_config = R"({"class_name": "Model", "config": {"name": "tiny", "layers": []}})";
  file.attributes = {{"keras_version", "2.1.6"},
                     {"gaze_class_names", R"(["Drawing","Hentai","Neutral","Porn","Sexy"])"},
                     {"gaze_preprocessing", "nsfwjs"}};
  file.layers = {
      {"input_1", {}},
      {"conv2d_1",
       {{"conv2d_1/kernel:0", testing::random_tensor({3, 3, 3, 8}, 1)},
        {"conv2d_1/bias:0", special_values()}}},
      {"batch_normalization_1",
       {{"batch_normalization_1/gamma:0", testing::random_tensor({8}, 2)},
        {"batch_normalization_1/beta:0", testing::random_tensor({8}, 3)},
        {"batch_normalization_1/moving_mean:0", testing::random_tensor({8}, 4)},
        {"batch_normalization_1/moving_variance:0", testing::random_tensor({8}, 5, 0.5f, 2.0f)}}},
      {"activation_1", {}},
      {"dense_1",
       {{"dense_1/kernel:0", testing::random_tensor({8, 5}, 6)},
        {"dense_1/bias:0", testing::random_tensor({5}, 7)}}},
  };
  return file;
}

// Reads `path` expecting an Error; returns its message. HDF5 must print nothing meanwhile.
std::string read_error(const std::string& path) {
  CaptureStderr();
  std::string message;
  try {
    read_keras_h5(path);
    ADD_FAILURE() << "read_keras_h5(" << path << ") did not throw";
  } catch (const Error& error) {
    message = error.what();
  } catch (const std::exception& error) {
    ADD_FAILURE() << "not a gaze::Error: " << error.what();
  }
  EXPECT_EQ(GetCapturedStderr(), "");
  EXPECT_TRUE(message.starts_with(path + ": ")) << message;
  return message;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// ---- Round trips ----

TEST_F(KerasH5Test, FullModelRoundTripIsExact) {
  const KerasFile model = sample_model();
  write_keras_h5(path("model.h5"), model);
  KerasFile expected = model;
  expected.attributes["backend"] = "tensorflow";  // added; keras_version was given
  expect_same(read_keras_h5(path("model.h5")), expected);
  EXPECT_EQ(files(), std::vector<std::string>{"model.h5"});  // no temporary file left
}

TEST_F(KerasH5Test, FullModelUsesKerasLayout) {
  write_keras_h5(path("model.h5"), sample_model());
  hdf5::File file = hdf5::File::open_read_only(path("model.h5"));
  const hdf5::Group& root = file.root();
  EXPECT_EQ(root.read_string_attribute("model_config"), sample_model().model_config);
  EXPECT_EQ(root.read_string_attribute("keras_version"), "2.1.6");
  EXPECT_EQ(root.read_string_attribute("backend"), "tensorflow");
  EXPECT_FALSE(root.has_attribute("layer_names"));
  const hdf5::Group weights = root.open_group("model_weights");
  EXPECT_EQ(weights.read_string_array_attribute("layer_names"),
            (std::vector<std::string>{"input_1", "conv2d_1", "batch_normalization_1",
                                      "activation_1", "dense_1"}));
  EXPECT_EQ(weights.read_string_attribute("keras_version"), "2.1.6");
  EXPECT_EQ(weights.read_string_attribute("backend"), "tensorflow");
  EXPECT_EQ(weights.open_group("dense_1").read_string_array_attribute("weight_names"),
            (std::vector<std::string>{"dense_1/kernel:0", "dense_1/bias:0"}));
  EXPECT_TRUE(weights.open_group("input_1").read_string_array_attribute("weight_names").empty());
  // Weight names are paths: the kernel is a dataset in the nested group dense_1/dense_1.
  EXPECT_EQ(weights.open_group("dense_1/dense_1").child_names(),
            (std::vector<std::string>{"bias:0", "kernel:0"}));
  EXPECT_EQ(root.read_float_dataset("model_weights/dense_1/dense_1/kernel:0").shape(),
            (Shape{8, 5}));
}

TEST_F(KerasH5Test, WeightsOnlyRoundTripIsExact) {
  KerasFile weights;
  weights.layers = {
      {"zeta", {{"zeta/kernel:0", testing::random_tensor({2, 3, 4, 5, 6}, 8)}}},
      {"flatten", {}},
      // Names need not follow the "<layer>/" convention, nor end in ":0".
      {"alpha", {{"scale", Tensor::full({}, 2.5f)}, {"deep/path/w", special_values()}}},
  };
  write_keras_h5(path("weights.h5"), weights);

  KerasFile expected = weights;
  expected.attributes = {{"backend", "tensorflow"}, {"keras_version", "2.2.4"}};
  expect_same(read_keras_h5(path("weights.h5")), expected);

  hdf5::File file = hdf5::File::open_read_only(path("weights.h5"));
  EXPECT_FALSE(file.root().has_attribute("model_config"));
  EXPECT_FALSE(file.root().has_child("model_weights"));
  EXPECT_EQ(file.root().read_string_array_attribute("layer_names"),
            (std::vector<std::string>{"zeta", "flatten", "alpha"}));
}

TEST_F(KerasH5Test, LongStringsRoundTrip) {
  KerasFile model = sample_model();
  // Longer than an HDF5 object header holds: stored as a variable-length string.
  model.model_config = R"({"layers": ")" + std::string(200000, 'x') + R"("})";
  // Just short enough for a fixed-length string, next to another large one.
  model.attributes["gaze_class_names"] = std::string(64512, 'c');
  model.attributes["training_config"] = std::string(60000, 't');
  write_keras_h5(path("long.h5"), model);
  KerasFile expected = model;
  expected.attributes["backend"] = "tensorflow";
  expect_same(read_keras_h5(path("long.h5")), expected);
}

TEST_F(KerasH5Test, WritingReplacesAnExistingFile) {
  write_text(path("model.h5"), "old contents");
  write_keras_h5(path("model.h5"), sample_model());
  EXPECT_EQ(read_keras_h5(path("model.h5")).layers.size(), 5u);
}

// ---- Files written the way Keras and h5py write them ----

TEST_F(KerasH5Test, ReadsListsSplitIntoChunks) {
  {
    hdf5::File file = hdf5::File::create(path("split.h5"));
    hdf5::Group& root = file.root();
    root.write_string_array_attribute("layer_names0", {"conv_b", "conv_a"});
    root.write_string_array_attribute("layer_names1", {"pool"});
    hdf5::Group conv_b = root.create_group("conv_b");
    conv_b.write_string_array_attribute("weight_names0", {"conv_b/kernel:0"});
    conv_b.write_string_array_attribute("weight_names1", {"conv_b/bias:0"});
    conv_b.write_dataset("conv_b/kernel:0", Tensor::full({1, 1, 2, 2}, 1.0f));
    conv_b.write_dataset("conv_b/bias:0", Tensor::full({2}, 2.0f));
    hdf5::Group conv_a = root.create_group("conv_a");
    conv_a.write_string_array_attribute("weight_names", {"conv_a/kernel:0"});
    conv_a.write_dataset("conv_a/kernel:0", Tensor::full({3}, 3.0f));
    root.create_group("pool").write_string_array_attribute("weight_names", {});
    file.close();
  }
  const KerasFile read = read_keras_h5(path("split.h5"));
  ASSERT_EQ(read.layers.size(), 3u);
  EXPECT_EQ(read.layers[0].layer, "conv_b");
  EXPECT_EQ(read.layers[1].layer, "conv_a");
  EXPECT_EQ(read.layers[2].layer, "pool");
  ASSERT_EQ(read.layers[0].weights.size(), 2u);
  EXPECT_EQ(read.layers[0].weights[1].name, "conv_b/bias:0");
  EXPECT_EQ(read.layers[0].weights[1].value.at(1), 2.0f);
  EXPECT_TRUE(read.layers[2].weights.empty());
  EXPECT_TRUE(read.attributes.empty());  // the chunks are not extra attributes
}

TEST_F(KerasH5Test, WritesLongListsInChunksAsKerasDoes) {
  // 3000 names of 30 bytes: 90000 bytes, more than one attribute may hold.
  KerasFile weights;
  for (int i = 0; i < 3000; ++i) {
    std::string name = "layer_" + std::to_string(i);
    name.resize(30, 'x');
    weights.layers.push_back({name, {}});
  }
  write_keras_h5(path("long.h5"), weights);
  {
    hdf5::File file = hdf5::File::open_read_only(path("long.h5"));
    EXPECT_FALSE(file.root().has_attribute("layer_names"));
    EXPECT_EQ(file.root().read_string_array_attribute("layer_names0").size(), 1500u);
    EXPECT_EQ(file.root().read_string_array_attribute("layer_names1").size(), 1500u);
    EXPECT_FALSE(file.root().has_attribute("layer_names2"));
  }
  const KerasFile read = read_keras_h5(path("long.h5"));
  ASSERT_EQ(read.layers.size(), 3000u);
  for (size_t i = 0; i < read.layers.size(); ++i) {
    ASSERT_EQ(read.layers[i].layer, weights.layers[i].layer);
  }
}

TEST_F(KerasH5Test, ReadsKerasApplicationsStyleWeightsFile) {
  // As keras.applications' inception_v3_weights_tf_dim_ordering_tf_kernels.h5: fixed-length
  // byte strings (numpy |S20 for the longest name here), a weight stored as float64, one as
  // float16, and version attributes as fixed-length scalars.
  using hdf5::StoredType;
  using hdf5::StringStorage;
  const Tensor kernel = testing::random_tensor({3, 3, 3, 4}, 9);
  {
    hdf5::File file = hdf5::File::create(path("applications.h5"));
    hdf5::Group& root = file.root();
    root.write_string_array_attribute("layer_names",
                                      {"input_1", "conv2d_1", "batch_normalization_1"});
    root.write_string_attribute("keras_version", "2.1.5", StringStorage::kFixedLength);
    root.write_string_attribute("backend", "tensorflow", StringStorage::kFixedLength);
    root.create_group("input_1").write_string_array_attribute("weight_names", {});
    hdf5::Group conv = root.create_group("conv2d_1");
    conv.write_string_array_attribute("weight_names", {"conv2d_1/kernel:0"});
    conv.write_dataset("conv2d_1/kernel:0", kernel);
    hdf5::Group norm = root.create_group("batch_normalization_1");
    norm.write_string_array_attribute(
        "weight_names", {"batch_normalization_1/beta:0", "batch_normalization_1/moving_mean:0"});
    norm.write_dataset("batch_normalization_1/beta:0", Tensor::from({2}, {0.1f, -2.5f}),
                       StoredType::kFloat64);
    norm.write_dataset("batch_normalization_1/moving_mean:0", Tensor::from({2}, {0.5f, -3.0f}),
                       StoredType::kFloat16);
    file.close();
  }
  const KerasFile read = read_keras_h5(path("applications.h5"));
  EXPECT_TRUE(read.model_config.empty());
  EXPECT_EQ(read.attributes, (std::map<std::string, std::string>{{"backend", "tensorflow"},
                                                                 {"keras_version", "2.1.5"}}));
  ASSERT_EQ(read.layers.size(), 3u);
  EXPECT_TRUE(read.layers[0].weights.empty());
  ASSERT_EQ(read.layers[1].weights.size(), 1u);
  EXPECT_TRUE(bit_equal(read.layers[1].weights[0].value, kernel));
  ASSERT_EQ(read.layers[2].weights.size(), 2u);
  EXPECT_EQ(read.layers[2].weights[0].value.at(0), 0.1f);  // float64 holds 0.1f exactly
  EXPECT_EQ(read.layers[2].weights[0].value.at(1), -2.5f);
  EXPECT_EQ(read.layers[2].weights[1].value.at(0), 0.5f);  // exact in float16 too
  EXPECT_EQ(read.layers[2].weights[1].value.at(1), -3.0f);
}

TEST_F(KerasH5Test, StringAttributesOfBothStoragesReadBack) {
  using hdf5::StringStorage;
  {
    hdf5::File file = hdf5::File::create(path("strings.h5"));
    hdf5::Group& root = file.root();
    root.write_string_attribute("fixed", "fixed value", StringStorage::kFixedLength);
    root.write_string_attribute("empty_fixed", "", StringStorage::kFixedLength);
    root.write_string_attribute("variable", "caf\xc3\xa9", StringStorage::kVariableLength);
    root.write_string_array_attribute("fixed_list", {"a", "", "ccc"}, StringStorage::kFixedLength);
    root.write_string_array_attribute("variable_list", {"x", "yy"}, StringStorage::kVariableLength);
    root.write_string_attribute("replaced", "first");
    root.write_string_attribute("replaced", "second");
    root.write_dataset("numbers", Tensor::full({2}, 1.0f));
    file.close();
  }
  hdf5::File file = hdf5::File::open_read_only(path("strings.h5"));
  const hdf5::Group& root = file.root();
  EXPECT_EQ(root.read_string_attribute("fixed"), "fixed value");
  EXPECT_EQ(root.read_string_attribute("empty_fixed"), "");
  EXPECT_EQ(root.read_string_attribute("variable"), "caf\xc3\xa9");
  EXPECT_EQ(root.read_string_array_attribute("fixed_list"),
            (std::vector<std::string>{"a", "", "ccc"}));
  EXPECT_EQ(root.read_string_array_attribute("variable_list"),
            (std::vector<std::string>{"x", "yy"}));
  EXPECT_EQ(root.read_string_attribute("replaced"), "second");
  EXPECT_TRUE(root.has_string_attribute("fixed"));
  EXPECT_FALSE(root.has_string_attribute("fixed_list"));
  EXPECT_FALSE(root.has_string_attribute("absent"));
  EXPECT_EQ(root.attribute_names(),
            (std::vector<std::string>{"empty_fixed", "fixed", "fixed_list", "replaced", "variable",
                                      "variable_list"}));
  EXPECT_TRUE(root.has_child("numbers"));
  EXPECT_FALSE(root.has_child("numbers/inside"));
  EXPECT_FALSE(root.has_child("absent/inside"));
}

// ---- Errors: each names the file and the problem, and HDF5 prints nothing ----

TEST_F(KerasH5Test, MissingFileIsAnError) {
  const std::string message = read_error(path("absent.h5"));
  EXPECT_TRUE(contains(message, path("absent.h5") + ": no such file"));
}

TEST_F(KerasH5Test, TextFileIsNotHdf5) {
  write_text(path("text.h5"), "this is not an HDF5 file, just some text\n");
  EXPECT_TRUE(contains(read_error(path("text.h5")), path("text.h5") + ": not an HDF5 file"));
}

TEST_F(KerasH5Test, EmptyFileIsNotHdf5) {
  write_text(path("empty.h5"), "");
  const std::string message = read_error(path("empty.h5"));
  EXPECT_TRUE(contains(message, path("empty.h5") + ": not an HDF5 file"));
  EXPECT_TRUE(contains(message, "empty"));
}

TEST_F(KerasH5Test, TruncatedFileIsAnError) {
  KerasFile model = sample_model();
  model.layers[4].weights[0].value = testing::random_tensor({256, 256}, 10);
  write_keras_h5(path("model.h5"), model);
  const auto size = fs::file_size(path("model.h5"));
  fs::copy_file(path("model.h5"), path("cut.h5"));
  fs::resize_file(path("cut.h5"), size / 2);
  const std::string message = read_error(path("cut.h5"));
  EXPECT_TRUE(contains(message, path("cut.h5") + ": "));
  EXPECT_TRUE(contains(message, "truncated"));
}

TEST_F(KerasH5Test, HdfFileWithoutLayerNamesIsNotKeras) {
  {
    hdf5::File file = hdf5::File::create(path("other.h5"));
    file.root().write_dataset("data", Tensor::full({4}, 1.0f));
    file.root().create_group("model_weights");
    file.close();
  }
  EXPECT_TRUE(contains(read_error(path("other.h5")),
                       path("other.h5") + ": neither a Keras model nor a Keras weights file"));
}

TEST_F(KerasH5Test, MissingLayerGroupIsAnError) {
  {
    hdf5::File file = hdf5::File::create(path("model.h5"));
    file.root().write_string_attribute("model_config", "{}");
    hdf5::Group weights = file.root().create_group("model_weights");
    weights.write_string_array_attribute("layer_names", {"dense_1", "dense_2"});
    weights.create_group("dense_1").write_string_array_attribute("weight_names", {});
    file.close();
  }
  EXPECT_TRUE(
      contains(read_error(path("model.h5")),
               path("model.h5") + ": layer 'dense_2': group 'model_weights/dense_2' is missing"));
}

TEST_F(KerasH5Test, MissingWeightDatasetIsAnError) {
  {
    hdf5::File file = hdf5::File::create(path("model.h5"));
    file.root().write_string_array_attribute("layer_names", {"conv2d_1"});
    hdf5::Group conv = file.root().create_group("conv2d_1");
    conv.write_string_array_attribute("weight_names", {"conv2d_1/kernel:0", "conv2d_1/bias:0"});
    conv.write_dataset("conv2d_1/kernel:0", Tensor::full({1, 1, 1, 1}, 1.0f));
    file.close();
  }
  EXPECT_TRUE(contains(read_error(path("model.h5")),
                       path("model.h5") + ": layer 'conv2d_1': missing weight 'conv2d_1/bias:0'"));
}

// Keras' Normalization stores its sample count as an int64 weight: integers read as floats.
TEST_F(KerasH5Test, IntegerDatasetsReadAsFloats) {
  {
    hdf5::File file = hdf5::File::create(path("model.h5"));
    file.root().write_string_attribute("model_config", "{}");
    hdf5::Group weights = file.root().create_group("model_weights");
    weights.write_string_array_attribute("layer_names", {"dense_1"});
    hdf5::Group dense = weights.create_group("dense_1");
    dense.write_string_array_attribute("weight_names", {"dense_1/kernel:0"});
    dense.write_dataset("dense_1/kernel:0", Tensor::from({2, 2}, {1, -2, 3, 100000}),
                        hdf5::StoredType::kInt32);
    file.close();
  }
  const KerasFile file = read_keras_h5(path("model.h5"));
  ASSERT_EQ(file.layers.size(), 1u);
  const auto values = file.layers[0].weights.at(0).value.values();
  EXPECT_EQ(std::vector<float>(values.begin(), values.end()),
            (std::vector<float>{1, -2, 3, 100000}));
}

TEST_F(KerasH5Test, WritingIntoMissingDirectoryFailsAndLeavesNothing) {
  const std::string target = path("missing/model.h5");
  CaptureStderr();
  try {
    write_keras_h5(target, sample_model());
    ADD_FAILURE() << "write_keras_h5 did not throw";
  } catch (const Error& error) {
    EXPECT_TRUE(contains(std::string(error.what()), target + ": cannot create the file"));
  }
  EXPECT_EQ(GetCapturedStderr(), "");
  EXPECT_FALSE(fs::exists(path("missing")));
  EXPECT_TRUE(files().empty());
}

TEST_F(KerasH5Test, FailedWriteKeepsTheOldFileAndLeavesNoTemporary) {
  write_keras_h5(path("model.h5"), sample_model());
  const auto old_size = fs::file_size(path("model.h5"));

  KerasFile broken = sample_model();
  broken.layers[1].weights[0].value = Tensor();  // no value: fails halfway through writing
  CaptureStderr();
  try {
    write_keras_h5(path("model.h5"), broken);
    ADD_FAILURE() << "write_keras_h5 did not throw";
  } catch (const Error& error) {
    EXPECT_TRUE(contains(std::string(error.what()),
                         path("model.h5") + ": dataset 'model_weights/conv2d_1/conv2d_1/kernel:0' "
                                            "has no value"));
  }
  EXPECT_EQ(GetCapturedStderr(), "");
  EXPECT_EQ(files(), std::vector<std::string>{"model.h5"});
  EXPECT_EQ(fs::file_size(path("model.h5")), old_size);
  EXPECT_EQ(read_keras_h5(path("model.h5")).layers.size(), 5u);
}

TEST_F(KerasH5Test, ReservedAttributeNamesAreRejected) {
  KerasFile model = sample_model();
  model.attributes["layer_names"] = "x";
  EXPECT_THROW(write_keras_h5(path("model.h5"), model), Error);
  EXPECT_TRUE(files().empty());
}

}  // namespace
}  // namespace gaze
