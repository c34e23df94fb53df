#include <gtest/gtest.h>

#include "autograd/ops.h"
#include "tests/support/gradient_check.h"

namespace gaze {
namespace {

using testing::check_gradients;
using testing::random_tensor;

TEST(ConcatChannels, ForwardPlacesEachInputInItsSlice) {
  const Tensor a = random_tensor({2, 3, 2, 2}, 1), b = random_tensor({2, 3, 2, 3}, 2);
  const Tensor y = concat_channels({Var(a), Var(b)}).value();
  ASSERT_EQ(y.shape(), (Shape{2, 3, 2, 5}));
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = 0; j < 2; ++j) {
        for (int64_t c = 0; c < 2; ++c) EXPECT_EQ(y.at(n, i, j, c), a.at(n, i, j, c));
        for (int64_t c = 0; c < 3; ++c) EXPECT_EQ(y.at(n, i, j, 2 + c), b.at(n, i, j, c));
      }
  check_gradients([](const std::vector<Var>& v) { return concat_channels(v); },
                  {a, b, random_tensor({2, 3, 2, 1}, 3)});
  EXPECT_THROW(concat_channels({Var(a), Var(random_tensor({2, 3, 3, 2}, 4))}), Error);
}

TEST(SliceChannels, ForwardTakesTheSliceAndBackwardScattersIntoIt) {
  const Tensor x = random_tensor({2, 3, 2, 7}, 11);
  const Tensor y = slice_channels(Var(x), 2, 4).value();
  ASSERT_EQ(y.shape(), (Shape{2, 3, 2, 4}));
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = 0; j < 2; ++j)
        for (int64_t c = 0; c < 4; ++c) EXPECT_EQ(y.at(n, i, j, c), x.at(n, i, j, 2 + c));
  check_gradients([](const std::vector<Var>& v) { return slice_channels(v[0], 2, 4); }, {x});
  // Two slices of one value: their gradients add up in the shared input.
  check_gradients(
      [](const std::vector<Var>& v) {
        return concat_channels({slice_channels(v[0], 0, 3), slice_channels(v[0], 1, 5)});
      },
      {x});
  EXPECT_THROW(slice_channels(Var(x), 4, 4), Error);
  EXPECT_THROW(slice_channels(Var(x), -1, 2), Error);
}

TEST(Add, SumsAndPassesGradientToEveryInput) {
  const Tensor a = random_tensor({2, 3}, 5), b = random_tensor({2, 3}, 6),
               c = random_tensor({2, 3}, 7);
  const Tensor y = add({Var(a), Var(b), Var(c)}).value();
  for (int64_t i = 0; i < 6; ++i)
    EXPECT_FLOAT_EQ(y.data()[i], a.data()[i] + b.data()[i] + c.data()[i]);
  check_gradients([](const std::vector<Var>& v) { return add(v); }, {a, b, c});
  EXPECT_THROW(add({Var(a), Var(random_tensor({3, 2}, 8))}), Error);
}

TEST(Flatten, KeepsNhwcOrder) {
  const Tensor x = random_tensor({2, 3, 4, 5}, 9);
  const Tensor y = flatten(Var(x)).value();
  ASSERT_EQ(y.shape(), (Shape{2, 60}));
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = 0; j < 4; ++j)
        for (int64_t c = 0; c < 5; ++c) EXPECT_EQ(y.at(n, (i * 4 + j) * 5 + c), x.at(n, i, j, c));
  check_gradients([](const std::vector<Var>& v) { return flatten(v[0]); },
                  {random_tensor({1, 2, 3, 2}, 10)});
}

TEST(Reshape, KeepsRowMajorOrderAndInfersOneDimension) {
  const Tensor x = random_tensor({2, 3, 4}, 13);
  const Tensor y = reshape(Var(x), {2, -1, 1, 2}).value();
  ASSERT_EQ(y.shape(), (Shape{2, 6, 1, 2}));
  for (int64_t i = 0; i < x.size(); ++i) EXPECT_EQ(y.data()[i], x.data()[i]);
  check_gradients([](const std::vector<Var>& v) { return reshape(v[0], {4, 6}); }, {x});
  EXPECT_THROW(reshape(Var(x), {5, -1}), Error);
  EXPECT_THROW(reshape(Var(x), {-1, -1, 4}), Error);
}

