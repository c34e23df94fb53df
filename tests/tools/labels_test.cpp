// --labels FILE for `gaze classify` and `gaze cam`, and the default ImageNet class names
// (models/imagenet_classes.txt, written by tools/fetch_models.sh) for 1000-output models without
// stored names. The models are tiny ones built here with gaze's own HDF5 writer:
//   InputLayer [null, 4, 4, 3] -> Conv2D(2, 1x1) -> Flatten -> Dense(units, softmax)
// with random weights, so every run takes milliseconds.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tensor/npy.h"
#include "tests/support/fixtures.h"
#include "tests/support/test_util.h"
#include "tests/tools/run_gaze.h"
#include "weights/keras_file.h"
#include "weights/keras_h5.h"

namespace gaze {
namespace {

using nlohmann::json;
using testing::RunResult;
using testing::TempDir;
namespace fs = std::filesystem;

RunResult run(const std::vector<std::string>& args) {
  return testing::run_gaze(args);
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

// A tiny classifier with `units` outputs; `class_names` is stored as gaze_class_names unless
// empty. Preprocessing "none", so a .npy input goes in as it is.
void write_tiny_model(const std::string& path, int64_t units,
                      const std::vector<std::string>& class_names = {}) {
  const json layers =
      json::array({{{"class_name", "InputLayer"},
                    {"config", {{"name", "input"}, {"batch_input_shape", {nullptr, 4, 4, 3}}}}},
                   {{"class_name", "Conv2D"},
                    {"config",
                     {{"name", "conv"},
                      {"filters", 2},
                      {"kernel_size", {1, 1}},
                      {"padding", "valid"},
                      {"activation", "relu"}}}},
                   {{"class_name", "Flatten"}, {"config", {{"name", "flatten"}}}},
                   {{"class_name", "Dense"},
                    {"config", {{"name", "dense"}, {"units", units}, {"activation", "softmax"}}}}});
  KerasFile file;
  file.model_config =
      json{{"class_name", "Sequential"}, {"config", {{"name", "tiny"}, {"layers", layers}}}}.dump();
  file.layers = {
      {"input", {}},
      {"conv",
       {{"conv/kernel:0", testing::random_tensor({1, 1, 3, 2}, 1)},
        {"conv/bias:0", testing::random_tensor({2}, 2)}}},
      {"flatten", {}},
      {"dense",
       {{"dense/kernel:0", testing::random_tensor({32, units}, 3)},
        {"dense/bias:0", testing::random_tensor({units}, 4)}}},
  };
  file.attributes["gaze_preprocessing"] = "none";
  if (!class_names.empty()) file.attributes["gaze_class_names"] = json(class_names).dump();
  write_keras_h5(path, file);
}

// A preprocessed input [4, 4, 3].
std::string write_input(const TempDir& dir) {
  const std::string path = dir / "input.npy";
  write_npy(path, testing::random_tensor({4, 4, 3}, 5, 0.0f, 1.0f));
  return path;
}

std::vector<std::string> lines_of(const std::string& path) {
  return RunResult::split_lines(testing::read_whole_file(path));
}

// The one JSON line `gaze classify --json --top 0` printed; index -> class.
std::vector<std::string> classify_labels(const RunResult& r) {
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  const auto lines = r.out_lines();
  EXPECT_EQ(lines.size(), 1u) << r.out;
  if (lines.size() != 1) return {};
  const json result = json::parse(lines[0]);
  std::vector<std::string> labels(result["predictions"].size());
  for (const json& p : result["predictions"]) {
    const auto index = p["index"].get<size_t>();
    EXPECT_LT(index, labels.size());
    if (index < labels.size()) labels[index] = p["class"].get<std::string>();
  }
  return labels;
}

// gaze exited with code 1 after exactly one stderr line, "gaze: error: ...", mentioning each of
// `mentions`.
::testing::AssertionResult one_error_line(const RunResult& r,
                                          const std::vector<std::string>& mentions) {
  auto failure = [&]() {
    return ::testing::AssertionFailure() << "exit code " << r.exit_code << ", signal " << r.signal
                                         << ", stderr:\n[" << r.err << "]\n";
  };
  if (!r.exited() || r.exit_code != 1) return failure() << "expected exit code 1";
  const auto lines = r.err_lines();
  if (lines.size() != 1 || r.err.back() != '\n') return failure() << "expected one stderr line";
  if (lines[0].rfind("gaze: error: ", 0) != 0) return failure() << "expected 'gaze: error: '";
  for (const std::string& m : mentions) {
    if (lines[0].find(m) == std::string::npos) return failure() << "expected it to mention " << m;
  }
  return ::testing::AssertionSuccess();
}

// Where gaze looks for the ImageNet class names: beside its build folder, then ./models.
std::string imagenet_classes_file() {
  const fs::path beside =
      fs::path(GAZE_BINARY).parent_path().parent_path() / "models" / "imagenet_classes.txt";
  if (fs::exists(beside)) return beside.string();
  return "models/imagenet_classes.txt";
}

const std::vector<std::string> kNames = {"cat", "dog", "bird"};

TEST(Labels, RightCountNamesTheClassesInClassifyJson) {
  TempDir dir;
  const std::string model = dir / "tiny3.h5", labels = dir / "labels.txt";
  write_tiny_model(model, 3);
  write_text(labels, "cat\ndog\nbird\n");
  const std::string input = write_input(dir);
  auto names = [&] {
    return classify_labels(
        run({"classify", "--model", model, "--labels", labels, "--top", "0", "--json", input}));
  };
  EXPECT_EQ(names(), kNames);
  // CRLF line ends, no final newline, and blank lines at the end are all fine.
  write_text(labels, "cat\r\ndog\r\nbird\r\n\r\n\n");
  EXPECT_EQ(names(), kNames);
  write_text(labels, "cat\ndog\nbird");
  EXPECT_EQ(names(), kNames);
  // A UTF-8 byte order mark is dropped; names in any script are kept as they are.
  write_text(labels,
             "\xEF\xBB\xBF"
             "cat\ncaf\xC3\xA9\n\xF0\x9F\x90\xB1\n");
  EXPECT_EQ(names(), (std::vector<std::string>{"cat", "caf\xC3\xA9", "\xF0\x9F\x90\xB1"}));
}

TEST(Labels, OverrideTheModelsStoredNames) {
  TempDir dir;
  const std::string model = dir / "named.h5", labels = dir / "labels.txt";
  write_tiny_model(model, 3, {"a", "b", "c"});
  write_text(labels, "cat\ndog\nbird\n");
  const std::string input = write_input(dir);
  EXPECT_EQ(classify_labels(run({"classify", "--model", model, "--top", "0", "--json", input})),
            (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(classify_labels(run(
                {"classify", "--model", model, "--labels", labels, "--top", "0", "--json", input})),
            kNames);
}

TEST(Labels, CamExplainsAClassNamedByTheLabels) {
  TempDir dir;
  const std::string model = dir / "tiny3.h5", labels = dir / "labels.txt";
  write_tiny_model(model, 3);
  write_text(labels, "cat\ndog\nbird\n");
  const std::string input = write_input(dir);
  const RunResult r = run({"cam", "--model", model, "--labels", labels, "--class", "dog",
                           "--top-predictions", "0", "--out-dir", dir / "out", "--json", input});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = r.out_lines();
  ASSERT_EQ(lines.size(), 1u) << r.out;
  const json result = json::parse(lines[0]);
  ASSERT_EQ(result["maps"].size(), 1u);
  EXPECT_EQ(result["maps"][0]["class"], "dog");
  EXPECT_EQ(result["maps"][0]["index"], 1);
  for (const json& p : result["predictions"])
    EXPECT_EQ(p["class"], kNames.at(p["index"].get<size_t>()));
  // Without --labels the name is unknown: one error line.
  EXPECT_TRUE(one_error_line(
      run({"cam", "--model", model, "--class", "dog", "--out-dir", dir / "out", input}), {"dog"}));
}

TEST(Labels, WrongCountIsOneErrorLineNamingTheFileAndBothCounts) {
  TempDir dir;
  const std::string model = dir / "tiny3.h5", labels = dir / "labels.txt";
  write_tiny_model(model, 3);
  const std::string input = write_input(dir);
  for (const std::string& text : {std::string("cat\ndog\n"), std::string("a\nb\nc\nd\ne\n")}) {
    SCOPED_TRACE(text);
    write_text(labels, text);
    const std::string count = std::to_string(RunResult::split_lines(text).size());
    EXPECT_TRUE(one_error_line(run({"classify", "--model", model, "--labels", labels, input}),
                               {labels, count + " class names", "3 outputs"}));
    EXPECT_TRUE(one_error_line(
        run({"cam", "--model", model, "--labels", labels, "--out-dir", dir / "out", input}),
        {labels, count + " class names", "3 outputs"}));
  }
  EXPECT_FALSE(fs::exists(dir / "out/input_gradcam.png"));
}

TEST(Labels, UnreadableOrMalformedFilesAreOneErrorLine) {
  TempDir dir;
  const std::string model = dir / "tiny3.h5", labels = dir / "labels.txt";
  write_tiny_model(model, 3);
  const std::string input = write_input(dir);
  const std::string absent = dir / "absent.txt";
  EXPECT_TRUE(
      one_error_line(run({"classify", "--model", model, "--labels", absent, input}), {absent}));
  EXPECT_TRUE(one_error_line(run({"classify", "--model", model, "--labels", dir.path(), input}),
                             {dir.path()}));
  write_text(labels, "cat\n\nbird\n");
  EXPECT_TRUE(one_error_line(run({"classify", "--model", model, "--labels", labels, input}),
                             {labels, "line 2"}));
  // Not UTF-8 (the names go into JSON): stray bytes, an overlong '/', a cut-short character.
  for (const std::string& text :
       {std::string("cat\ndo\xff\xfeg\nbird\n"), std::string("cat\n\xC0\xAF\nbird\n"),
        std::string("cat\nbird\n\xE6\x97")}) {
    write_text(labels, text);
    const std::string line = text.back() == '\n' ? "line 2" : "line 3";
    EXPECT_TRUE(one_error_line(run({"classify", "--model", model, "--labels", labels, input}),
                               {labels, line, "UTF-8"}));
  }
}

TEST(Labels, ThousandOutputsWithoutNamesUseTheImageNetClasses) {
  const std::string imagenet = imagenet_classes_file();
  if (!fs::exists(imagenet)) {
    GAZE_CANNOT_RUN(
        "models/imagenet_classes.txt is not there: run tools/fetch_models.sh (the "
        "README's test command does)");
  }
  const auto names = lines_of(imagenet);
  ASSERT_EQ(names.size(), 1000u) << imagenet;
  TempDir dir;
  const std::string model = dir / "tiny1000.h5";
  write_tiny_model(model, 1000);
  const std::string input = write_input(dir);
  const auto labels =
      classify_labels(run({"classify", "--model", model, "--top", "0", "--json", input}));
  ASSERT_EQ(labels.size(), 1000u);
  EXPECT_EQ(labels[0], names[0]);
  EXPECT_EQ(labels, names);
  // The text output uses them too.
  const RunResult text = run({"classify", "--model", model, "--top", "0", input});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find(names[999]), std::string::npos);
}

TEST(Labels, ThousandOutputsKeepTheirStoredNames) {
  std::vector<std::string> stored;
  for (int i = 0; i < 1000; ++i) stored.push_back("n" + std::to_string(i));
  TempDir dir;
  const std::string model = dir / "named1000.h5";
  write_tiny_model(model, 1000, stored);
  const std::string input = write_input(dir);
  EXPECT_EQ(classify_labels(run({"classify", "--model", model, "--top", "0", "--json", input})),
            stored);
}

TEST(Labels, OtherOutputCountsWithoutNamesKeepClassIndexLabels) {
  TempDir dir;
  const std::string model = dir / "tiny3.h5";
  write_tiny_model(model, 3);
  const std::string input = write_input(dir);
  EXPECT_EQ(classify_labels(run({"classify", "--model", model, "--top", "0", "--json", input})),
            (std::vector<std::string>{"class_0", "class_1", "class_2"}));
}

TEST(Labels, HelpDocumentsTheOption) {
  for (const char* command : {"classify", "cam"}) {
    SCOPED_TRACE(command);
    const RunResult r = run({command, "--help"});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_NE(r.out.find("  --labels FILE "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("imagenet_classes.txt"), std::string::npos) << r.out;
  }
}

}  // namespace
}  // namespace gaze
