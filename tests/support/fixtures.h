// Paths to committed fixtures and to the models tools/fetch_models.sh fetches. Tests that need a
// model skip (and show as skipped, not passed) when it is absent.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace gaze::testing {

inline std::string source_path(const std::string& relative) {
  return std::string(GAZE_SOURCE_DIR) + "/" + relative;
}
inline std::string fixture_path(const std::string& relative) {
  return source_path("tests/fixtures/" + relative);
}

inline nlohmann::json read_json_fixture(const std::string& relative) {
  std::ifstream in(fixture_path(relative));
  return nlohmann::json::parse(in);
}

inline std::string model_path(const std::string& name) {
  return source_path("models/" + name);
}

#define GAZE_REQUIRE_MODEL(name)                                   \
  if (!std::filesystem::exists(::gaze::testing::model_path(name))) \
  GTEST_SKIP() << "models/" << (name)                              \
               << " is not there: run tools/fetch_models.sh (the README's test command does)"

}  // namespace gaze::testing
