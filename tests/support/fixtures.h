// Paths to committed fixtures and to the models tools/fetch_models.sh fetches. A test that needs a
// model skips (and shows as skipped, not passed) when it is absent, unless skips are failures:
// under CI=true or GAZE_NO_SKIP=1 (tools/test.sh sets it in CI or with --no-skip) it fails,
// saying what is missing, so that a failed fetch cannot pass as a green run.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
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

// True when a test that cannot run must fail rather than skip.
inline bool skips_are_failures() {
  const char* ci = std::getenv("CI");
  const char* no_skip = std::getenv("GAZE_NO_SKIP");
  return (ci && std::string(ci) == "true") || (no_skip && std::string(no_skip) == "1");
}

// Ends the test: a skip, or a failure when skips are failures. `why` is streamed.
#define GAZE_CANNOT_RUN(why)                                              \
  do {                                                                    \
    if (::gaze::testing::skips_are_failures()) {                          \
      GTEST_FAIL() << why << " (CI=true or GAZE_NO_SKIP=1: not skipped)"; \
    } else {                                                              \
      GTEST_SKIP() << why;                                                \
    }                                                                     \
  } while (false)

#define GAZE_REQUIRE_MODEL(name)                                                             \
  do {                                                                                       \
    if (!std::filesystem::exists(::gaze::testing::model_path(name))) {                       \
      GAZE_CANNOT_RUN("models/" << (name)                                                    \
                                << " is not there: run tools/fetch_models.sh (the README's " \
                                   "test command does)");                                    \
    }                                                                                        \
  } while (false)

}  // namespace gaze::testing
