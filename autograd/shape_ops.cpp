// Ops that move values without arithmetic on them: concatenation, sum, flatten, reshape,
// transpose, zero padding and cropping, dropout (the identity at inference).
#include <algorithm>
#include <cstring>
#include <vector>

#include "autograd/ops.h"

namespace gaze {

Var concat_channels(const std::vector<Var>& xs) {
  if (xs.empty()) throw Error("concat_channels: no inputs");
  Shape shape = xs[0].shape();
  if (shape.empty()) throw Error("concat_channels: inputs of rank 0");
  std::vector<int64_t> widths;
  int64_t total = 0;
  for (const Var& x : xs) {
    Shape s = x.shape();
    if (s.size() != shape.size() || !std::equal(s.begin(), s.end() - 1, shape.begin())) {
      throw Error("concat_channels: shape " + to_string(s) + " does not match " + to_string(shape) +
                  " outside the last axis");
    }
    widths.push_back(s.back());
    total += s.back();
  }
  shape.back() = total;
  Tensor out(shape);
  const int64_t rows = out.size() / std::max<int64_t>(total, 1);
  int64_t offset = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const float* src = xs[i].value().data();
    const int64_t w = widths[i];
    for (int64_t r = 0; r < rows; ++r) {
      std::memcpy(out.data() + r * total + offset, src + r * w,
                  sizeof(float) * static_cast<size_t>(w));
    }
    offset += w;
  }
  return make_result(std::move(out), "concat_channels", xs,
                     [widths, rows, total](Node& self, const BackwardOptions&) {
                       int64_t off = 0;
                       for (size_t i = 0; i < widths.size(); ++i) {
                         const int64_t w = widths[i];
                         if (auto& in = self.inputs[i]) {
                           Tensor dx(in->value.shape());
                           for (int64_t r = 0; r < rows; ++r) {
                             std::memcpy(dx.data() + r * w, self.grad.data() + r * total + off,
                                         sizeof(float) * static_cast<size_t>(w));
                           }
                           in->accumulate_grad(std::move(dx));
                         }
                         off += w;
                       }
                     });
}

Var slice_channels(const Var& x, int64_t begin, int64_t count) {
  const Shape& in = x.shape();
  if (in.empty() || begin < 0 || count < 0 || begin + count > in.back()) {
    throw Error("slice_channels: channels [" + std::to_string(begin) + ", " +
                std::to_string(begin + count) + ") outside " + to_string(in));
  }
  const int64_t total = in.back();
  const int64_t rows = x.value().size() / std::max<int64_t>(total, 1);
  Shape shape = in;
  shape.back() = count;
  Tensor out(shape);
  const float* src = x.value().data();
#pragma omp parallel for if (rows * count > (int64_t{1} << 16))
  for (int64_t r = 0; r < rows; ++r) {
    std::memcpy(out.data() + r * count, src + r * total + begin,
                sizeof(float) * static_cast<size_t>(count));
  }
  return make_result(std::move(out), "slice_channels", {x},
                     [begin, count, rows, total](Node& self, const BackwardOptions&) {
                       Tensor dx = Tensor::zeros(self.inputs[0]->value.shape());
                       for (int64_t r = 0; r < rows; ++r) {
                         std::memcpy(dx.data() + r * total + begin, self.grad.data() + r * count,
                                     sizeof(float) * static_cast<size_t>(count));
                       }
                       self.inputs[0]->accumulate_grad(std::move(dx));
                     });
}

Var add(const std::vector<Var>& xs) {
  if (xs.empty()) throw Error("add: no inputs");
  for (const Var& x : xs) {
    if (x.shape() != xs[0].shape()) {
      throw Error("add: shapes " + to_string(xs[0].shape()) + " and " + to_string(x.shape()) +
                  " differ");
    }
  }
  Tensor out = xs[0].value().clone();
  for (size_t i = 1; i < xs.size(); ++i) {
    const float* src = xs[i].value().data();
    for (int64_t j = 0; j < out.size(); ++j) out.data()[j] += src[j];
  }
  return make_result(std::move(out), "add", xs, [](Node& self, const BackwardOptions&) {
    for (auto& in : self.inputs) {
      if (in) in->accumulate_grad(self.grad);  // const& overload: each input gets its own copy
    }
  });
}

Var flatten(const Var& x) {
  const Shape& s = x.shape();
  if (s.empty()) throw Error("flatten: input of rank 0");
  // NHWC storage is already in Keras' flatten order: a reshape, no copy.
  return make_result(
      x.value().reshape({s[0], -1}), "flatten", {x}, [](Node& self, const BackwardOptions&) {
        const Tensor dx = self.grad.reshape(self.inputs[0]->value.shape());
        self.inputs[0]->accumulate_grad(dx);  // const&: copied, self.grad stays this node's own
      });
}

Var reshape(const Var& x, const Shape& shape) {
  Tensor out;
  try {
    out = x.value().reshape(shape);  // shares storage: no copy
  } catch (const Error& e) {
    throw Error(std::string("reshape: ") + e.what());
  }
  return make_result(std::move(out), "reshape", {x}, [](Node& self, const BackwardOptions&) {
    const Tensor dx = self.grad.reshape(self.inputs[0]->value.shape());
    self.inputs[0]->accumulate_grad(dx);  // const&: copied, self.grad stays this node's own
  });
}

namespace {

// Row-major element strides of `shape`.
std::vector<int64_t> strides_of(const Shape& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;) s[i - 1] = s[i] * shape[i];
  return s;
}

