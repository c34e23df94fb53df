// conv2d: forward by im2col + GEMM, backward by GEMM + col2im.
//
// With the Keras kernel layout [kh, kw, Cin, Cout], the kernel is already the matrix
// [kh*kw*Cin, Cout]; an im2col row holds one output pixel's receptive field in (ky, kx, ci) order,
// so out[pixels, Cout] = cols[pixels, kh*kw*Cin] * kernel. A 1x1 stride-1 convolution needs no
// im2col: NHWC input is already the matrix [N*H*W, Cin].
#include <algorithm>
#include <cstring>

#include "autograd/op_helpers.h"
#include "autograd/ops.h"
#include "tensor/gemm.h"

namespace gaze {
namespace {

bool is_pointwise(const ConvGeometry& g, int64_t groups) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && groups == 1;
}

// cols[count, kh*kw*cg]: the receptive fields of output pixels first .. first+count-1 (row-major
// over oh x ow) of one image, in input channels c0 .. c0+cg-1 (one group's), zeros where they
// reach into the padding.
void im2col(const ConvGeometry& g, const float* x, float* cols, int64_t first, int64_t count,
            int64_t c0, int64_t cg) {
  const int64_t row = g.kh * g.kw * cg;
#pragma omp parallel for
  for (int64_t p = first; p < first + count; ++p) {
    const int64_t oy = p / g.ow, ox = p % g.ow;
    float* dst = cols + (p - first) * row;
    for (int64_t ky = 0; ky < g.kh; ++ky) {
      const int64_t iy = g.in_y(oy, ky);
      for (int64_t kx = 0; kx < g.kw; ++kx, dst += cg) {
        const int64_t ix = g.in_x(ox, kx);
        if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) {
          std::fill(dst, dst + cg, 0.0f);
        } else {
          std::memcpy(dst, x + (iy * g.w + ix) * g.c + c0, sizeof(float) * static_cast<size_t>(cg));
        }
      }
    }
  }
}

// dx (one image, channels c0 .. c0+cg-1) += the scatter of dcols: the adjoint of im2col.
void col2im(const ConvGeometry& g, const float* dcols, float* dx, int64_t c0, int64_t cg) {
  const int64_t row = g.kh * g.kw * cg;
  for (int64_t oy = 0; oy < g.oh; ++oy) {
    for (int64_t ox = 0; ox < g.ow; ++ox) {
      const float* src = dcols + (oy * g.ow + ox) * row;
      for (int64_t ky = 0; ky < g.kh; ++ky) {
        const int64_t iy = g.in_y(oy, ky);
        for (int64_t kx = 0; kx < g.kw; ++kx, src += cg) {
          const int64_t ix = g.in_x(ox, kx);
          if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
          float* dst = dx + (iy * g.w + ix) * g.c + c0;
          for (int64_t ci = 0; ci < cg; ++ci) dst[ci] += src[ci];
        }
      }
    }
  }
}

constexpr int64_t kColumnFloats = int64_t{512} << 10;  // 2 MiB of im2col columns per chunk

// With groups, group j is the GEMM of its input channels' columns [pixels, kh*kw*cg] with the
// kernel's columns j*og .. j*og+og-1 (the kernel [kh, kw, cg, cout] is the matrix [kh*kw*cg,
// cout]), written to the same columns of the output.
Tensor conv2d_forward(const ConvGeometry& g, const Tensor& x, const Tensor& kernel,
                      const Tensor& bias, const ConvOptions& options) {
  const PackedMatrix* packed = options.packed.get();
  const int64_t cout = packed ? packed->cols() : kernel.dim(3), groups = options.groups;
  const int64_t cg = g.c / groups, og = cout / groups;
  const int64_t k = g.kh * g.kw * cg;
  Tensor out({g.n, g.oh, g.ow, cout});
  if (packed && (groups != 1 || packed->rows() != k)) {
    throw Error("conv2d: the packed kernel has " + std::to_string(packed->rows()) +
                " rows, the convolution " + std::to_string(k) + " (and needs one group)");
  }
  // C = A * kernel, on the packed kernel when there is one.
  auto product = [&](int64_t rows, const float* a, int64_t lda, const float* b, float* c) {
    if (packed)
      gemm_packed(rows, a, lda, *packed, c, cout);
    else
      gemm(Transpose::kNo, Transpose::kNo, rows, og, k, 1.0f, a, lda, b, cout, 0.0f, c, cout);
  };
  if (is_pointwise(g, groups)) {
    product(g.n * g.h * g.w, x.data(), g.c, kernel.data(), out.data());
    epilogue_rows(out.data(), g.n * g.h * g.w, cout, options, bias);
    return out;
  }
  // Output pixels in chunks whose columns (about 2 MiB) stay in cache between im2col writing
  // them and the GEMM reading them.
  // Equal chunks: a small remainder chunk would make a GEMM too thin to run at full speed.
  const int64_t pixels = g.oh * g.ow;
  const int64_t most = std::clamp<int64_t>(kColumnFloats / k, 64, pixels);
  const int64_t chunks = (pixels + most - 1) / most;
  const int64_t chunk = (pixels + chunks - 1) / chunks;
  Tensor local;
  float* cols =
      options.workspace ? options.workspace->get(chunk * k) : (local = Tensor({chunk * k})).data();
  for (int64_t n = 0; n < g.n; ++n) {
    for (int64_t first = 0; first < pixels; first += chunk) {
      const int64_t count = std::min(chunk, pixels - first);
      float* o = out.data() + (n * pixels + first) * cout;
      for (int64_t j = 0; j < groups; ++j) {
        im2col(g, x.data() + n * g.h * g.w * g.c, cols, first, count, j * cg, cg);
        product(count, cols, k, packed ? nullptr : kernel.data() + j * og, o + j * og);
      }
      epilogue_rows(o, count, cout, options, bias);
    }
  }
  return out;
}

