// conv2d's fast forward path for stride-1 kernels: Winograd's minimal filtering algorithm
// (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016), in NHWC.
//
// One axis F(m, r) computes m outputs of an r-tap correlation from n = m + r - 1 inputs with n
// multiplies instead of m*r: y = AT [(G g) . (BT d)]. Both axes together, per tile and channel
// pair:  Y = ATh [(Gh K Gw^T) . (BTh D BTw^T)] ATw^T.  Summed over input channels, the middle
// product is, for each of the nh*nw positions xi of the transformed tile, one matrix product
//   M_xi[tiles, Cout] = V_xi[tiles, Cin] * U_xi[Cin, Cout]
// so a convolution becomes: transform the input tiles (V), nh*nw GEMMs, transform back (Y).
// U is the kernel transformed once (winograd_kernel), so the GEMMs do 1/(mh*mw*kh*kw/(nh*nw))
// of im2col's multiplies: 4x fewer for 3x3 with 4x4 tiles.
//
// The matrices are built by Cook-Toom's construction from the points 0, 1, -1, 2, -2, 1/2, -1/2,
// 3/2, -3/2 (and infinity), in double precision; small points keep float32 rounding low (the
// transforms' coefficients grow with the points' powers).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "autograd/op_helpers.h"
#include "autograd/ops.h"
#include "tensor/gemm.h"