TEST(Transpose, MovesEveryAxisAsNumpyDoes) {
  const Tensor x = random_tensor({2, 3, 4, 5}, 14);
  const std::vector<size_t> perm = {0, 3, 1, 2};
  const Tensor y = transpose(Var(x), perm).value();
  ASSERT_EQ(y.shape(), (Shape{2, 5, 3, 4}));
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = 0; j < 4; ++j)
        for (int64_t c = 0; c < 5; ++c) EXPECT_EQ(y.at(n, c, i, j), x.at(n, i, j, c));
  for (const std::vector<size_t>& p :
       std::vector<std::vector<size_t>>{{0, 3, 1, 2}, {0, 2, 3, 1}, {3, 2, 1, 0}, {0, 1, 2, 3}}) {
    check_gradients([p](const std::vector<Var>& v) { return transpose(v[0], p); },
                    {random_tensor({2, 3, 2, 4}, 15)});
  }
  EXPECT_THROW(transpose(Var(x), {0, 1, 1, 2}), Error);
  EXPECT_THROW(transpose(Var(x), {0, 1, 2}), Error);
  EXPECT_THROW(transpose(Var(x), {0, 1, 2, 4}), Error);
}

TEST(Crop2d, RemovesBordersAndScattersGradientBack) {
  const Tensor x = random_tensor({2, 5, 6, 3}, 16);
  const Tensor y = crop2d(Var(x), 1, 2, 0, 3).value();
  ASSERT_EQ(y.shape(), (Shape{2, 2, 3, 3}));
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t j = 0; j < 3; ++j)
        for (int64_t c = 0; c < 3; ++c) EXPECT_EQ(y.at(n, i, j, c), x.at(n, i + 1, j, c));
  check_gradients([](const std::vector<Var>& v) { return crop2d(v[0], 1, 2, 0, 3); }, {x});
  // Cropping is the adjoint of zero padding: padding then cropping gives the input back.
  EXPECT_EQ(testing::max_abs_diff(crop2d(zero_pad2d(Var(x), 1, 2, 3, 4), 1, 2, 3, 4).value(), x),
            0.0f);
  EXPECT_THROW(crop2d(Var(x), 3, 2, 0, 0), Error);
  EXPECT_THROW(crop2d(Var(x), 0, 0, -1, 0), Error);
}

TEST(ZeroPad2d, PadsSpatialDimensions) {
  const Tensor x = random_tensor({1, 2, 3, 2}, 11);
  const Tensor y = zero_pad2d(Var(x), 1, 2, 0, 1).value();
  ASSERT_EQ(y.shape(), (Shape{1, 5, 4, 2}));
  for (int64_t i = 0; i < 5; ++i)
    for (int64_t j = 0; j < 4; ++j)
      for (int64_t c = 0; c < 2; ++c) {
        const bool inside = i >= 1 && i < 3 && j < 3;
        EXPECT_EQ(y.at(0, i, j, c), inside ? x.at(0, i - 1, j, c) : 0.0f);
      }
  check_gradients([](const std::vector<Var>& v) { return zero_pad2d(v[0], 1, 0, 2, 1); }, {x});
  EXPECT_THROW(zero_pad2d(Var(x), -1, 0, 0, 0), Error);
}

TEST(Dropout, IsTheIdentityAtInference) {
  const Tensor x = random_tensor({2, 4}, 12);
  EXPECT_EQ(testing::max_abs_diff(dropout(Var(x)).value(), x), 0.0f);
  check_gradients([](const std::vector<Var>& v) { return dropout(v[0]); }, {x});
}

}  // namespace
}  // namespace gaze
