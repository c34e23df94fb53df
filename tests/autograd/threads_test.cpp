// Every parallel loop split over threads gives what one thread gives. The rest of the suite may
// run with one OpenMP thread (OMP_NUM_THREADS from tests/CMakeLists.txt), so here each op runs
// forward and backward once with 1 thread and once with 3 (an odd split: uneven chunks, a
// thread with a short or empty share), on inputs large enough to pass every loop's `if`
// threshold, and the values and gradients are compared.
#include <gtest/gtest.h>
#include <omp.h>

#include <functional>
#include <string>
#include <vector>

#include "autograd/activation.h"
#include "autograd/ops.h"
#include "tensor/gemm.h"
#include "tests/support/test_util.h"

namespace gaze {
namespace {

using testing::max_abs;
using testing::max_abs_diff;
using testing::random_tensor;

// What one run of an op gives: its output, then the gradient of sum(out * w) for each input.
using Outputs = std::vector<Tensor>;
using OpRun = std::function<Outputs(const std::vector<Var>& inputs)>;

Outputs run_with_threads(int threads, const OpRun& op, const std::vector<Tensor>& inputs) {
  const int before = omp_get_max_threads();
  omp_set_num_threads(threads);
  std::vector<Var> vars;
  for (const Tensor& t : inputs) vars.emplace_back(t.clone(), true);
  Outputs out = op(vars);
  omp_set_num_threads(before);
  return out;
}

// out, then each input's gradient of sum(out * w) with w fixed by the output's shape.
Outputs value_and_gradients(const Var& out, const std::vector<Var>& inputs) {
  const Tensor w = random_tensor(out.shape(), 99);
  backward(out, w);
  Outputs r = {out.value().clone()};
  for (const Var& v : inputs) r.push_back(v.grad().clone());
  return r;
}

void expect_same_with_threads(const std::string& name, const OpRun& op,
                              const std::vector<Tensor>& inputs) {
  SCOPED_TRACE(name);
  const Outputs one = run_with_threads(1, op, inputs);
  const Outputs three = run_with_threads(3, op, inputs);
  ASSERT_EQ(one.size(), three.size());
  for (size_t i = 0; i < one.size(); ++i) {
    ASSERT_EQ(one[i].shape(), three[i].shape()) << "output " << i;
    // The same sums in the same order per element, whatever thread computes them: equal up to
    // the rounding of a blocked GEMM's different split (well below 1e-6 of the scale).
    EXPECT_LE(max_abs_diff(one[i], three[i]), 1e-6f * (max_abs(one[i]) + 1e-30f))
        << (i == 0 ? "the output" : "the gradient of input " + std::to_string(i - 1));
  }
}

TEST(Threads, ConvolutionsSplitLikeOneThread) {
  const Tensor x = random_tensor({2, 33, 29, 8}, 1), k3 = random_tensor({3, 3, 8, 16}, 2);
  const Tensor b = random_tensor({16}, 3), k1 = random_tensor({1, 1, 8, 300}, 4);
  expect_same_with_threads("im2col stride 2, same, relu6",
                           [&](const std::vector<Var>& v) {
                             ConvOptions o{2, 2, Padding::kSame};
                             o.activation = {.kind = ActivationKind::kRelu, .max_value = 6.0f};
                             return value_and_gradients(conv2d(v[0], v[1], v[2], o), v);
                           },
                           {x, k3, b});
  expect_same_with_threads("1x1 thin GEMM (gaze's own), 16 outputs",
                           [&](const std::vector<Var>& v) {
                             return value_and_gradients(conv2d(v[0], v[1], Var(), ConvOptions{}),
                                                        v);
                           },
                           {x, random_tensor({1, 1, 8, 16}, 8)});
  expect_same_with_threads("1x1 GEMM (OpenBLAS), 300 outputs",
                           [&](const std::vector<Var>& v) {
                             return value_and_gradients(conv2d(v[0], v[1], Var(), ConvOptions{}),
                                                        v);
                           },
                           {x, k1});
  expect_same_with_threads("Winograd 3x3, with a folded scale",
                           [&](const std::vector<Var>& v) {
                             ConvOptions o{1, 1, Padding::kSame};
                             o.winograd = winograd_kernel(k3);
                             o.scale = random_tensor({16}, 5, 0.5f, 1.5f);
                             // The forward runs Winograd; the gradient of x runs im2col's backward.
                             return value_and_gradients(conv2d(v[0], v[1], v[2], o), {v[0]});
                           },
                           {x, k3, b});
  expect_same_with_threads(
      "depthwise 3x3, multiplier 2",
      [&](const std::vector<Var>& v) {
        return value_and_gradients(
            depthwise_conv2d(v[0], v[1], v[2], ConvOptions{1, 1, Padding::kSame}), v);
      },
      {x, random_tensor({3, 3, 8, 2}, 6), random_tensor({16}, 7)});
}

TEST(Threads, PoolingNormalizationAndElementwiseSplitLikeOneThread) {
  const Tensor x = random_tensor({2, 40, 37, 48}, 11);  // 142,080 values: over every threshold
  const Tensor c = random_tensor({48}, 12);
  const Tensor positive = random_tensor({48}, 13, 0.1f, 2.0f);
  expect_same_with_threads(
      "max pool 3x3/2 same",
      [&](const std::vector<Var>& v) {
        return value_and_gradients(max_pool2d(v[0], {3, 3, 2, 2, Padding::kSame}), v);
      },
      {x});
  expect_same_with_threads(
      "average pool 3x3/1 same",
      [&](const std::vector<Var>& v) {
        return value_and_gradients(avg_pool2d(v[0], {3, 3, 1, 1, Padding::kSame}), v);
      },
      {x});
  expect_same_with_threads("batch norm",
                           [&](const std::vector<Var>& v) {
                             return value_and_gradients(
                                 batch_norm(v[0], v[1], v[2], v[3], v[4], 1e-3f), v);
                           },
                           {x, c, positive, c, c});
  expect_same_with_threads("layer norm",
                           [&](const std::vector<Var>& v) {
                             return value_and_gradients(layer_norm(v[0], v[1], v[2], 1e-3f), v);
                           },
                           {x, positive, c});
  expect_same_with_threads("broadcast multiply",
                           [&](const std::vector<Var>& v) {
                             return value_and_gradients(binary(BinaryOp::kMultiply, v[0], v[1]), v);
                           },
                           {x, c});
  expect_same_with_threads("swish",
                           [&](const std::vector<Var>& v) {
                             return value_and_gradients(
                                 activation(v[0], {.kind = ActivationKind::kSwish}), v);
                           },
                           {x});
  expect_same_with_threads("bilinear resize",
                           [&](const std::vector<Var>& v) {
                             return value_and_gradients(resize_bilinear(v[0], 61, 50), v);
                           },
                           {x});
  expect_same_with_threads("concat",
                           [&](const std::vector<Var>& v) {
                             return value_and_gradients(concat_channels({v[0], v[1]}), v);
                           },
                           {x, random_tensor({2, 40, 37, 16}, 14)});
}

}  // namespace
}  // namespace gaze
