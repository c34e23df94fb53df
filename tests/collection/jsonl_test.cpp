// The results file: whole lines only, torn tails cut, failures reported, resume's reading.
#include "collection/jsonl.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tensor/error.h"
#include "tests/support/test_util.h"

namespace gaze {
namespace {

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(Jsonl, AppendsWholeLinesAndCutsAnUnfinishedOne) {
  const std::string path = testing::test_temp_path("results.jsonl");
  std::filesystem::remove(path);
  {
    JsonlWriter w(path);
    w.append(R"({"input": "a.jpg", "predictions": []})");
  }
  std::ofstream(path, std::ios::app) << R"({"input": "b.jpg", "predi)";  // killed mid-write
  {
    JsonlWriter w(path);
    w.append(error_line("c.jpg", "c.jpg: corrupt"));
  }
  EXPECT_EQ(read(path),
            "{\"input\": \"a.jpg\", \"predictions\": []}\n"
            "{\"error\":\"c.jpg: corrupt\",\"input\":\"c.jpg\"}\n");
  std::filesystem::remove(path);
}

TEST(Jsonl, SucceededInputsAreTheLinesWithoutAnError) {
  const std::string path = testing::test_temp_path("resume.jsonl");
  std::ofstream(path) << R"({"input": "a.jpg", "predictions": []})"
                      << "\n"
                      << error_line("b.jpg", "b.jpg: corrupt") << "\n"
                      << "not json\n"
                      << R"({"input": 3})"
                      << "\n"
                      << R"({"input": "d.jpg"})"
                      << "\n"
                      // Nested past the JSON limit: not read as a success (so it runs again).
                      << R"({"input": "e.jpg", "x": )" << std::string(1000, '[')
                      << std::string(1000, ']') << "}\n";
  EXPECT_EQ(succeeded_inputs(path), (std::set<std::string>{"a.jpg", "d.jpg"}));
  EXPECT_EQ(succeeded_inputs(path + ".absent"), std::set<std::string>{});
  std::filesystem::remove(path);
}

TEST(Jsonl, AFailedWriteIsAnErrorNamingTheFile) {
  JsonlWriter full("/dev/full");
  const std::string message = testing::error_of([&] { full.append("{}"); });
  EXPECT_NE(message.find("/dev/full: cannot write"), std::string::npos) << message;
  EXPECT_THROW(JsonlWriter("/nonexistent-folder/r.jsonl"), Error);
}

TEST(Jsonl, ErrorLinesAreValidJsonForAnyFileName) {
  const nlohmann::json o = nlohmann::json::parse(error_line("bad\xff\".jpg", "oops"));
  EXPECT_EQ(o.at("input"), "bad\xEF\xBF\xBD\".jpg");
  EXPECT_EQ(o.at("error"), "oops");
}

}  // namespace
}  // namespace gaze
