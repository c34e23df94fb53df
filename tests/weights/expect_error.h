// Test-only: checks on error messages.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "tensor/error.h"
#include "tests/support/test_util.h"  // error_of

// The text `haystack` contains `needle`.
#define EXPECT_CONTAINS(haystack, needle)                          \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) \
      << "expected \"" << std::string(haystack) << "\" to contain \"" << (needle) << "\""