namespace gaze {

// One nonzero coefficient of a transform row: the transforms are sparse, and the inner loops
// run over channels, so each row is applied as a list of (index, coefficient) terms.
struct WinogradTerm {
  int64_t index;
  float coef;
};
using SparseRows = std::vector<std::vector<WinogradTerm>>;

// F(m, r) along one axis. r = 1 (a kernel row or column of size 1) is the identity with m = 1.
// Made once with the transformed kernel (WinogradKernel::axis_h, axis_w).
struct WinogradAxis {
  int64_t m = 1, r = 1, n = 1;
  std::vector<double> g;  // n x r: filter transform
  SparseRows bt;          // n rows over n inputs: input transform
  SparseRows at;          // m rows over n products: output transform
};

namespace {

using Term = WinogradTerm;
using Axis = WinogradAxis;

constexpr std::array<double, 9> kPoints = {0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 1.5, -1.5};

// Coefficients (lowest power first) of the product of (x - p) over the points but `skip`.
std::vector<double> product_except(const std::vector<double>& points, size_t skip) {
  std::vector<double> c = {1.0};
  for (size_t l = 0; l < points.size(); ++l) {
    if (l == skip) continue;
    std::vector<double> next(c.size() + 1, 0.0);
    for (size_t i = 0; i < c.size(); ++i) {
      next[i + 1] += c[i];
      next[i] -= points[l] * c[i];
    }
    c = next;
  }
  return c;
}

SparseRows sparse(const std::vector<double>& dense, int64_t rows, int64_t cols) {
  SparseRows out(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) {
      const double v = dense[static_cast<size_t>(i * cols + j)];
      if (v != 0.0) out[static_cast<size_t>(i)].push_back({j, static_cast<float>(v)});
    }
  }
  return out;
}

// Cook-Toom: with finite points a_j (j < n-1) and infinity, for the correlation of d (n) and g
// (r) into y (m), the transposed linear-convolution algorithm gives
//   AT[i][j] = a_j^i,   G[j][k] = a_j^k / prod_{l!=j}(a_j - a_l),
//   BT row j = coefficients of prod_{l!=j}(x - a_l),
// and for the point at infinity AT[m-1][n-1] = 1, G[n-1][r-1] = 1, BT row n-1 = coefficients
// of prod_l (x - a_l). tests/autograd/conv_winograd_test.cpp checks it against direct sums.
Axis make_axis(int64_t m, int64_t r) {
  Axis a;
  a.m = m;
  a.r = r;
  a.n = m + r - 1;
  const auto n = static_cast<size_t>(a.n);
  if (a.n == 1) {
    a.g = {1.0};
    a.bt = {{{0, 1.0f}}};
    a.at = {{{0, 1.0f}}};
    return a;
  }
  const std::vector<double> points(kPoints.begin(), kPoints.begin() + static_cast<int64_t>(n - 1));
  std::vector<double> at(static_cast<size_t>(m) * n, 0.0), bt(n * n, 0.0);
  a.g.assign(n * static_cast<size_t>(r), 0.0);
  for (size_t j = 0; j + 1 < n; ++j) {
    double f = 1.0;
    for (size_t l = 0; l + 1 < n; ++l) {
      if (l != j) f *= points[j] - points[l];
    }
    double power = 1.0;
    for (int64_t i = 0; i < std::max(m, r); ++i, power *= points[j]) {
      if (i < m) at[static_cast<size_t>(i) * n + j] = power;
      if (i < r) a.g[j * static_cast<size_t>(r) + static_cast<size_t>(i)] = power / f;
    }
    const std::vector<double> row = product_except(points, j);
    std::copy(row.begin(), row.end(), bt.begin() + static_cast<int64_t>(j * n));
  }
  at[static_cast<size_t>(m) * n - 1] = 1.0;
  a.g[n * static_cast<size_t>(r) - 1] = 1.0;
  const std::vector<double> full = product_except(points, points.size());
  std::copy(full.begin(), full.end(), bt.begin() + static_cast<int64_t>((n - 1) * n));
  a.bt = sparse(bt, a.n, a.n);
  a.at = sparse(at, m, a.n);
  return a;
}

// (G^T G)^-1 G^T for G [n x r] of full column rank: the left inverse that undoes the filter
// transform, by Gauss-Jordan elimination on G^T G (r <= 7) with partial pivoting.
std::vector<double> left_inverse(const std::vector<double>& g, int64_t n, int64_t r) {
  const auto R = static_cast<size_t>(r), N = static_cast<size_t>(n);
  std::vector<double> a(R * 2 * R, 0.0);  // [G^T G | I]
  for (size_t i = 0; i < R; ++i) {
    for (size_t j = 0; j < R; ++j) {
      for (size_t k = 0; k < N; ++k) a[i * 2 * R + j] += g[k * R + i] * g[k * R + j];
    }
    a[i * 2 * R + R + i] = 1.0;
  }
  for (size_t col = 0; col < R; ++col) {
    size_t pivot = col;
    for (size_t i = col + 1; i < R; ++i) {
      if (std::abs(a[i * 2 * R + col]) > std::abs(a[pivot * 2 * R + col])) pivot = i;
    }
    for (size_t j = 0; j < 2 * R; ++j) std::swap(a[col * 2 * R + j], a[pivot * 2 * R + j]);
    const double p = a[col * 2 * R + col];
    for (size_t j = 0; j < 2 * R; ++j) a[col * 2 * R + j] /= p;
    for (size_t i = 0; i < R; ++i) {
      if (i == col) continue;
      const double f = a[i * 2 * R + col];
      for (size_t j = 0; j < 2 * R; ++j) a[i * 2 * R + j] -= f * a[col * 2 * R + j];
    }
  }
  std::vector<double> out(R * N, 0.0);  // (G^T G)^-1 G^T
  for (size_t i = 0; i < R; ++i) {
    for (size_t k = 0; k < N; ++k) {
      for (size_t j = 0; j < R; ++j) out[i * N + k] += a[i * 2 * R + R + j] * g[k * R + j];
    }
  }
  return out;
}

// out[(i, j)] = sum over (a, b) of left[i][a] * right[j][b] * in[(a, b)], where each (i, j) or
// (a, b) entry is a plane of `plane` floats: the separable 2-D transform of the kernel, in double.
void transform_planes(const std::vector<double>& left, int64_t rows_l, int64_t cols_l,
                      const std::vector<double>& right, int64_t rows_r, int64_t cols_r,
                      const float* in, int64_t plane, float* out) {
  std::vector<double> acc(static_cast<size_t>(plane));
  for (int64_t i = 0; i < rows_l; ++i) {
    for (int64_t j = 0; j < rows_r; ++j) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t a = 0; a < cols_l; ++a) {
        for (int64_t b = 0; b < cols_r; ++b) {
          const double coef = left[static_cast<size_t>(i * cols_l + a)] *
                              right[static_cast<size_t>(j * cols_r + b)];
          if (coef == 0.0) continue;
          const float* src = in + (a * cols_r + b) * plane;
          for (int64_t e = 0; e < plane; ++e) acc[static_cast<size_t>(e)] += coef * src[e];
        }
      }
      float* dst = out + (i * rows_r + j) * plane;
      for (int64_t e = 0; e < plane; ++e) dst[e] = static_cast<float>(acc[static_cast<size_t>(e)]);
    }
  }
}

