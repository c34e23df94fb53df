// A float32 tensor with shared storage.
//
// Layout is row-major with the last index fastest; images are NHWC (batch, height, width,
// channels), the Keras layout, so Keras weights load without transposes and a 1x1 convolution
// is a plain matrix product. Copying a Tensor is cheap: copies share storage (like a
// shared_ptr); clone() makes an independent copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tensor/error.h"

namespace gaze {

using Shape = std::vector<int64_t>;

// "[1, 299, 299, 3]": how shapes appear in every error message.
std::string to_string(const Shape& shape);
// The most elements a tensor may have: its bytes must be countable in int64 (2^61 floats). A
// shape beyond this, or whose product overflows, is an Error, thrown before any allocation.
constexpr int64_t kMaxTensorElements = INT64_MAX / static_cast<int64_t>(sizeof(float));

// Number of elements of a shape (1 for rank 0).
int64_t element_count(const Shape& shape);

class Tensor {
 public:
  // An empty tensor: no storage, shape [] with defined() == false.
  Tensor() = default;
  // Storage for `shape`, contents uninitialized (use zeros() when they must be zero).
  explicit Tensor(Shape shape);

  static Tensor zeros(Shape shape);
  static Tensor full(Shape shape, float value);
  static Tensor from(Shape shape, std::vector<float> values);

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  // Size of dimension i; negative i counts from the end (-1 is the last).
  int64_t dim(int i) const;
  int64_t size() const { return size_; }

  float* data() { return storage_.get(); }
  const float* data() const { return storage_.get(); }
  std::span<float> values() { return {data(), static_cast<size_t>(size_)}; }
  std::span<const float> values() const { return {data(), static_cast<size_t>(size_)}; }

  // Shape-checked element access: at(n, h, w, c). Throws Error on a wrong rank or index.
  template <typename... Index>
  float& at(Index... index) {
    return data()[offset({static_cast<int64_t>(index)...})];
  }
  template <typename... Index>
  float at(Index... index) const {
    return data()[offset({static_cast<int64_t>(index)...})];
  }

  // Same storage, another shape with the same element count. One dimension may be -1.
  Tensor reshape(Shape shape) const;
  Tensor clone() const;
  void fill(float value);

 private:
  int64_t offset(std::initializer_list<int64_t> index) const;

  Shape shape_;
  int64_t size_ = 0;
  std::shared_ptr<float[]> storage_;
};

// Throws Error("<what>: expected shape A, got B") unless the shapes are equal.
void check_same_shape(const Tensor& a, const Tensor& b, const std::string& what);

}  // namespace gaze
