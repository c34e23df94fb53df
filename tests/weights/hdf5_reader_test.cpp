// The child process that reads HDF5 files (weights/hdf5_reader.h): its answers are those of
// libhdf5 in process, its errors pass through, and its death is one Error of the parent's.
#include "weights/hdf5_reader.h"

#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/support/fixtures.h"
#include "tests/support/test_util.h"
#include "tests/weights/expect_error.h"
#include "weights/hdf5_file.h"
#include "weights/model_io.h"

namespace gaze {
namespace {

using testing::error_of;

const std::string kModel = "keras_h5/tf_keras_model.h5";

// Every kind of answer equals what libhdf5 in this process reads.
TEST(Hdf5Reader, AnswersAsLibhdf5InProcess) {
  const std::string path = testing::fixture_path(kModel);
  const hdf5::File here = hdf5::File::open_read_only_here(path);
  const hdf5::File there = hdf5::File::open_read_only(path);
  EXPECT_EQ(there.root().child_names(), here.root().child_names());
  EXPECT_EQ(there.root().attribute_names(), here.root().attribute_names());
  EXPECT_EQ(there.root().read_string_attribute("model_config"),
            here.root().read_string_attribute("model_config"));
  EXPECT_TRUE(there.root().has_string_attribute("keras_version"));
  EXPECT_FALSE(there.root().has_attribute("no such attribute"));
  EXPECT_TRUE(there.root().has_child("model_weights/conv1"));
  EXPECT_FALSE(there.root().has_child("model_weights/none"));
  const hdf5::Group weights = there.root().open_group("model_weights");
  const hdf5::Group weights_here = here.root().open_group("model_weights");
  EXPECT_EQ(weights.path(), "model_weights");
  EXPECT_EQ(weights.read_string_array_attribute("layer_names"),
            weights_here.read_string_array_attribute("layer_names"));
  const Tensor kernel = weights.read_float_dataset("conv1/conv1/kernel:0");
  const Tensor kernel_here = weights_here.read_float_dataset("conv1/conv1/kernel:0");
  ASSERT_EQ(kernel.shape(), kernel_here.shape());
  EXPECT_EQ(std::vector<float>(kernel.values().begin(), kernel.values().end()),
            std::vector<float>(kernel_here.values().begin(), kernel_here.values().end()));
  // Errors are libhdf5's in process, word for word.
  EXPECT_EQ(error_of([&] { weights.read_float_dataset("conv1/none"); }),
            error_of([&] { weights_here.read_float_dataset("conv1/none"); }));
  EXPECT_EQ(error_of([&] { there.root().open_group("none"); }),
            error_of([&] { here.root().open_group("none"); }));
  EXPECT_EQ(error_of([&] { hdf5::File::open_read_only(path + ".missing"); }),
            path + ".missing: no such file");
}

TEST(Hdf5Reader, AChildThatDiesIsOneError) {
  const auto crash = []() -> hdf5::File {
    std::raise(SIGSEGV);
    std::abort();
  };
  EXPECT_EQ(error_of([&] { hdf5::ReaderProcess("x.h5", crash); }),
            "x.h5: the HDF5 library crashed reading the file (signal 11, Segmentation fault), the "
            "file is corrupt");
  const auto exits = []() -> hdf5::File { std::_Exit(3); };
  EXPECT_EQ(error_of([&] { hdf5::ReaderProcess("y.h5", exits); }),
            "y.h5: the HDF5 library crashed reading the file (exit status 3), the file is "
            "corrupt");
}

// A file libhdf5 1.10.8 reads past its buffer (an attribute's data beyond its message, found by
// the fuzzer): under AddressSanitizer the child stops, elsewhere it reads what it reads; either
// way the parent gets one Error and goes on.
TEST(Hdf5Reader, ALibraryFaultIsTheChildsAlone) {
  const std::string found =
      testing::source_path("fuzz/regressions/hdf5/attribute_data_past_its_message.h5");
  // Under AddressSanitizer this test process itself stopped there, before the reader process.
  EXPECT_CONTAINS(error_of([&] { load_model(found); }), found + ": ");
  // The parent still reads other files.
  EXPECT_NO_THROW(hdf5::File::open_read_only(testing::fixture_path(kModel)).root().child_names());
}

}  // namespace
}  // namespace gaze
