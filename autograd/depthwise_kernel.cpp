// depthwise_kernel.h. The per-pixel loop follows XNNPACK's "unipass" depthwise micro-kernels:
// for each output pixel the kh*kw input pointers are found once (padding taps point at a zero
// row), then every channel block runs all taps with its sums in registers.
#include "autograd/depthwise_kernel.h"

#include <algorithm>
#include <vector>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

namespace gaze {
namespace {

// The epilogue's activation when it is a clamp, max(v, 0) then min(v, hi), done in registers;
// any other activation is applied to the pixel's stored outputs afterwards.
bool is_clamp(const Activation& a) {
  return a.kind == ActivationKind::kRelu && a.negative_slope == 0.0f && a.threshold == 0.0f;
}

struct Epilogue {
  const float* scale;
  const float* bias;
  bool clamp;
  float hi;
};

// Channels [c0, c1) of one output pixel, one channel at a time: the tail of the vector blocks
// (and all of it on machines without AVX2/FMA).
void pixel_scalar(const float* const* taps, int64_t ntaps, const float* kernel, int64_t channels,
                  int64_t c0, int64_t c1, const Epilogue& e, float* o) {
  for (int64_t c = c0; c < c1; ++c) {
    float acc = 0.0f;
    for (int64_t t = 0; t < ntaps; ++t) acc += taps[t][c] * kernel[t * channels + c];
    if (e.scale) acc *= e.scale[c];
    if (e.bias) acc += e.bias[c];
    if (e.clamp) acc = std::min(std::max(acc, 0.0f), e.hi);
    o[c] = acc;
  }
}

#if defined(__AVX2__) && defined(__FMA__)
// Channels [c, c + 8 * B): B independent 8-wide sums, so that the FMAs of consecutive taps
// do not wait on each other's latency.
template <int B>
void pixel_block(const float* const* taps, int64_t ntaps, const float* kernel, int64_t channels,
                 int64_t c, const Epilogue& e, float* o) {
  __m256 acc[B];
  for (int b = 0; b < B; ++b) acc[b] = _mm256_setzero_ps();
  for (int64_t t = 0; t < ntaps; ++t) {
    const float* xi = taps[t] + c;
    const float* ki = kernel + t * channels + c;
    for (int b = 0; b < B; ++b) {
      acc[b] = _mm256_fmadd_ps(_mm256_loadu_ps(xi + 8 * b), _mm256_loadu_ps(ki + 8 * b), acc[b]);
    }
  }
  for (int b = 0; b < B; ++b) {
    __m256 v = acc[b];
    if (e.scale) v = _mm256_mul_ps(v, _mm256_loadu_ps(e.scale + c + 8 * b));
    if (e.bias) v = _mm256_add_ps(v, _mm256_loadu_ps(e.bias + c + 8 * b));
    if (e.clamp) {
      v = _mm256_min_ps(_mm256_max_ps(v, _mm256_setzero_ps()), _mm256_set1_ps(e.hi));
    }
    _mm256_storeu_ps(o + c + 8 * b, v);
  }
}
#endif

void pixel(const float* const* taps, int64_t ntaps, const float* kernel, int64_t channels,
           const Epilogue& e, float* o) {
  int64_t c = 0;
#if defined(__AVX2__) && defined(__FMA__)
  for (; c + 32 <= channels; c += 32) pixel_block<4>(taps, ntaps, kernel, channels, c, e, o);
  for (; c + 8 <= channels; c += 8) pixel_block<1>(taps, ntaps, kernel, channels, c, e, o);
#endif
  pixel_scalar(taps, ntaps, kernel, channels, c, channels, e, o);
}

}  // namespace

void depthwise_forward_m1(const ConvGeometry& g, const float* x, const float* kernel,
                          const float* scale, const float* bias, const Activation& activation,
                          float* out) {
  const Epilogue e{scale, bias, is_clamp(activation), activation.max_value};
  const int64_t ntaps = g.kh * g.kw;
#pragma omp parallel
  {
    const std::vector<float> zeros(static_cast<size_t>(g.c), 0.0f);
    std::vector<const float*> taps(static_cast<size_t>(ntaps));
#pragma omp for collapse(2) schedule(static)
    for (int64_t n = 0; n < g.n; ++n) {
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          for (int64_t ky = 0; ky < g.kh; ++ky) {
            const int64_t iy = g.in_y(oy, ky);
            for (int64_t kx = 0; kx < g.kw; ++kx) {
              const int64_t ix = g.in_x(ox, kx);
              const bool inside = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w;
              taps[static_cast<size_t>(ky * g.kw + kx)] =
                  inside ? x + ((n * g.h + iy) * g.w + ix) * g.c : zeros.data();
            }
          }
          float* o = out + ((n * g.oh + oy) * g.ow + ox) * g.c;
          pixel(taps.data(), ntaps, kernel, g.c, e, o);
          if (!e.clamp) epilogue_row(o, g.c, nullptr, nullptr, activation);
        }
      }
    }
  }
}

}  // namespace gaze