// d loss / d x = dout * kernel^T, scattered back by col2im (per group).
Tensor conv2d_input_grad(const ConvGeometry& g, const Tensor& dout, const Tensor& kernel,
                         int64_t groups) {
  const int64_t cout = kernel.dim(3), cg = g.c / groups, og = cout / groups;
  const int64_t k = g.kh * g.kw * cg;
  if (is_pointwise(g, groups)) {
    Tensor dx({g.n, g.h, g.w, g.c});
    gemm(Transpose::kNo, Transpose::kYes, g.n * g.h * g.w, g.c, cout, 1.0f, dout.data(), cout,
         kernel.data(), cout, 0.0f, dx.data(), g.c);
    return dx;
  }
  Tensor dx = Tensor::zeros({g.n, g.h, g.w, g.c});
  const int64_t pixels = g.oh * g.ow;
  Tensor dcols({pixels, k});
  for (int64_t n = 0; n < g.n; ++n) {
    for (int64_t j = 0; j < groups; ++j) {
      gemm(Transpose::kNo, Transpose::kYes, pixels, k, og, 1.0f,
           dout.data() + n * pixels * cout + j * og, cout, kernel.data() + j * og, cout, 0.0f,
           dcols.data(), k);
      col2im(g, dcols.data(), dx.data() + n * g.h * g.w * g.c, j * cg, cg);
    }
  }
  return dx;
}

// d loss / d kernel = sum over images of cols^T * dout (per group).
Tensor conv2d_kernel_grad(const ConvGeometry& g, const Tensor& dout, const Tensor& x,
                          const Shape& kernel_shape, int64_t groups) {
  const int64_t cout = kernel_shape[3], cg = g.c / groups, og = cout / groups;
  const int64_t k = g.kh * g.kw * cg;
  Tensor dk = Tensor::zeros(kernel_shape);
  if (is_pointwise(g, groups)) {
    gemm(Transpose::kYes, Transpose::kNo, k, cout, g.n * g.h * g.w, 1.0f, x.data(), g.c,
         dout.data(), cout, 0.0f, dk.data(), cout);
    return dk;
  }
  const int64_t pixels = g.oh * g.ow;
  Tensor cols({pixels, k});
  for (int64_t n = 0; n < g.n; ++n) {
    for (int64_t j = 0; j < groups; ++j) {
      im2col(g, x.data() + n * g.h * g.w * g.c, cols.data(), 0, pixels, j * cg, cg);
      gemm(Transpose::kYes, Transpose::kNo, k, og, pixels, 1.0f, cols.data(), k,
           dout.data() + n * pixels * cout + j * og, cout, 1.0f, dk.data() + j * og, cout);
    }
  }
  return dk;
}

}  // namespace

Tensor channel_sums(const Tensor& dout) {
  const int64_t c = dout.dim(-1);
  Tensor db = Tensor::zeros({c});
  const float* d = dout.data();
  for (int64_t p = 0; p < dout.size() / c; ++p) {
    for (int64_t j = 0; j < c; ++j) db.data()[j] += d[p * c + j];
  }
  return db;
}

