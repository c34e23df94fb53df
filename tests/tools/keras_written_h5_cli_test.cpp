// `gaze classify` on the legacy .h5 files written with h5py in Keras' own layouts
// (tests/fixtures/keras_h5/, tools/reference/keras_h5_files.py): TF.js's stored probabilities of
// tests/fixtures/families/mobilenet_v1 (or finetuned_nested, for the nested files) for both of
// its inputs, from every file.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/fixtures.h"
#include "tests/tools/run_gaze.h"

namespace gaze {
namespace {

using nlohmann::json;

// Each file's TF.js probabilities for both inputs of its family, through `gaze classify --json`.
void expect_tfjs_probabilities(const std::string& family_name,
                               const std::vector<std::vector<std::string>>& forms) {
  const json ref = testing::read_json_fixture("families/" + family_name + "/reference.json");
  const std::string family = testing::fixture_path("families/" + family_name + "/");
  for (const std::vector<std::string>& form : forms) {
    SCOPED_TRACE(form[0]);
    std::vector<std::string> args = {
        "classify", "--json",  "--quiet",
        "--top",    "0",       "--preprocessing",
        "none",     "--model", testing::fixture_path("keras_h5/" + form[0])};
    args.insert(args.end(), form.begin() + 1, form.end());
    std::vector<json> expected;
    for (const auto& [name, in] : ref["inputs"].items()) {
      args.push_back(family + in["input"].get<std::string>());
      expected.push_back(in["probs"]);
    }
    const testing::RunResult r = testing::run_gaze(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    const std::vector<std::string> lines = r.out_lines();
    ASSERT_EQ(lines.size(), expected.size()) << r.out;
    for (size_t i = 0; i < lines.size(); ++i) {
      const json out = json::parse(lines[i]);
      ASSERT_EQ(out.at("predictions").size(), 5u);
      for (const json& p : out.at("predictions")) {
        const size_t c = p.at("index").get<size_t>();
        EXPECT_NEAR(p.at("prob").get<double>(), expected[i].at(c).get<double>(), 1e-5)
            << "input " << i << " class " << c;
      }
    }
  }
}

TEST(CliKerasWrittenH5, ClassifyGivesTfjsProbabilities) {
  const std::string config = testing::fixture_path("families/mobilenet_v1/config.json");
  expect_tfjs_probabilities("mobilenet_v1",
                            {
                                {"tf_keras_model.h5"},
                                {"tf_keras_weights.h5", "--config",
                                 testing::fixture_path("keras_h5/tf_keras_model.json")},
                                {"keras3_legacy_model.h5"},
                                {"keras3_legacy_weights.h5", "--config", config},
                                {"tf_keras_chunked_model.h5"},
                                {"h5py2_model.h5"},
                                {"tf_keras_compiled_model.h5"},
                            });
}

TEST(CliKerasWrittenH5, ClassifyTakesNestedModels) {
  const std::string config = testing::fixture_path("keras_h5/tf_keras_nested_model.json");
  expect_tfjs_probabilities("finetuned_nested",
                            {
                                {"tf_keras_nested_model.h5"},
                                {"tf_keras_nested_weights.h5", "--config", config},
                                {"keras3_legacy_nested_model.h5"},
                            });
}

}  // namespace
}  // namespace gaze
