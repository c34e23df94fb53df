// dense: y = x * kernel + bias, x [N, in], kernel [in, out] (Keras layout), bias [out].
#include <cstring>

#include "autograd/op_helpers.h"
#include "autograd/ops.h"
#include "tensor/gemm.h"

namespace gaze {

Var dense(const Var& x, const Var& kernel, const Var& bias) {
  const Shape& xs = x.shape();
  const Shape& ks = kernel.shape();
  if (xs.size() != 2) throw Error("dense: input must be [batch, features], got " + to_string(xs));
  if (ks.size() != 2 || ks[0] != xs[1]) {
    throw Error("dense: kernel " + to_string(ks) + " does not fit input " + to_string(xs));
  }
  const int64_t n = xs[0], in = ks[0], out_features = ks[1];
  if (bias.defined() && bias.shape() != Shape{out_features}) {
    throw Error("dense: bias must be [" + std::to_string(out_features) + "], got " +
                to_string(bias.shape()));
  }
  Tensor out({n, out_features});
  if (bias.defined()) {
    for (int64_t r = 0; r < n; ++r) {
      std::memcpy(out.data() + r * out_features, bias.value().data(),
                  sizeof(float) * static_cast<size_t>(out_features));
    }
  }
  gemm(Transpose::kNo, Transpose::kNo, n, out_features, in, 1.0f, x.value().data(), in,
       kernel.value().data(), out_features, bias.defined() ? 1.0f : 0.0f, out.data(), out_features);

  Tensor k_saved = x.requires_grad() ? kernel.value() : Tensor();
  Tensor x_saved = kernel.requires_grad() ? x.value() : Tensor();
  return make_result(std::move(out), "dense", {x, kernel, bias},
                     [n, in, out_features, k_saved, x_saved](Node& self, const BackwardOptions&) {
                       const float* dy = self.grad.data();
                       if (self.inputs[0]) {  // dx = dy * kernel^T
                         Tensor dx({n, in});
                         gemm(Transpose::kNo, Transpose::kYes, n, in, out_features, 1.0f, dy,
                              out_features, k_saved.data(), out_features, 0.0f, dx.data(), in);
                         self.inputs[0]->accumulate_grad(std::move(dx));
                       }
                       if (self.inputs[1]) {  // dkernel = x^T * dy
                         Tensor dk({in, out_features});
                         gemm(Transpose::kYes, Transpose::kNo, in, out_features, n, 1.0f,
                              x_saved.data(), in, dy, out_features, 0.0f, dk.data(), out_features);
                         self.inputs[1]->accumulate_grad(std::move(dk));
                       }
                       if (self.inputs[2]) self.inputs[2]->accumulate_grad(channel_sums(self.grad));
                     });
}

}  // namespace gaze
