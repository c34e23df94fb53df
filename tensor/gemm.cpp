#include "tensor/gemm.h"

#include <cblas.h>

#include <omp.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <memory>

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

// ---- gaze's own GEMM on a packed B: C [m, n] = A [m, k] * B [k, n] ----
//
// OpenBLAS packs both operands again on every call, per thread and per block; on the thin
// products of a convolution (64 to 1225 pixels against K up to 2048) that is a third of the
// time. Here B, the kernel, is packed once (PackedMatrix: the compiled plan's) or, where A has
// many rows and B is small, per call by gemm(); A is read where it lies, as XNNPACK's GEMMs do.
// A tile of kTileRows rows of C by one panel of kPanelColumns columns keeps its sums in vector
// registers while k runs, each loaded row of the panel serving kTileRows rows of A.
namespace {

constexpr int64_t kPanel = PackedMatrix::kPanelColumns;
#ifdef __AVX512F__
constexpr int kLanes = 16;     // floats per vector register
constexpr int kTileRows = 12;  // 12 x 2 sums + 2 panel vectors + 1 broadcast of 32 registers
#else
constexpr int kLanes = 8;     // AVX2's 256 bits (without AVX, the compiler splits each in two)
constexpr int kTileRows = 3;  // 3 x 4 sums + 4 panel vectors of 16 registers
#endif
constexpr int kVectors = static_cast<int>(kPanel) / kLanes;  // vectors per panel row
using Vector = float __attribute__((vector_size(kLanes * sizeof(float))));
static_assert(kVectors * kLanes == kPanel);

// c [rows, cols] = a [rows, k] * panel [k, kPanel] (the first `cols` columns of it).
template <int kRows>
void panel_tile(int64_t k, const float* a, int64_t lda, const float* panel, float* c, int64_t ldc,
                int64_t cols) {
  Vector sums[kRows][kVectors] = {};
  for (int64_t p = 0; p < k; ++p) {
    // The panel comes from memory on its first use (a model's kernels do not stay in cache
    // between passes): ask for it 32 rows ahead (measured: 8 and 32 gain alike, 0.2 ms on
    // InceptionV3's widest GEMM at 8x8 pixels).
    __builtin_prefetch(panel + (p + 32) * kPanel);
    __builtin_prefetch(panel + (p + 32) * kPanel + 16);
    Vector row[kVectors];
    for (int v = 0; v < kVectors; ++v)
      std::memcpy(&row[v], panel + p * kPanel + v * kLanes, sizeof(Vector));
    for (int r = 0; r < kRows; ++r) {
      const float x = a[r * lda + p];
      for (int v = 0; v < kVectors; ++v) sums[r][v] += x * row[v];
    }
  }
  for (int r = 0; r < kRows; ++r) {
    float out[kPanel];
    std::memcpy(out, sums[r], sizeof out);
    std::memcpy(c + r * ldc, out, static_cast<size_t>(cols) * sizeof(float));
  }
}

// panel_tile for the last, shorter block of rows (1 .. kTileRows - 1 of them).
template <int kRows>
void short_tile(int64_t rows, int64_t k, const float* a, int64_t lda, const float* panel, float* c,
                int64_t ldc, int64_t cols) {
  if constexpr (kRows > 0) {
    if (rows == kRows) return panel_tile<kRows>(k, a, lda, panel, c, ldc, cols);
    short_tile<kRows - 1>(rows, k, a, lda, panel, c, ldc, cols);
  }
}

// Rows [first_block, last_block) x kTileRows of C, the columns of panel q.
void panel_rows(int64_t m, int64_t k, const float* a, int64_t lda, const float* panel, int64_t q,
                int64_t n, float* c, int64_t ldc, int64_t first_block, int64_t last_block) {
  const int64_t cols = std::min(kPanel, n - q * kPanel);
  for (int64_t blk = first_block; blk < last_block; ++blk) {
    const int64_t r0 = blk * kTileRows, rows = std::min<int64_t>(kTileRows, m - r0);
    float* out = c + r0 * ldc + q * kPanel;
    if (rows == kTileRows)
      panel_tile<kTileRows>(k, a + r0 * lda, lda, panel, out, ldc, cols);
    else
      short_tile<kTileRows - 1>(rows, k, a + r0 * lda, lda, panel, out, ldc, cols);
  }
}

void pack_panel(const float* b, int64_t k, int64_t n, int64_t ldb, int64_t q, float* panel) {
  const int64_t c0 = q * kPanel, cols = std::min(kPanel, n - c0);
  for (int64_t p = 0; p < k; ++p) {
    float* row = panel + p * kPanel;
    std::memcpy(row, b + p * ldb + c0, static_cast<size_t>(cols) * sizeof(float));
    std::fill(row + cols, row + kPanel, 0.0f);
  }
}

// The rows of A a thread keeps in its L2 while it runs them against every panel (256 KiB).
int64_t blocks_per_group(int64_t k) {
  constexpr int64_t kGroupBytes = int64_t{256} << 10;
  return std::max<int64_t>(1, kGroupBytes / (k * kTileRows * static_cast<int64_t>(sizeof(float))));
}

// Splits the work between the threads: with enough rows each takes a contiguous share of the
// row blocks (in groups that stay in L2, each group against every panel); with few rows, as at
// 8x8 pixels, each takes a share of the panels against all rows. `panel_of(q)` gives the panel.
template <typename PanelOf>
void run_tiles(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, float* c, int64_t ldc,
               bool by_rows, const PanelOf& panel_of) {
  const int64_t blocks = (m + kTileRows - 1) / kTileRows;
  const int64_t panels = (n + kPanel - 1) / kPanel;
  const int64_t group = blocks_per_group(k);
  const int64_t t = omp_get_thread_num(), threads = omp_get_num_threads();
  if (by_rows) {
    const int64_t first = blocks * t / threads, last = blocks * (t + 1) / threads;
    for (int64_t g = first; g < last; g += group) {
      for (int64_t q = 0; q < panels; ++q)
        panel_rows(m, k, a, lda, panel_of(q), q, n, c, ldc, g, std::min(last, g + group));
    }
  } else {
    for (int64_t q = panels * t / threads; q < panels * (t + 1) / threads; ++q)
      panel_rows(m, k, a, lda, panel_of(q), q, n, c, ldc, 0, blocks);
  }
}

bool split_by_rows(int64_t m, int threads) {
  return (m + kTileRows - 1) / kTileRows >= 4 * int64_t{threads};
}

}  // namespace