// dst[i] = src[offset of i], for every element i of a tensor of shape `shape` whose dimension d
// advances `src_strides[d]` in src (a transposed view of src).
void gather_strided(const float* src, float* dst, const Shape& shape,
                    const std::vector<int64_t>& src_strides) {
  const int64_t total = element_count(shape);
  if (total == 0) return;
  std::vector<int64_t> index(shape.size(), 0);
  int64_t offset = 0;
  for (int64_t i = 0; i < total; ++i) {
    dst[i] = src[offset];
    for (size_t d = shape.size(); d-- > 0;) {  // odometer step, last dimension fastest
      offset += src_strides[d];
      if (++index[d] < shape[d]) break;
      offset -= src_strides[d] * shape[d];
      index[d] = 0;
    }
  }
}

}  // namespace

Var transpose(const Var& x, const std::vector<size_t>& perm) {
  const Shape& in = x.shape();
  std::vector<bool> seen(in.size(), false);
  for (size_t p : perm) {
    if (p >= in.size() || seen[p]) {
      throw Error("transpose: " + std::to_string(perm.size()) +
                  " axes given are not a permutation of the axes of " + to_string(in));
    }
    seen[p] = true;
  }
  if (perm.size() != in.size())
    throw Error("transpose: permutation of rank " + std::to_string(perm.size()) + " for " +
                to_string(in));
  const std::vector<int64_t> in_strides = strides_of(in);
  Shape shape(in.size());
  std::vector<int64_t> src_strides(in.size());
  for (size_t i = 0; i < perm.size(); ++i) {
    shape[i] = in[perm[i]];
    src_strides[i] = in_strides[perm[i]];
  }
  Tensor out(shape);
  gather_strided(x.value().data(), out.data(), shape, src_strides);
  return make_result(std::move(out), "transpose", {x},
                     [perm, in, shape](Node& self, const BackwardOptions&) {
                       // The inverse permutation: input axis perm[i] is output axis i.
                       const std::vector<int64_t> out_strides = strides_of(shape);
                       std::vector<int64_t> back(in.size());
                       for (size_t i = 0; i < perm.size(); ++i) back[perm[i]] = out_strides[i];
                       Tensor dx(in);
                       gather_strided(self.grad.data(), dx.data(), in, back);
                       self.inputs[0]->accumulate_grad(std::move(dx));
                     });
}

Var zero_pad2d(const Var& x, int64_t top, int64_t bottom, int64_t left, int64_t right) {
  const Shape& s = x.shape();
  if (s.size() != 4) throw Error("zero_pad2d: expected NHWC input of rank 4, got " + to_string(s));
  if (top < 0 || bottom < 0 || left < 0 || right < 0) throw Error("zero_pad2d: negative padding");
  const int64_t n = s[0], h = s[1], w = s[2], c = s[3];
  const int64_t oh = h + top + bottom, ow = w + left + right;
  Tensor out = Tensor::zeros({n, oh, ow, c});
  const auto row_bytes = sizeof(float) * static_cast<size_t>(w * c);
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t y = 0; y < h; ++y) {
      std::memcpy(out.data() + ((b * oh + y + top) * ow + left) * c,
                  x.value().data() + (b * h + y) * w * c, row_bytes);
    }
  }
  return make_result(
      std::move(out), "zero_pad2d", {x},
      [n, h, w, c, oh, ow, top, left, row_bytes](Node& self, const BackwardOptions&) {
        Tensor dx({n, h, w, c});
        for (int64_t b = 0; b < n; ++b) {
          for (int64_t y = 0; y < h; ++y) {
            std::memcpy(dx.data() + (b * h + y) * w * c,
                        self.grad.data() + ((b * oh + y + top) * ow + left) * c, row_bytes);
          }
        }
        self.inputs[0]->accumulate_grad(std::move(dx));
      });
}

Var crop2d(const Var& x, int64_t top, int64_t bottom, int64_t left, int64_t right) {
  const Shape& s = x.shape();
  if (s.size() != 4) throw Error("crop2d: expected NHWC input of rank 4, got " + to_string(s));
  if (top < 0 || bottom < 0 || left < 0 || right < 0) throw Error("crop2d: negative cropping");
  const int64_t n = s[0], h = s[1], w = s[2], c = s[3];
  const int64_t oh = h - top - bottom, ow = w - left - right;
  if (oh <= 0 || ow <= 0) {
    throw Error("crop2d: cropping " + std::to_string(top) + "+" + std::to_string(bottom) + " x " +
                std::to_string(left) + "+" + std::to_string(right) + " leaves nothing of " +
                to_string(s));
  }
  Tensor out({n, oh, ow, c});
  const auto row_bytes = sizeof(float) * static_cast<size_t>(ow * c);
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t y = 0; y < oh; ++y) {
      std::memcpy(out.data() + (b * oh + y) * ow * c,
                  x.value().data() + ((b * h + y + top) * w + left) * c, row_bytes);
    }
  }
  return make_result(
      std::move(out), "crop2d", {x},
      [n, h, w, c, oh, ow, top, left, row_bytes](Node& self, const BackwardOptions&) {
        Tensor dx = Tensor::zeros({n, h, w, c});  // cropped cells had no effect
        for (int64_t b = 0; b < n; ++b) {
          for (int64_t y = 0; y < oh; ++y) {
            std::memcpy(dx.data() + ((b * h + y + top) * w + left) * c,
                        self.grad.data() + (b * oh + y) * ow * c, row_bytes);
          }
        }
        self.inputs[0]->accumulate_grad(std::move(dx));
      });
}

Var dropout(const Var& x) {
  return make_result(x.value(), "dropout", {x}, [](Node& self, const BackwardOptions&) {
    self.inputs[0]->accumulate_grad(self.grad);
  });
}

}  // namespace gaze