Var conv2d(const Var& x, const Var& kernel, const Var& bias, const ConvOptions& options) {
  if (options.pad_top || options.pad_bottom || options.pad_left || options.pad_right) {
    throw Error("conv2d: explicit padding is for depthwise_conv2d only");
  }
  const WinogradKernel* wk = options.winograd.get();
  const PackedMatrix* pk = options.packed.get();
  if (!kernel.defined() && (!(wk || pk) || x.requires_grad())) {
    throw Error(
        "conv2d: no kernel (only a Winograd transform or a packed one, and only without "
        "gradients)");
  }
  const bool needs_gradient = x.requires_grad() || (kernel.defined() && kernel.requires_grad()) ||
                              (bias.defined() && bias.requires_grad());
  if (!fuses_activation(options, needs_gradient)) {
    // The activation's backward needs its input: keep the products as their own node.
    ConvOptions linear = options;
    linear.activation = {};
    return activation(conv2d(x, kernel, bias, linear), options.activation);
  }
  const Shape ks = kernel.defined() ? kernel.shape()
                   : wk             ? Shape{wk->kh, wk->kw, wk->cin, wk->cout}
                                    : Shape{1, 1, pk->rows(), pk->cols()};
  if (ks.size() != 4) throw Error("conv2d: kernel must be [kh, kw, in, out], got " + to_string(ks));
  const ConvGeometry g =
      conv_geometry("conv2d", x.shape(), ks[0], ks[1], options.stride_h, options.stride_w,
                    options.padding, options.dilation_h, options.dilation_w);
  const int64_t groups = options.groups;
  if (groups < 1 || ks[3] % groups != 0) {
    throw Error("conv2d: " + std::to_string(ks[3]) + " output channels do not split into " +
                std::to_string(groups) + " groups");
  }
  if (ks[2] * groups != g.c) {
    throw Error("conv2d: kernel " + to_string(ks) + " expects " + std::to_string(ks[2] * groups) +
                " input channels, input " + to_string(x.shape()) + " has " + std::to_string(g.c));
  }
  if (bias.defined() && bias.shape() != Shape{ks[3]}) {
    throw Error("conv2d: bias must be [" + std::to_string(ks[3]) + "], got " +
                to_string(bias.shape()));
  }
  if (options.scale.defined() && options.scale.shape() != Shape{ks[3]}) {
    throw Error("conv2d: scale must be [" + std::to_string(ks[3]) + "], got " +
                to_string(options.scale.shape()));
  }
  const Tensor b = bias.defined() ? bias.value() : Tensor();
  Tensor out;
  if (wk) {
    if (wk->kh != ks[0] || wk->kw != ks[1] || wk->cin != ks[2] || wk->cout != ks[3]) {
      throw Error("conv2d: the Winograd kernel was made for another kernel than " + to_string(ks));
    }
    if (g.sh != 1 || g.sw != 1 || g.dh != 1 || g.dw != 1 || groups != 1)
      throw Error("conv2d: Winograd's algorithm needs stride 1, no dilation and one group");
    out = conv2d_winograd_forward(g, x.value(), *wk, b, options);
  } else {
    out = conv2d_forward(g, x.value(), kernel.defined() ? kernel.value() : Tensor(), b, options);
  }
  // Capture the kernel only if x needs a gradient, and x only if the kernel does.
  Tensor k_saved = x.requires_grad() ? kernel.value() : Tensor();
  Tensor x_saved = kernel.defined() && kernel.requires_grad() ? x.value() : Tensor();
  ConvOptions saved = options;
  saved.workspace = nullptr;  // backward allocates its own; the workspace may be gone by then
  saved.winograd = nullptr;   // backward never uses it
  saved.packed = nullptr;
  const std::string op = is_linear(options.activation)
                             ? std::string("conv2d")
                             : "conv2d_" + activation_name(options.activation);
  return make_result(
      std::move(out), op, {x, kernel, bias},
      [g, k_saved, x_saved, options = saved](Node& self, const BackwardOptions& backward_options) {
        // Through the fused activation and scale first, with the same rule as the activation op.
        Tensor d_bias;
        const Tensor dy =
            epilogue_backward(self.value, self.grad, options, backward_options.relu_rule,
                              self.inputs[2] ? &d_bias : nullptr);
        if (auto& dx = self.inputs[0])
          dx->accumulate_grad(conv2d_input_grad(g, dy, k_saved, options.groups));
        if (auto& dk = self.inputs[1])
          dk->accumulate_grad(
              conv2d_kernel_grad(g, dy, x_saved, dk->value.shape(), options.groups));
        if (self.inputs[2]) self.inputs[2]->accumulate_grad(channel_sums(d_bias));
      });
}

}  // namespace gaze