PackedMatrix::PackedMatrix(const float* b, int64_t k, int64_t n, int64_t ldb) : rows_(k), cols_(n) {
  if (k < 1 || n < 1 || ldb < n) throw Error("PackedMatrix: bad shape");
  data_.resize(static_cast<size_t>(panels() * k * kPanel));
  for (int64_t q = 0; q < panels(); ++q) pack_panel(b, k, n, ldb, q, data_.data() + q * k * kPanel);
}

void gemm_packed(int64_t m, const float* a, int64_t lda, const PackedMatrix& b, float* c,
                 int64_t ldc) {
  if (m == 0) return;
  const bool in_parallel = omp_in_parallel() != 0;
  const int64_t k = b.rows();
#pragma omp parallel if (!in_parallel)
  {
    const bool by_rows = split_by_rows(m, omp_get_num_threads());
    run_tiles(m, b.cols(), k, a, lda, c, ldc, by_rows, [&](int64_t q) { return b.panel(q); });
  }
}

void gemm(Transpose trans_a, Transpose trans_b, int64_t m, int64_t n, int64_t k, float alpha,
          const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
          int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (trans_a == Transpose::kNo && trans_b == Transpose::kNo && alpha == 1.0f && beta == 0.0f &&
      try_thin_gemm(m, n, k, a, lda, b, ldb, c, ldc)) {
    return;
  }
  if (trans_a == Transpose::kNo && trans_b == Transpose::kNo && alpha == 1.0f && beta == 0.0f &&
      m >= kGemmPacksFromRows && n * k <= kGemmPacksUpToElements) {
    gemm_packed(m, a, lda, PackedMatrix(b, k, n, ldb), c, ldc);  // B packed for this call
    return;
  }
  cblas_sgemm(CblasRowMajor, to_cblas(trans_a), to_cblas(trans_b), to_blas(m), to_blas(n),
              to_blas(k), alpha, a, to_blas(lda), b, to_blas(ldb), beta, c, to_blas(ldc));
}

void set_blas_threads(int threads) {
  openblas_set_num_threads(threads);
}

}  // namespace gaze
