// The one place gaze calls BLAS: C = alpha * op(A) * op(B) + beta * C, row-major, float32.
// op(X) is X or its transpose. A is M x K after op, B is K x N after op, C is M x N.
// Thin products C = A * B (N = 8, 16 or 32 and K <= 64) run gaze's own register-blocked loop
// instead, which is faster there: OpenBLAS's packing costs more than such a product. So do
// products C = A * B of many rows and a small B (gemm_packed's kernel, B packed per call).
#pragma once

#include <cstdint>
#include <vector>

namespace gaze {

enum class Transpose { kNo, kYes };

void gemm(Transpose trans_a, Transpose trans_b, int64_t m, int64_t n, int64_t k, float alpha,
          const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
          int64_t ldc);

// Where gemm() packs B itself and runs gemm_packed's kernel: from this many rows of A, for a B of
// up to so many elements. Measured on AVX-512 against OpenBLAS 0.3.21 on InceptionV3's,
// ResNet50's and MobileNetV2's shapes: 0.4-0.8 of its time from 784 rows with B up to 128 Ki
// floats; 1.0-1.3 at 196-289 rows, where packing B costs as much as the product; 1.3 on a
// 2048^3 product, which OpenBLAS's blocking for L2 and L3 runs better.
constexpr int64_t kGemmPacksFromRows = 512;
constexpr int64_t kGemmPacksUpToElements = int64_t{128} << 10;

// B [k, n] packed once for gemm_packed: its columns in panels of kPanelColumns, each panel's
// rows one after the other (the last panel padded with zeros). A convolution's kernel is packed
// so by the compiled plan (layers/plan.h), which then multiplies by it with no packing per call.
class PackedMatrix {
 public:
  static constexpr int64_t kPanelColumns = 32;
  PackedMatrix(const float* b, int64_t k, int64_t n, int64_t ldb);
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  int64_t panels() const { return (cols_ + kPanelColumns - 1) / kPanelColumns; }
  const float* panel(int64_t q) const { return data_.data() + q * rows_ * kPanelColumns; }

 private:
  int64_t rows_, cols_;
  std::vector<float> data_;
};

// C [m, n] = A [m, k] * B, row-major, with B packed (k = b.rows(), n = b.cols()); on gaze's own
// register-tiled kernel, parallel over rows or, for few rows, over panels.
void gemm_packed(int64_t m, const float* a, int64_t lda, const PackedMatrix& b, float* c,
                 int64_t ldc);

// Threads OpenBLAS (and, in its OpenMP build, gaze's own loops) use.
void set_blas_threads(int threads);

}  // namespace gaze
