// Limits that hold before anything is allocated for an untrusted model file (issue 14.2): JSON
// nesting in a TF.js model.json and a .keras config, and HDF5 datasets whose shape claims more
// data than their file can hold. Each malicious file is generated here, a few bytes to a few
// hundred KB, and each is one clear Error naming the file.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <string>

#include "tensor/json_limits.h"
#include "tests/support/fixtures.h"
#include "tests/support/test_util.h"
#include "tests/weights/expect_error.h"
#include "tests/weights/zip_builder.h"
#include "weights/hdf5_file.h"
#include "weights/keras_zip.h"
#include "weights/model_io.h"
#include "weights/tfjs.h"

namespace gaze {
namespace {

using testing::error_of;

const std::string kTooDeep = "nests arrays and objects deeper than the limit of 100 levels";

std::string nested(int depth) {
  return std::string(static_cast<size_t>(depth), '[') +
         std::string(static_cast<size_t>(depth), ']');
}

std::string write_text(const std::string& name, const std::string& text) {
  const std::string path = testing::test_temp_path(name);
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

TEST(JsonLimits, NestingAndSizeAreCheckedOutsideStrings) {
  EXPECT_NO_THROW(check_json_limits(nested(100), "f", "x"));
  EXPECT_CONTAINS(error_of([] { check_json_limits(nested(101), "f", "x"); }), "f: x " + kTooDeep);
  EXPECT_CONTAINS(error_of([] { check_json_limits("{\"a\":" + nested(101) + "}", "", "y"); }),
                  "y " + kTooDeep);
  // Brackets inside strings, escaped quotes included, are text.
  const std::string in_string =
      "[\"" + std::string(500, '[') + "\\\"" + std::string(500, '{') + "\", \"\\\\\", [1]]";
  EXPECT_NO_THROW(check_json_limits(in_string, "f", "x"));
  EXPECT_CONTAINS(error_of([] { check_json_limits(std::string(11, ' '), "f", "x", 10); }),
                  "f: x is 11 bytes, over the limit of 10");
}

// A model.json nesting a million deep: nlohmann parses that without recursion, but the copies
// and comparisons of the parsed value recurse, so it must be refused before.
TEST(JsonLimits, DeepModelJsonIsOneError) {
  const std::string path =
      write_text("deep_model.json", "{\"modelTopology\": " + nested(1'000'000) + "}");
  const std::string error = error_of([&] { read_tfjs_model(path); });
  EXPECT_EQ(error, path + ": the model.json " + kTooDeep);
}

TEST(JsonLimits, DeepKerasConfigIsOneError) {
  zip::Archive archive = zip::Archive::open(testing::fixture_path("keras3/flat.keras"));
  testing::ZipSpec spec;
  for (const zip::Entry& e : archive.entries()) {
    const std::vector<unsigned char> bytes = archive.read(e.name, uint64_t{1} << 30);
    std::string data(bytes.begin(), bytes.end());
    if (e.name == "config.json")
      data = "{\"class_name\": \"Functional\", \"config\": " + nested(200000) + "}";
    spec.entries.push_back({.name = e.name, .data = data});
  }
  const std::string path = write_text("deep.keras", testing::build_zip(spec));
  const std::string error = error_of([&] { load_model(path); });
  EXPECT_CONTAINS(error, path);
  EXPECT_CONTAINS(error, kTooDeep);
}

// ---------------------------------------------------------------------------------------------
// HDF5: files made with the HDF5 library itself, each with one dataset "x" set up by `make`.

std::string hdf5_file(const std::string& name, const std::function<void(hid_t file)>& make) {
  const std::string path = testing::test_temp_path(name);
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  EXPECT_GE(file, 0);
  make(file);
  H5Fclose(file);
  return path;
}

// A dataset of `dims` float32 with the creation properties `dcpl`, never written.
void unwritten(hid_t file, const std::vector<hsize_t>& dims, hid_t dcpl) {
  const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  const hid_t set = H5Dcreate2(file, "x", H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  EXPECT_GE(set, 0);
  H5Dclose(set);
  H5Sclose(space);
}

std::string read_error(const std::string& path) {
  return error_of([&] { hdf5::File::open_read_only(path).root().read_float_dataset("x"); });
}

TEST(Hdf5Limits, AnUnwrittenContiguousDatasetBeyondTheFileIsRefused) {
  // 40000 x 40000 float32: 6.4 GB of fill value from a file of a few KB.
  const std::string path = hdf5_file("unwritten.h5", [](hid_t file) {
    const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_layout(dcpl, H5D_CONTIGUOUS);
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_LATE);
    unwritten(file, {40000, 40000}, dcpl);
    H5Pclose(dcpl);
  });
  const std::string error = read_error(path);
  EXPECT_CONTAINS(error,
                  path + ": dataset 'x' has shape [40000, 40000] (6400000000 bytes) from a ");
  EXPECT_CONTAINS(error, "more than 1032 times its size");
}

TEST(Hdf5Limits, AChunkedDatasetBeyondDeflatesRatioIsRefused) {
  const std::string path = hdf5_file("chunked.h5", [](hid_t file) {
    const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    const hsize_t chunk[2] = {256, 256};
    H5Pset_chunk(dcpl, 2, chunk);
    H5Pset_deflate(dcpl, 9);
    unwritten(file, {1 << 20, 1 << 20}, dcpl);
    H5Pclose(dcpl);
  });
  EXPECT_CONTAINS(read_error(path), "more than 1032 times its size");
}

TEST(Hdf5Limits, ExternalStorageIsRefused) {
  const std::string path = hdf5_file("external.h5", [](hid_t file) {
    const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_external(dcpl, "/dev/zero", 0, H5F_UNLIMITED);
    unwritten(file, {16}, dcpl);
    H5Pclose(dcpl);
  });
  EXPECT_EQ(read_error(path),
            path + ": dataset 'x' keeps its data in external files, which gaze does not read");
}

TEST(Hdf5Limits, DatasetsWithinTheLimitsRead) {
  // A chunked, deflated dataset of zeros far smaller than its data, and a contiguous one.
  const std::string path = hdf5_file("fine.h5", [](hid_t file) {
    const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    const hsize_t chunk[1] = {1 << 16};
    H5Pset_chunk(dcpl, 1, chunk);
    H5Pset_deflate(dcpl, 9);
    const hsize_t dims[1] = {1 << 18};
    const hid_t space = H5Screate_simple(1, dims, nullptr);
    const hid_t set = H5Dcreate2(file, "x", H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    const std::vector<float> zeros(1 << 18, 0.0f);
    EXPECT_GE(H5Dwrite(set, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros.data()), 0);
    H5Dclose(set);
    H5Sclose(space);
    H5Pclose(dcpl);
  });
  const Tensor x = hdf5::File::open_read_only(path).root().read_float_dataset("x");
  EXPECT_EQ(x.shape(), (Shape{1 << 18}));
}

// Compact data lives in the object header: its stored size must be the shape's. libhdf5 1.10.8
// copied 16 bytes from a compact dataset storing none (a fuzzer's Keras 3 weights file, its
// config after the separator line), a crash in the optimized build too.
TEST(Hdf5Limits, ACompactDatasetMustStoreItsShapesBytes) {
  std::ifstream in(testing::source_path("fuzz/regressions/hdf5/compact_dataset_storing_0_bytes.h5"),
                   std::ios::binary);
  const std::string input((std::istreambuf_iterator<char>(in)), {});
  const size_t separator = input.find("\n--gaze-fuzz-next-file--\n");
  ASSERT_NE(separator, std::string::npos);
  const std::string weights = write_text("compact.weights.h5", input.substr(0, separator));
  const std::string config = write_text("compact_config.json", input.substr(separator + 25));
  EXPECT_EQ(error_of([&] { load_model(weights, config); }),
            weights + ": dataset 'layers/functional/layers/conv2d/vars/1' has shape [4] (16 " +
                "bytes) but stores 0 bytes, the file may be corrupt");
  // A compact dataset as libhdf5 writes it reads.
  const std::string path = hdf5_file("compact.h5", [](hid_t file) {
    const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_layout(dcpl, H5D_COMPACT);
    const hsize_t dims[1] = {4};
    const hid_t space = H5Screate_simple(1, dims, nullptr);
    const hid_t set = H5Dcreate2(file, "x", H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    const float values[4] = {1, 2, 3, 4};
    EXPECT_GE(H5Dwrite(set, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values), 0);
    H5Dclose(set);
    H5Sclose(space);
    H5Pclose(dcpl);
  });
  const Tensor x = hdf5::File::open_read_only(path).root().read_float_dataset("x");
  EXPECT_EQ(x.shape(), (Shape{4}));
  EXPECT_EQ(x.data()[3], 4.0f);
}

}  // namespace
}  // namespace gaze
