// The model families of tests/fixtures/families (tools/reference/families.js), and what their
// tests compare with: TF.js's values, by correlation.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <vector>

#include "cam/explain.h"
#include "tensor/npy.h"
#include "tensor/tensor.h"
#include "tests/support/test_util.h"

namespace gaze::testing {

inline const char* const kFamilies[] = {"resnet_v1",       "resnet_v2",    "vgg",
                                        "xception",        "densenet",     "mobilenet_v1",
                                        "mobilenet_v2",    "mobilenet_v3", "efficientnet_b0",
                                        "efficientnet_v2", "convnext",     "sequential_cnn",
                                        "finetuned_nested"};

// Pearson correlation of two tensors' values.
inline double correlation(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.size(), b.size());
  double ma = 0, mb = 0;
  for (int64_t i = 0; i < a.size(); ++i) ma += a.data()[i], mb += b.data()[i];
  ma /= static_cast<double>(a.size()), mb /= static_cast<double>(b.size());
  double sab = 0, saa = 0, sbb = 0;
  for (int64_t i = 0; i < a.size(); ++i) {
    const double da = a.data()[i] - ma, db = b.data()[i] - mb;
    sab += da * db, saa += da * da, sbb += db * db;
  }
  return sab / std::sqrt(saa * sbb);
}

// A JSON list of numbers as a 1-D tensor.
inline Tensor values_of(const nlohmann::json& list) {
  std::vector<float> v = list.get<std::vector<float>>();
  return Tensor::from({static_cast<int64_t>(v.size())}, v);
}

// An input [H, W, C] as the batch [1, H, W, C] (a batch stays as it is).
inline Tensor batch_of(const Tensor& x) {
  return x.rank() == 3 ? x.reshape({1, x.dim(0), x.dim(1), x.dim(2)}) : x;
}

// The model's probabilities (within 1e-5), and the activations, the logit gradients and the
// pre-ReLU Grad-CAM maps at `layer` for the top and least class (correlated >= 0.9999), against
// the TF.js references of one family's `inputs` (reference.json), whose files are in `dir`.
inline void expect_matches_tfjs(const Model& m, const std::string& dir,
                                const nlohmann::json& inputs, const std::string& layer) {
  ASSERT_TRUE(m.contains(layer)) << layer;
  for (const auto& [name, in] : inputs.items()) {
    SCOPED_TRACE(name);
    const Tensor x = batch_of(read_npy(dir + "/" + in["input"].get<std::string>()));
    CamSession s(m, x, {layer}, true);
    EXPECT_TENSOR_NEAR(s.probabilities(), values_of(in["probs"]), 1e-5f);
    const Tensor activation = read_npy(dir + "/" + in["activation"].get<std::string>());
    EXPECT_GT(correlation(s.activations(layer), activation), 0.99999);
    for (const char* which : {"top", "least"}) {
      SCOPED_TRACE(which);
      const int c = in[which].get<int>();
      const Tensor want = read_npy(dir + "/" + in[std::string("grad_") + which].get<std::string>());
      EXPECT_GT(correlation(s.gradients(layer, c, ScoreKind::kLogit), want), 0.9999);
      const Tensor map = s.map(layer, c, CamOptions{});
      EXPECT_GT(correlation(map, values_of(in[std::string("gradcam_") + which]["map_linear"])),
                0.9999);
    }
  }
}

}  // namespace gaze::testing
