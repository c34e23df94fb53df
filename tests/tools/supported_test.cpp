// `gaze layers --supported` lists the layer registry and the activation table, and docs/usage.md's
// list is that output, so the documentation cannot drift from the code.
#include <gtest/gtest.h>

#include "autograd/activation.h"
#include "layers/registry.h"
#include "tests/tools/run_gaze.h"

namespace gaze {
namespace {

TEST(Supported, ListsTheRegistryAndTheActivationTable) {
  const testing::RunResult r = testing::run_gaze({"layers", "--supported"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const std::string& cls : supported_layer_classes())
    EXPECT_NE(r.out.find("`" + cls + "`"), std::string::npos) << cls;
  for (const std::string& a : activation_names())
    EXPECT_NE(r.out.find("`" + a + "`"), std::string::npos) << a;
}

TEST(Supported, TheUsageDocListIsTheCommandsOutput) {
  const testing::RunResult r = testing::run_gaze({"layers", "--supported"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string doc = testing::read_whole_file(std::string(GAZE_SOURCE_DIR) + "/docs/usage.md");
  EXPECT_NE(doc.find(r.out), std::string::npos)
      << "docs/usage.md lacks the output of 'gaze layers --supported':\n"
      << r.out;
}

}  // namespace
}  // namespace gaze
