// gemm_packed, and gemm()'s route to its kernel (B packed per call), against a float64 product.
#include <gtest/gtest.h>
#include <omp.h>

#include <cfloat>
#include <cmath>
#include <string>

#include "tensor/gemm.h"
#include "tensor/tensor.h"
#include "tests/support/test_util.h"

namespace gaze {
namespace {

// The largest error of c [m, n] (leading dimension ldc) against a * b in float64, in units of
// the bound of a sum of k float products taken one after another: k * FLT_EPSILON * sum |a||b|.
// Columns n .. ldc - 1 must be untouched (7).
double worst_error_in_bounds(int64_t m, int64_t n, int64_t k, const Tensor& a, const Tensor& b,
                             const Tensor& c) {
  double worst = 0.0;
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double s = 0.0, magnitude = 0.0;
      for (int64_t p = 0; p < k; ++p) {
        s += static_cast<double>(a.at(i, p)) * b.at(p, j);
        magnitude += std::abs(static_cast<double>(a.at(i, p)) * b.at(p, j));
      }
      const double bound = static_cast<double>(k) * FLT_EPSILON * magnitude + 1e-30;
      worst = std::max(worst, std::abs(c.at(i, j) - s) / bound);
    }
    for (int64_t j = n; j < c.dim(1); ++j) EXPECT_EQ(c.at(i, j), 7.0f) << "column " << j;
  }
  return worst;
}

TEST(PackedGemm, MatchesTheFloat64ProductOnEveryTileShape) {
  // Rows that leave every partial tile (the kernel's tile is 6 or 12 rows) and split both ways
  // between threads (few rows: by panels; 200 and 611: by rows); columns that fill panels of 32
  // partly and wholly; inner dimensions from 1 up; leading dimensions wider than the matrices.
  uint32_t seed = 1;
  for (int64_t m : {1, 5, 7, 11, 12, 13, 64, 200, 611}) {
    for (int64_t n : {1, 17, 32, 33, 100}) {
      for (int64_t k : {1, 9, 300}) {
        SCOPED_TRACE("m " + std::to_string(m) + " n " + std::to_string(n) + " k " +
                     std::to_string(k));
        const int64_t lda = k + 3, ldb = n + 4, ldc = n + 5;
        const Tensor a = testing::random_tensor({m, lda}, seed++);
        const Tensor b = testing::random_tensor({k, ldb}, seed++);
        const PackedMatrix packed(b.data(), k, n, ldb);
        EXPECT_EQ(packed.rows(), k);
        EXPECT_EQ(packed.cols(), n);
        Tensor c = Tensor::full({m, ldc}, 7.0f);
        gemm_packed(m, a.data(), lda, packed, c.data(), ldc);
        EXPECT_LE(worst_error_in_bounds(m, n, k, a, b, c), 1.0);
      }
    }
  }
}

TEST(PackedGemm, GemmPacksPerCallWhereItPaysAndGivesTheSameBits) {
  // From kGemmPacksFromRows rows with a small B, gemm() packs B itself and runs the same kernel:
  // the same bits as gemm_packed on B packed once (what the compiled plan relies on when a
  // sibling group's members run one by one for a gradient), also from inside a parallel region.
  const int64_t m = kGemmPacksFromRows + 7, n = 45, k = 70;
  const Tensor a = testing::random_tensor({m, k}, 11);
  const Tensor b = testing::random_tensor({k, n}, 12);
  Tensor per_call = Tensor::full({m, n}, 7.0f), once = Tensor::full({m, n}, 7.0f);
  gemm(Transpose::kNo, Transpose::kNo, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f,
       per_call.data(), n);
  gemm_packed(m, a.data(), k, PackedMatrix(b.data(), k, n, n), once.data(), n);
  EXPECT_LE(worst_error_in_bounds(m, n, k, a, b, per_call), 1.0);
  for (int64_t i = 0; i < m * n; ++i) ASSERT_EQ(per_call.data()[i], once.data()[i]) << i;

  Tensor nested = Tensor::full({m, n}, 7.0f);
#pragma omp parallel num_threads(2)
  {
#pragma omp single
    gemm(Transpose::kNo, Transpose::kNo, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f,
         nested.data(), n);
  }
  for (int64_t i = 0; i < m * n; ++i) ASSERT_EQ(nested.data()[i], once.data()[i]) << i;
}

TEST(PackedGemm, RefusesAnEmptyOrNarrowMatrix) {
  const Tensor b = testing::random_tensor({4, 8}, 3);
  EXPECT_THROW(PackedMatrix(b.data(), 0, 8, 8), Error);
  EXPECT_THROW(PackedMatrix(b.data(), 4, 8, 7), Error);  // rows narrower than the matrix
}

}  // namespace
}  // namespace gaze
