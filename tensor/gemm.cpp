#include "tensor/gemm.h"

#include <cblas.h>

#include <omp.h>

#include <climits>
#include <cstring>

#include "tensor/error.h"

namespace gaze {

namespace {
blasint to_blas(int64_t v) {
  if (v < 0 || v > INT_MAX) throw Error("gemm: dimension " + std::to_string(v) + " out of range");
  return static_cast<blasint>(v);
}
CBLAS_TRANSPOSE to_cblas(Transpose t) {
  return t == Transpose::kYes ? CblasTrans : CblasNoTrans;
}
}  // namespace

namespace {

// A thin product: few columns (n = 8 x kVectors, up to 32) and a short inner dimension, e.g. the
// first convolution of an RGB image (k = 27, n = 32) or Winograd's products on 32-channel images.
// There OpenBLAS spends more time packing than multiplying; here the whole of b stays in L1, the
// sums of kRows rows stay in vector registers (GCC/Clang vector extension), and each loaded row of
// b serves kRows rows of a.
using Float8 = float __attribute__((vector_size(32)));

template <int kRows, int kVectors>
void thin_rows(int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
               int64_t ldc) {
  Float8 sum[kRows][kVectors] = {};
  for (int64_t p = 0; p < k; ++p) {
    Float8 row[kVectors];
    for (int v = 0; v < kVectors; ++v) std::memcpy(&row[v], b + p * ldb + 8 * v, sizeof row[v]);
    for (int r = 0; r < kRows; ++r) {
      const float x = a[r * lda + p];
      for (int v = 0; v < kVectors; ++v) sum[r][v] += x * row[v];
    }
  }
  for (int r = 0; r < kRows; ++r) {
    for (int v = 0; v < kVectors; ++v) std::memcpy(c + r * ldc + 8 * v, &sum[r][v], sizeof(Float8));
  }
}

template <int kVectors>
void thin_gemm(int64_t m, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
               float* c, int64_t ldc) {
  constexpr int kRows = 4;  // up to 16 sums in registers
  const int64_t blocks = m / kRows;
#pragma omp parallel for if (!omp_in_parallel() && m >= 256)
  for (int64_t i = 0; i < blocks; ++i) {
    thin_rows<kRows, kVectors>(k, a + i * kRows * lda, lda, b, ldb, c + i * kRows * ldc, ldc);
  }
  for (int64_t i = blocks * kRows; i < m; ++i) {
    thin_rows<1, kVectors>(k, a + i * lda, lda, b, ldb, c + i * ldc, ldc);
  }
}

// c = a * b through thin_gemm when the product is thin enough; false otherwise.
bool try_thin_gemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                   int64_t ldb, float* c, int64_t ldc) {
  constexpr int64_t kMaxInner = 64;
  if (k > kMaxInner || n % 8 != 0) return false;
  switch (n / 8) {
    case 1:
      thin_gemm<1>(m, k, a, lda, b, ldb, c, ldc);
      return true;
    case 2:
      thin_gemm<2>(m, k, a, lda, b, ldb, c, ldc);
      return true;
    case 4:
      thin_gemm<4>(m, k, a, lda, b, ldb, c, ldc);
      return true;
    default:
      return false;
  }
}

}  // namespace

void gemm(Transpose trans_a, Transpose trans_b, int64_t m, int64_t n, int64_t k, float alpha,
          const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
          int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (trans_a == Transpose::kNo && trans_b == Transpose::kNo && alpha == 1.0f && beta == 0.0f &&
      try_thin_gemm(m, n, k, a, lda, b, ldb, c, ldc)) {
    return;
  }
  cblas_sgemm(CblasRowMajor, to_cblas(trans_a), to_cblas(trans_b), to_blas(m), to_blas(n),
              to_blas(k), alpha, a, to_blas(lda), b, to_blas(ldb), beta, c, to_blas(ldc));
}

void set_blas_threads(int threads) {
  openblas_set_num_threads(threads);
}

}  // namespace gaze
