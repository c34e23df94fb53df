#include "tensor/gemm.h"

#include <cblas.h>

#include <climits>

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

void gemm(Transpose trans_a, Transpose trans_b, int64_t m, int64_t n, int64_t k, float alpha,
          const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
          int64_t ldc) {
  if (m == 0 || n == 0) return;
  cblas_sgemm(CblasRowMajor, to_cblas(trans_a), to_cblas(trans_b), to_blas(m), to_blas(n),
              to_blas(k), alpha, a, to_blas(lda), b, to_blas(ldb), beta, c, to_blas(ldc));
}

void set_blas_threads(int threads) {
  openblas_set_num_threads(threads);
}

}  // namespace gaze