// dst[0, len) = sum over terms of coef * src[index * stride + (0, len)], with the sums in vector
// registers (GCC/Clang vector extension): kVectors x 8 channels per pass over the terms, so that
// decoding the terms costs little next to the loads and multiply-adds, and each sum is stored once.
using Float8 = float __attribute__((vector_size(32)));

template <int kVectors>
void combine_vectors(const std::vector<Term>& terms, const float* src, int64_t stride, float* dst) {
  Float8 sum[kVectors] = {};
  for (const Term& t : terms) {
    const float* s = src + t.index * stride;
    for (int v = 0; v < kVectors; ++v) {
      Float8 x;
      std::memcpy(&x, s + 8 * v, sizeof x);
      sum[v] += t.coef * x;
    }
  }
  for (int v = 0; v < kVectors; ++v) std::memcpy(dst + 8 * v, &sum[v], sizeof sum[v]);
}

void combine(const std::vector<Term>& terms, const float* src, int64_t stride, int64_t len,
             float* dst) {
  int64_t c = 0;
  for (; c + 64 <= len; c += 64) combine_vectors<8>(terms, src + c, stride, dst + c);
  if (c + 32 <= len) combine_vectors<4>(terms, src + c, stride, dst + c), c += 32;
  if (c + 16 <= len) combine_vectors<2>(terms, src + c, stride, dst + c), c += 16;
  if (c + 8 <= len) combine_vectors<1>(terms, src + c, stride, dst + c), c += 8;
  for (; c < len; ++c) {
    float sum = 0.0f;
    for (const Term& t : terms) sum += t.coef * src[t.index * stride + c];
    dst[c] = sum;
  }
}

constexpr int64_t kChannelBlock = 64;  // channels transformed together

struct Plan {
  const ConvGeometry& g;
  const WinogradKernel& wk;
  const Axis& ah;
  const Axis& aw;
  int64_t positions = 0, tiles_h = 0, tiles_w = 0;
  int64_t chunk = 0;  // tiles per chunk: V and M hold [positions][chunk][channels]

  // Image and top-left output pixel of tile t (image, tile row, tile column order).
  void tile(int64_t t, int64_t* img, int64_t* oy, int64_t* ox) const {
    *img = t / (tiles_h * tiles_w);
    const int64_t in_img = t % (tiles_h * tiles_w);
    *oy = in_img / tiles_w * wk.mh;
    *ox = in_img % tiles_w * wk.mw;
  }
};

// V[xi][t - first][c] of tile t, from the input (read in place when the tile lies inside the
// image, through the zero-padded copy d otherwise).
void transform_input(const Plan& p, const float* x, int64_t t, int64_t first, float* v, float* d,
                     float* tmp) {
  const ConvGeometry& g = p.g;
  const int64_t nh = p.ah.n, nw = p.aw.n;
  int64_t img = 0, y0 = 0, x0 = 0;
  p.tile(t, &img, &y0, &x0);
  y0 -= g.pad_top;
  x0 -= g.pad_left;
  const float* image = x + img * g.h * g.w * g.c;
  const bool inside = y0 >= 0 && x0 >= 0 && y0 + nh <= g.h && x0 + nw <= g.w;
  for (int64_t c0 = 0; c0 < g.c; c0 += kChannelBlock) {
    const int64_t cb = std::min(kChannelBlock, g.c - c0);
    const float* src = image + (y0 * g.w + x0) * g.c + c0;
    int64_t row_stride = g.w * g.c, col_stride = g.c;
    if (!inside) {
      for (int64_t a = 0; a < nh; ++a) {
        for (int64_t b = 0; b < nw; ++b) {
          float* dst = d + (a * nw + b) * cb;
          const int64_t iy = y0 + a, ix = x0 + b;
          if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) {
            std::fill(dst, dst + cb, 0.0f);
          } else {
            std::copy_n(image + (iy * g.w + ix) * g.c + c0, cb, dst);
          }
        }
      }
      src = d;
      row_stride = nw * cb;
      col_stride = cb;
    }
    for (int64_t i = 0; i < nh; ++i) {  // BTh D, then (.) BTw^T
      for (int64_t b = 0; b < nw; ++b) {
        combine(p.ah.bt[static_cast<size_t>(i)], src + b * col_stride, row_stride, cb,
                tmp + (i * nw + b) * cb);
      }
      for (int64_t j = 0; j < nw; ++j) {
        float* dst = v + ((i * nw + j) * p.chunk + (t - first)) * g.c + c0;
        combine(p.aw.bt[static_cast<size_t>(j)], tmp + i * nw * cb, cb, cb, dst);
      }
    }
  }
}

