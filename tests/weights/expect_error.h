// Test-only: checks on error messages.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "tensor/error.h"

// The text `haystack` contains `needle`.
#define EXPECT_CONTAINS(haystack, needle)                          \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) \
      << "expected \"" << std::string(haystack) << "\" to contain \"" << (needle) << "\""

namespace gaze::testing {

// The message of the gaze::Error that `f` throws, or "" (a test failure) when it throws none.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a gaze::Error";
  return "";
}

}  // namespace gaze::testing
