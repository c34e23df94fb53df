// Whole models split over threads give what one thread gives: probabilities, the gradient at the
// CAM layer and the Grad-CAM map, for families that exercise each fused path of the compiled
// plan (Winograd, sibling 1x1 GEMMs, depthwise, separable, squeeze-excite). The suite may run
// with one OpenMP thread (tests/CMakeLists.txt); this test sets the count itself.
#include <gtest/gtest.h>
#include <omp.h>

#include <thread>
#include <utility>

#include "cam/explain.h"
#include "tensor/npy.h"
#include "tests/support/families.h"
#include "tests/support/fixtures.h"
#include "tests/support/test_util.h"
#include "weights/keras_h5.h"
#include "weights/model_io.h"
#include "weights/tfjs.h"

namespace gaze {
namespace {

using nlohmann::json;
using testing::max_abs;
using testing::max_abs_diff;

struct ThreadedRun {
  Tensor probabilities, gradients, map;
};

ThreadedRun run_with_threads(int threads, const Model& m, const Tensor& x,
                             const std::string& layer) {
  const int before = omp_get_max_threads();
  omp_set_num_threads(threads);
  CamSession s(m, x, {layer}, true);
  ThreadedRun r{s.probabilities().clone(), s.gradients(layer, 0, ScoreKind::kLogit).clone(),
                s.map(layer, 0, CamOptions{})};
  omp_set_num_threads(before);
  return r;
}

void expect_close(const Tensor& one, const Tensor& three, const char* what) {
  ASSERT_EQ(one.shape(), three.shape()) << what;
  EXPECT_LE(max_abs_diff(one, three), 1e-5f * (max_abs(one) + 1e-30f)) << what;
}

// A family's fixture: its folder, its reference, and its model converted to a Keras .h5.
struct Family {
  std::string dir;
  json ref;
  std::string h5;
};

Family family_fixture(const std::string& name, const std::string& h5_name) {
  Family f{testing::fixture_path("families/" + name),
           testing::read_json_fixture("families/" + name + "/reference.json"),
           testing::test_temp_path(h5_name)};
  write_keras_h5(f.h5, read_tfjs_model(f.dir + "/model.json"));
  return f;
}

class ThreadsModelTest : public ::testing::TestWithParam<const char*> {};

TEST_P(ThreadsModelTest, ThreeThreadsGiveWhatOneGives) {
  const Family f = family_fixture(GetParam(), std::string(GetParam()) + ".h5");
  const LoadedModel loaded = load_keras_model(f.h5);
  const std::string layer = f.ref["cam_layer"];
  for (const auto& [name, in] : f.ref["inputs"].items()) {
    SCOPED_TRACE(name);
    const Tensor x = testing::batch_of(read_npy(f.dir + "/" + in["input"].get<std::string>()));
    const ThreadedRun one = run_with_threads(1, loaded.model, x, layer);
    const ThreadedRun three = run_with_threads(3, loaded.model, x, layer);
    expect_close(one.probabilities, three.probabilities, "probabilities");
    expect_close(one.gradients, three.gradients, "gradients");
    expect_close(one.map, three.map, "Grad-CAM map");
  }
}

// One model, two threads running it at once (the lanes of collection/pipeline.h), each on one
// OpenMP thread and a different input: each gets exactly what it gets alone. A workspace or plan
// shared between the two would mix their values.
TEST_P(ThreadsModelTest, TwoThreadsAtOnceGetWhatEachGetsAlone) {
  const Family f = family_fixture(GetParam(), std::string(GetParam()) + "_lanes.h5");
  const LoadedModel loaded = load_keras_model(f.h5);
  const std::string layer = f.ref["cam_layer"];
  std::vector<Tensor> inputs;
  for (const auto& [name, in] : f.ref["inputs"].items())
    inputs.push_back(testing::batch_of(read_npy(f.dir + "/" + in["input"].get<std::string>())));
  ASSERT_GE(inputs.size(), 2u);
  const Tensor& a = inputs[0];
  const Tensor& b = inputs[1];
  const ThreadedRun alone_a = run_with_threads(1, loaded.model, a, layer);
  const ThreadedRun alone_b = run_with_threads(1, loaded.model, b, layer);
  // Round 0 on a model not yet run: the two threads also make its fusion and plans at once.
  // Later rounds on the model already run, which has a workspace left from before.
  const LoadedModel fresh = load_keras_model(f.h5);
  for (int round = 0; round < 3; ++round) {
    const Model& model = round == 0 ? fresh.model : loaded.model;
    ThreadedRun at_once_a, at_once_b;
    std::thread other([&] { at_once_b = run_with_threads(1, model, b, layer); });
    at_once_a = run_with_threads(1, model, a, layer);
    other.join();
    for (const auto& [alone, at_once] : {std::pair{&alone_a, &at_once_a}, {&alone_b, &at_once_b}}) {
      EXPECT_EQ(max_abs_diff(alone->probabilities, at_once->probabilities), 0.0f);
      EXPECT_EQ(max_abs_diff(alone->gradients, at_once->gradients), 0.0f);
      EXPECT_EQ(max_abs_diff(alone->map, at_once->map), 0.0f);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Families, ThreadsModelTest,
                         ::testing::Values("mobilenet_v2", "xception", "efficientnet_b0",
                                           "resnet_v1", "densenet"));

}  // namespace
}  // namespace gaze