// The outputs of tile t from M[xi][t - first][k], with the epilogue (scale, bias, activation).
void transform_output(const Plan& p, const float* mm, int64_t t, int64_t first, const float* bias,
                      const float* scale, const ConvOptions& options, float* out, float* tmp,
                      float* y) {
  const ConvGeometry& g = p.g;
  const int64_t nw = p.aw.n, cout = p.wk.cout;
  const int64_t xi_stride = p.chunk * cout;
  int64_t img = 0, oy0 = 0, ox0 = 0;
  p.tile(t, &img, &oy0, &ox0);
  const int64_t rows = std::min(p.wk.mh, g.oh - oy0), cols = std::min(p.wk.mw, g.ow - ox0);
  const float* src = mm + (t - first) * cout;
  for (int64_t k0 = 0; k0 < cout; k0 += kChannelBlock) {
    const int64_t kb = std::min(kChannelBlock, cout - k0);
    for (int64_t i = 0; i < rows; ++i) {  // ATh M, then (.) ATw^T
      for (int64_t b = 0; b < nw; ++b) {
        combine(p.ah.at[static_cast<size_t>(i)], src + b * xi_stride + k0, nw * xi_stride, kb,
                tmp + b * kb);
      }
      for (int64_t j = 0; j < cols; ++j) {
        combine(p.aw.at[static_cast<size_t>(j)], tmp, kb, kb, y);
        epilogue_row(y, kb, scale ? scale + k0 : nullptr, bias ? bias + k0 : nullptr,
                     options.activation);
        std::copy_n(y, kb, out + ((img * g.oh + oy0 + i) * g.ow + ox0 + j) * cout + k0);
      }
    }
  }
}

// Floats V and M of one chunk of tiles may hold (8 MiB): chunks large enough that each GEMM packs
// its transformed kernel U_xi for many tiles, small enough to stay in the last-level cache.
constexpr int64_t kChunkFloats = int64_t{2} << 20;

}  // namespace

std::shared_ptr<const WinogradKernel> winograd_kernel(const Tensor& kernel, int64_t mh,
                                                      int64_t mw) {
  if (kernel.rank() != 4) {
    throw Error("winograd_kernel: kernel must be [kh, kw, in, out], got " +
                to_string(kernel.shape()));
  }
  const int64_t kh = kernel.dim(0), kw = kernel.dim(1), cin = kernel.dim(2), cout = kernel.dim(3);
  auto fits = [](int64_t m, int64_t r) {
    return m >= 1 && (r > 1 || m == 1) && m + r - 1 <= static_cast<int64_t>(kPoints.size()) + 1;
  };
  if (!fits(mh, kh) || !fits(mw, kw)) {
    throw Error("winograd_kernel: no " + std::to_string(mh) + "x" + std::to_string(mw) +
                " tile for a " + std::to_string(kh) + "x" + std::to_string(kw) + " kernel");
  }
  auto ah = std::make_shared<const Axis>(make_axis(mh, kh));
  auto aw = std::make_shared<const Axis>(make_axis(mw, kw));
  auto wk = std::make_shared<WinogradKernel>();
  wk->kh = kh;
  wk->kw = kw;
  wk->cin = cin;
  wk->cout = cout;
  wk->mh = mh;
  wk->mw = mw;
  wk->u = Tensor({ah->n * aw->n, cin, cout});
  // U_xi = sum over kernel taps of Gh[i][a] Gw[j][b] K[a][b], accumulated in double.
  transform_planes(ah->g, ah->n, kh, aw->g, aw->n, kw, kernel.data(), cin * cout, wk->u.data());
  wk->axis_h = std::move(ah);
  wk->axis_w = std::move(aw);
  return wk;
}

