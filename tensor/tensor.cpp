#include "tensor/tensor.h"

#include <algorithm>
#include <cstdlib>
#include <new>
#include <utility>

namespace gaze {

std::string to_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

int64_t element_count(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw Error("negative dimension in shape " + to_string(shape));
    // Checked: a corrupt file's shape must not wrap around to a small, wrong allocation.
    if (__builtin_mul_overflow(n, d, &n) || n > kMaxTensorElements) {
      throw Error("shape " + to_string(shape) + " has more elements than a tensor can hold (" +
                  std::to_string(kMaxTensorElements) + ")");
    }
  }
  return n;
}

namespace {

// Storage aligned to a cache line (64 bytes, also an AVX-512 vector), so that vector loads in
// the loops over activations never straddle two lines. Uninitialized: activations are always
// written before they are read (zeros() and full() fill).
std::shared_ptr<float[]> aligned_storage(int64_t count) {
  constexpr size_t kAlign = 64;
  const size_t bytes =
      (static_cast<size_t>(std::max<int64_t>(count, 1)) * sizeof(float) + kAlign - 1) / kAlign *
      kAlign;
  float* p = static_cast<float*>(std::aligned_alloc(kAlign, bytes));
  if (!p) throw std::bad_alloc();
  return std::shared_ptr<float[]>(p, [](float* q) { std::free(q); });
}

}  // namespace

Tensor::Tensor(Shape shape)
    : shape_(std::move(shape)), size_(element_count(shape_)), storage_(aligned_storage(size_)) {}

Tensor Tensor::zeros(Shape shape) {
  return full(std::move(shape), 0.0f);
}

Tensor Tensor::full(Shape shape, float value) {
  Tensor t(std::move(shape));
  t.fill(value);
  return t;
}

Tensor Tensor::from(Shape shape, std::vector<float> values) {
  Tensor t(std::move(shape));
  if (static_cast<int64_t>(values.size()) != t.size()) {
    throw Error("Tensor::from: shape " + to_string(t.shape()) + " needs " +
                std::to_string(t.size()) + " values, got " + std::to_string(values.size()));
  }
  std::copy(values.begin(), values.end(), t.data());
  return t;
}

int64_t Tensor::dim(int i) const {
  const int r = rank();
  const int k = i < 0 ? i + r : i;
  if (k < 0 || k >= r) {
    throw Error("dimension " + std::to_string(i) + " out of range for shape " + to_string(shape_));
  }
  return shape_[static_cast<size_t>(k)];
}

int64_t Tensor::offset(std::initializer_list<int64_t> index) const {
  if (static_cast<int>(index.size()) != rank()) {
    throw Error("index of rank " + std::to_string(index.size()) + " into tensor of shape " +
                to_string(shape_));
  }
  int64_t off = 0;
  size_t k = 0;
  for (int64_t i : index) {
    if (i < 0 || i >= shape_[k]) {
      throw Error("index " + std::to_string(i) + " out of range in dimension " + std::to_string(k) +
                  " of shape " + to_string(shape_));
    }
    off = off * shape_[k] + i;
    ++k;
  }
  return off;
}

Tensor Tensor::reshape(Shape shape) const {
  int64_t known = 1;
  int inferred = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (inferred >= 0) throw Error("reshape: more than one -1 in " + to_string(shape));
      inferred = static_cast<int>(i);
    } else if (shape[i] < 0 || __builtin_mul_overflow(known, shape[i], &known)) {
      throw Error("reshape: cannot view shape " + to_string(shape_) + " as " + to_string(shape));
    }
  }
  if (inferred >= 0 && known > 0 && size_ % known == 0)
    shape[static_cast<size_t>(inferred)] = size_ / known;
  if (element_count(shape) != size_) {
    throw Error("reshape: cannot view shape " + to_string(shape_) + " as " + to_string(shape));
  }
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::clone() const {
  if (!defined()) return {};
  Tensor t(shape_);
  std::copy(data(), data() + size_, t.data());
  return t;
}

void Tensor::fill(float value) {
  std::fill(data(), data() + size_, value);
}

void check_same_shape(const Tensor& a, const Tensor& b, const std::string& what) {
  if (a.shape() != b.shape()) {
    throw Error(what + ": expected shape " + to_string(a.shape()) + ", got " +
                to_string(b.shape()));
  }
}

}  // namespace gaze
