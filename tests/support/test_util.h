// Helpers shared by the tests: random tensors and comparisons.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <string>

#include "tensor/tensor.h"

namespace gaze::testing {

// The message of the gaze::Error that `f` throws, or "no error" (and a test failure) when it
// throws none.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a gaze::Error";
  return "no error";
}

// A path in the temporary folder that no other test uses. ctest runs the tests side by side, each
// in its own process, so a fixed name in the shared folder would be written by two at once.
inline std::string test_temp_path(const std::string& name) {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string prefix =
      info ? std::string(info->test_suite_name()) + "." + info->name() + "." : std::string();
  std::replace(prefix.begin(), prefix.end(), '/', '_');
  return (std::filesystem::path(::testing::TempDir()) / (prefix + name)).string();
}

// Uniform values in [lo, hi), reproducible from `seed`.
inline Tensor random_tensor(const Shape& shape, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  Tensor t(shape);
  for (float& v : t.values()) v = dist(rng);
  return t;
}

// Random values at least `margin` away from every point in `kinks` (for ops with corners,
// where a finite difference straddling a corner would be meaningless).
inline Tensor random_away_from(const Shape& shape, uint32_t seed, float lo, float hi,
                               std::initializer_list<float> kinks, float margin) {
  Tensor t = random_tensor(shape, seed, lo, hi);
  for (float& v : t.values()) {
    for (float k : kinks) {
      if (std::abs(v - k) < margin) v = v < k ? k - margin : k + margin;
    }
  }
  return t;
}

// Distinct values (a shuffled ramp with step `step`): no ties, so max pooling has one winner
// per window and a finite difference of size < step/2 never changes it.
inline Tensor distinct_tensor(const Shape& shape, uint32_t seed, float step = 0.05f) {
  Tensor t(shape);
  std::vector<float> v(static_cast<size_t>(t.size()));
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = step * (static_cast<float>(i) - static_cast<float>(v.size()) / 2);
  std::mt19937 rng(seed);
  std::shuffle(v.begin(), v.end(), rng);
  std::copy(v.begin(), v.end(), t.data());
  return t;
}

inline float max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(to_string(a.shape()), to_string(b.shape()));
  if (a.shape() != b.shape()) return INFINITY;
  float m = 0.0f;
  for (int64_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a.data()[i] - b.data()[i]));
  return m;
}

inline float max_abs(const Tensor& a) {
  float m = 0.0f;
  for (float v : a.values()) m = std::max(m, std::abs(v));
  return m;
}

// a and b agree to within tol * (1 + max|b|): float32 sums of K products differ from a naive
// loop by rounding that grows with the magnitude of the values.
#define EXPECT_TENSOR_NEAR(a, b, tol) \
  EXPECT_LE(::gaze::testing::max_abs_diff((a), (b)), (tol) * (1.0f + ::gaze::testing::max_abs(b)))

}  // namespace gaze::testing