Tensor kernel_from_winograd(const WinogradKernel& wk) {
  const Axis &ah = *wk.axis_h, &aw = *wk.axis_w;
  Tensor kernel({wk.kh, wk.kw, wk.cin, wk.cout});
  transform_planes(left_inverse(ah.g, ah.n, wk.kh), wk.kh, ah.n, left_inverse(aw.g, aw.n, wk.kw),
                   wk.kw, aw.n, wk.u.data(), wk.cin * wk.cout, kernel.data());
  return kernel;
}

std::pair<int64_t, int64_t> winograd_tile(int64_t kh, int64_t kw) {
  // The largest tiles whose float32 rounding stays far below 1e-4 of a Grad-CAM map (checked
  // against PyTorch in float64 by tests/cam/torch_reference_test.cpp): 1x4 tiles for 1x7 kernels
  // would need the points +-3/2 and give 3e-4 at mixed7, 1x3 tiles 5e-4; 1x2 tiles give 8e-6.
  auto tile = [](int64_t r) -> int64_t {
    switch (r) {
      case 1:
        return 1;
      case 3:
        return 4;
      case 5:
        return 2;
      case 7:
        return 2;
      default:
        return 0;
    }
  };
  const int64_t mh = tile(kh), mw = tile(kw);
  if (mh == 0 || mw == 0 || (kh == 1 && kw == 1)) return {0, 0};
  return {mh, mw};  // 2-D tiles for square kernels; a 1-D kernel transforms along its long axis
}

std::shared_ptr<const WinogradKernel> winograd_kernel(const Tensor& kernel) {
  if (kernel.rank() != 4) return winograd_kernel(kernel, 1, 1);  // throws the shape error
  const auto [mh, mw] = winograd_tile(kernel.dim(0), kernel.dim(1));
  if (mh == 0) return nullptr;
  return winograd_kernel(kernel, mh, mw);
}

Tensor conv2d_winograd_forward(const ConvGeometry& g, const Tensor& x, const WinogradKernel& wk,
                               const Tensor& bias, const ConvOptions& options) {
  Plan p{g, wk, *wk.axis_h, *wk.axis_w};
  p.positions = p.ah.n * p.aw.n;
  p.tiles_h = (g.oh + wk.mh - 1) / wk.mh;
  p.tiles_w = (g.ow + wk.mw - 1) / wk.mw;
  const int64_t tiles = g.n * p.tiles_h * p.tiles_w;
  // Equal chunks, none larger than the cache budget.
  const int64_t most = std::max<int64_t>(1, kChunkFloats / (p.positions * (g.c + wk.cout)));
  const int64_t chunks = (tiles + most - 1) / most;
  p.chunk = (tiles + chunks - 1) / chunks;
  Tensor out({g.n, g.oh, g.ow, wk.cout});
  const float* b = bias.defined() ? bias.data() : nullptr;
  const float* u = wk.u.data();
  const int64_t floats = p.positions * p.chunk * (g.c + wk.cout);
  Tensor local;
  float* v = options.workspace ? options.workspace->get(floats) : (local = Tensor({floats})).data();
  float* mm = v + p.positions * p.chunk * g.c;
  const auto scratch = static_cast<size_t>(p.positions * kChannelBlock);
  // Three parallel passes per chunk: tiles in, one GEMM per position (each on one thread:
  // OpenBLAS does not nest inside OpenMP, and a whole GEMM per thread packs U_xi once), tiles out.
  for (int64_t first = 0; first < tiles; first += p.chunk) {
    const int64_t last = std::min(tiles, first + p.chunk), count = last - first;
#pragma omp parallel
    {
      std::vector<float> d(scratch), tmp(scratch);
#pragma omp for schedule(static)
      for (int64_t t = first; t < last; ++t) {
        transform_input(p, x.data(), t, first, v, d.data(), tmp.data());
      }
#pragma omp for schedule(dynamic)
      for (int64_t xi = 0; xi < p.positions; ++xi) {
        gemm(Transpose::kNo, Transpose::kNo, count, wk.cout, g.c, 1.0f, v + xi * p.chunk * g.c, g.c,
             u + xi * g.c * wk.cout, wk.cout, 0.0f, mm + xi * p.chunk * wk.cout, wk.cout);
      }
#pragma omp for schedule(static)
      for (int64_t t = first; t < last; ++t) {
        transform_output(p, mm, t, first, b,
                         options.scale.defined() ? options.scale.data() : nullptr, options,
                         out.data(), tmp.data(), d.data());
      }
    }
  }
  return out;
}

}  // namespace gaze
