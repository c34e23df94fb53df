// The one place gaze calls BLAS: C = alpha * op(A) * op(B) + beta * C, row-major, float32.
// op(X) is X or its transpose. A is M x K after op, B is K x N after op, C is M x N.
// Thin products C = A * B (N = 8, 16 or 32 and K <= 64) run gaze's own register-blocked loop
// instead, which is faster there: OpenBLAS's packing costs more than such a product.
#pragma once

#include <cstdint>

namespace gaze {

enum class Transpose { kNo, kYes };

void gemm(Transpose trans_a, Transpose trans_b, int64_t m, int64_t n, int64_t k, float alpha,
          const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
          int64_t ldc);

// Threads OpenBLAS (and, in its OpenMP build, gaze's own loops) use.
void set_blas_threads(int threads);

}  // namespace gaze
