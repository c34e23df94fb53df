// Memory stays flat over many inputs in one process: what users running gaze over a folder of
// 50,000 photos rely on. The figures come from `--verbose`, which reports the process's resident
// set size after each input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "tests/support/fixtures.h"
#include "tests/support/test_util.h"

// Not built under AddressSanitizer: ASan keeps freed memory in quarantine, so the RSS would not be
// gaze's. Left out rather than skipped, so that a sanitizer run has no skips to explain; the
// optimized pass runs these.
#if !defined(__SANITIZE_ADDRESS__)

namespace gaze {
namespace {

// RSS (MiB) after each input, parsed from the --verbose lines of `gaze <args>`.
std::vector<double> rss_after_each_input(const std::string& args) {
  const std::string command = std::string(GAZE_BINARY) + " " + args + " --verbose 2>&1 >/dev/null";
  std::vector<double> rss;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return rss;
  char line[4096];
  const std::regex pattern(R"(RSS ([0-9.]+) MiB)");
  while (std::fgets(line, sizeof line, pipe)) {
    std::cmatch m;
    if (std::regex_search(line, m, pattern)) rss.push_back(std::stod(m[1].str()));
  }
  EXPECT_EQ(pclose(pipe), 0) << command;
  return rss;
}

// The 8 fixture photos, cycled to 200 inputs (varied sizes, formats, grey and alpha), each under
// its own name (links in a folder that is the INPUT), as in a collection: every input writes a
// new panel, and what the run keeps per input must not make the heap grow.
class TwoHundredInputs {
 public:
  TwoHundredInputs() {
    const char* photos[] = {"astronaut_299.png",      "camera_grey_224.png", "chelsea.jpg",
                            "clock_grey.jpg",         "coffee.jpg",          "horse_rgba.png",
                            "microaneurysms_102.png", "rocket_portrait.jpg"};
    std::filesystem::remove_all(folder_);
    std::filesystem::create_directories(folder_);
    for (int i = 0; i < 200; ++i) {
      const std::string photo = testing::fixture_path(std::string("images/") + photos[i % 8]);
      char name[32];
      std::snprintf(name, sizeof name, "%03d", i);
      std::filesystem::create_symlink(
          photo, folder_ / (name + std::filesystem::path(photo).extension().string()));
    }
  }
  ~TwoHundredInputs() { std::filesystem::remove_all(folder_); }
  std::string folder() const { return " " + folder_.string(); }

 private:
  std::filesystem::path folder_ = testing::test_temp_path("inputs");
};

// After the first 40 inputs (each lane's heaps settle within about 25, collection/pipeline.h),
// RSS grows by at most 1%, the soak's target (tools/soak.sh): a run that kept a block per input
// (a panel's name) grew by 1 MiB an input.
void expect_flat(const std::vector<double>& rss, const char* what) {
  constexpr size_t kSettle = 40;
  ASSERT_EQ(rss.size(), 200u) << what;
  const double settled = rss[kSettle - 1];
  const double peak = *std::max_element(rss.begin() + kSettle, rss.end());
  std::printf(
      "[ measured ] %s: RSS after input 1: %.1f MiB, after input %zu: %.1f MiB, highest after "
      "it: %.1f MiB (+%.2f%%)\n",
      what, rss[0], kSettle, settled, peak, 100.0 * (peak / settled - 1.0));
  EXPECT_LE(peak, settled * 1.01) << what;
}

TEST(FlatMemory, Classify200Inputs) {
  GAZE_REQUIRE_MODEL("nsfwjs_inception_v3.h5");
  expect_flat(
      rss_after_each_input("classify --model " + testing::model_path("nsfwjs_inception_v3.h5") +
                           TwoHundredInputs().folder()),
      "classify");
}

TEST(FlatMemory, Cam200Inputs) {
  GAZE_REQUIRE_MODEL("nsfwjs_inception_v3.h5");
  const std::string dir = ::testing::TempDir() + "/gaze_flat_memory";
  std::filesystem::create_directories(dir);
  expect_flat(rss_after_each_input("cam --top 2 --out-dir " + dir + " --model " +
                                   testing::model_path("nsfwjs_inception_v3.h5") +
                                   TwoHundredInputs().folder()),
              "cam");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gaze

#endif  // !defined(__SANITIZE_ADDRESS__)
