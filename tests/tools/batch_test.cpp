// Collections through the real binary: folders, shards run as concurrent processes, JSON Lines,
// --resume, mirrored panels, the summary line, lists on stdin, and Ctrl-C in the middle of a run.
// All on the committed tiny model (tiny_model.h) and copies of the .npy fixtures, so nothing
// skips.
#include <gtest/gtest.h>
#include <signal.h>

#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/fixtures.h"
#include "tests/tools/collection_support.h"
#include "tests/tools/run_gaze.h"
#include "tests/tools/tiny_model.h"

namespace gaze {
namespace {

using nlohmann::json;
using testing::copy;
using testing::make_collection;
using testing::npy;
using testing::RunOptions;
using testing::RunResult;
using testing::TempDir;
namespace fs = std::filesystem;

std::vector<json> read_jsonl(const std::string& path) {
  std::vector<json> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(json::parse(line, nullptr, false));
    EXPECT_FALSE(lines.back().is_discarded()) << path << ": not JSON: " << line;
  }
  return lines;
}

// Every file below `root`, relative, sorted.
std::vector<std::string> tree(const fs::path& root) {
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_regular_file()) files.push_back(fs::relative(e.path(), root).string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// A result line with its panel path made relative to the run's --out-dir, so that runs into
// different folders compare equal.
json without_out_dir(json line, const std::string& out_dir) {
  if (line.contains("outputs")) {
    std::string panel = line["outputs"]["panel"];
    line["outputs"]["panel"] = fs::relative(panel, out_dir).string();
  }
  return line;
}

std::map<std::string, json> by_input(const std::vector<json>& lines, const std::string& out_dir) {
  std::map<std::string, json> m;
  for (const json& l : lines) {
    EXPECT_EQ(m.count(l.at("input")), 0u) << "twice: " << l.at("input");
    m[l.at("input")] = without_out_dir(l, out_dir);
  }
  return m;
}

std::vector<std::string> cam_args(const std::string& out_dir, const std::string& jsonl) {
  return {"cam", "--model", testing::tiny_model(), "--out-dir", out_dir, "--jsonl", jsonl};
}

TEST(Batch, ThreeConcurrentShardsGiveExactlyTheResultsOfOneRun) {
  TempDir dir;
  const std::string photos = make_collection(dir);
  std::vector<std::string> args = cam_args(dir / "one", dir / "one.jsonl");
  args.push_back(photos);
  const RunResult whole = testing::run_gaze(args);
  EXPECT_EQ(whole.exit_code, 1) << "the corrupt file fails the run";
  const std::vector<json> lines = read_jsonl(dir / "one.jsonl");
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0].at("input"), photos + "/a/deep/y.npy");  // sorted, recursive
  EXPECT_EQ(lines[2].at("input"), photos + "/b/corrupt.jpg");
  EXPECT_TRUE(lines[2].contains("error"));
  EXPECT_EQ(lines[2].at("error").get<std::string>().rfind(photos + "/b/corrupt.jpg: ", 0), 0u);
  EXPECT_EQ(tree(dir / "one"), (std::vector<std::string>{"a/deep/y_gradcam.png", "a/x_gradcam.png",
                                                         "b/x_gradcam.png", "top_gradcam.png"}));
  const std::vector<std::string> err = whole.err_lines();
  ASSERT_EQ(err.size(), 2u) << whole.err;
  EXPECT_EQ(err[1].rfind("gaze: 4 done, 1 failed, 0 skipped in ", 0), 0u) << err[1];

  std::vector<std::future<RunResult>> shards;
  for (int i = 0; i < 3; ++i) {
    std::vector<std::string> a = cam_args(dir / "sharded", dir / ("s" + std::to_string(i)));
    a.insert(a.end(), {"--quiet", "--shard", std::to_string(i) + "/3", photos});
    shards.push_back(std::async(std::launch::async, [a] { return testing::run_gaze(a); }));
  }
  std::vector<json> merged;
  for (int i = 0; i < 3; ++i) {
    const RunResult r = shards[static_cast<size_t>(i)].get();
    EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.err;
    for (const json& l : read_jsonl(dir / ("s" + std::to_string(i)))) merged.push_back(l);
  }
  EXPECT_EQ(by_input(merged, dir / "sharded"), by_input(lines, dir / "one"));
  EXPECT_EQ(tree(dir / "sharded"), tree(dir / "one")) << "every panel once";
  for (const std::string& panel : tree(dir / "one")) {
    EXPECT_EQ(testing::read_whole_file(dir / ("one/" + panel)),
              testing::read_whole_file(dir / ("sharded/" + panel)))
        << panel;
  }
}

TEST(Batch, ResumeSkipsTheSucceededInputsAndRetriesTheFailed) {
  TempDir dir;
  const std::string photos = make_collection(dir);
  std::vector<std::string> args = cam_args(dir / "out", dir / "r.jsonl");
  args.push_back(photos);
  ASSERT_EQ(testing::run_gaze(args).exit_code, 1);
  args.insert(args.end() - 1, "--resume");
  const RunResult again = testing::run_gaze(args);
  EXPECT_EQ(again.exit_code, 1);
  ASSERT_EQ(again.err_lines().size(), 2u) << again.err;
  EXPECT_EQ(again.err_lines()[1].rfind("gaze: 0 done, 1 failed, 4 skipped in ", 0), 0u);
  const std::vector<json> lines = read_jsonl(dir / "r.jsonl");
  ASSERT_EQ(lines.size(), 6u) << "the failed input tried once more";
  EXPECT_EQ(lines[5].at("input"), photos + "/b/corrupt.jpg");

  fs::remove(photos + "/b/corrupt.jpg");  // the user fixes the collection
  copy(npy("clock_grey_mobilenet_v2.npy"), photos + "/b/corrupt.npy");
  const RunResult fixed = testing::run_gaze(args);
  EXPECT_EQ(fixed.exit_code, 0) << fixed.err;
  EXPECT_EQ(fixed.err_lines().back().rfind("gaze: 1 done, 0 failed, 4 skipped in ", 0), 0u);
  const std::string no_jsonl = testing::run_gaze({"cam", "--resume", photos}).err;
  EXPECT_NE(no_jsonl.find("--resume needs --jsonl"), std::string::npos) << no_jsonl;
}

TEST(Batch, ListsOnStandardInputAndEmptyFolders) {
  TempDir dir;
  const std::string photos = make_collection(dir);
  {
    std::ofstream list(dir / "list.txt");
    list << photos << "/top.npy\n\n" << photos << "/a\n";
  }
  RunOptions from_list;
  from_list.stdin_path = dir / "list.txt";
  const RunResult r = testing::run_gaze(
      {"classify", "--model", testing::tiny_model(), "--json", "--quiet", "@-"}, from_list);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> inputs;
  for (const std::string& line : r.out_lines()) inputs.push_back(json::parse(line).at("input"));
  EXPECT_EQ(inputs, (std::vector<std::string>{photos + "/top.npy", photos + "/a/deep/y.npy",
                                              photos + "/a/x.npy"}));
  fs::create_directory(dir / "empty");
  const RunResult none =
      testing::run_gaze({"classify", "--model", testing::tiny_model(), dir / "empty"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("no image or .npy file"), std::string::npos) << none.err;
}

// A full disk under the results file: one error line, the run stops (every later line would be
// lost too), exit 1.
TEST(Batch, AResultsFileThatCannotBeWrittenIsOneErrorAndStopsTheRun) {
  TempDir dir;
  const std::string photos = make_collection(dir);
  const RunResult r = testing::run_gaze({"classify", "--model", testing::tiny_model(), "--quiet",
                                         "--json", "--jsonl", "/dev/full", photos + "/a"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "gaze: error: /dev/full: cannot write (No space left on device)\n");
  EXPECT_EQ(r.out_lines().size(), 1u) << "the first input ran, the second did not:\n" << r.out;
}

// Ctrl-C, or SIGTERM (a cluster's scheduler ending a job), once the first result is written: the
// run stops after its current input, exits 128 + the signal, says how many inputs it did not
// start, leaves whole lines and whole panels only, and --resume then does exactly the rest.
class BatchSignalTest : public ::testing::TestWithParam<int> {};

TEST_P(BatchSignalTest, StopsAfterTheCurrentInputAndResumeFinishes) {
  const int signal = GetParam();
  const std::string name = signal == SIGINT ? "SIGINT" : "SIGTERM";
  TempDir dir;
  const int kInputs = 24;
  for (int i = 0; i < kInputs; ++i) {
    copy(npy("chelsea_mobilenet_v2.npy"), dir / ("photos/p" + std::to_string(100 + i) + ".npy"));
  }
  const std::string jsonl = dir / "r.jsonl";
  std::vector<std::string> args = cam_args(dir / "out", jsonl);
  args.push_back(dir / "photos");
  std::thread signaller;
  RunOptions options;
  options.before_exec = [&](pid_t pid) {
    signaller = std::thread([pid, jsonl, signal] {
      for (int i = 0; i < 6000 && testing::read_whole_file(jsonl).empty(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      ::kill(pid, signal);
    });
  };
  const RunResult stopped = testing::run_gaze(args, options);
  signaller.join();
  EXPECT_EQ(stopped.exit_code, 128 + signal) << stopped.err;
  const std::vector<json> first = read_jsonl(jsonl);
  ASSERT_GE(first.size(), 1u);
  EXPECT_LT(first.size(), static_cast<size_t>(kInputs)) << "the signal came too late to test";
  EXPECT_EQ(tree(dir / "out").size(), first.size()) << "a panel per line, no temporary";
  const std::string said = "stopped by " + name + ", " +
                           std::to_string(kInputs - static_cast<int>(first.size())) +
                           " not started";
  EXPECT_NE(stopped.err.find(said), std::string::npos) << stopped.err;

  args.insert(args.end() - 1, "--resume");
  const RunResult rest = testing::run_gaze(args);
  EXPECT_EQ(rest.exit_code, 0) << rest.err;
  const std::vector<json> all = read_jsonl(jsonl);
  EXPECT_EQ(all.size(), static_cast<size_t>(kInputs));
  EXPECT_EQ(by_input(all, dir / "out").size(), static_cast<size_t>(kInputs));
  EXPECT_EQ(tree(dir / "out").size(), static_cast<size_t>(kInputs));
}

INSTANTIATE_TEST_SUITE_P(Signals, BatchSignalTest, ::testing::Values(SIGINT, SIGTERM),
                         [](const ::testing::TestParamInfo<int>& param) {
                           return std::string(param.param == SIGINT ? "Sigint" : "Sigterm");
                         });

// Neither the lanes nor the overlap (collection/pipeline.h: three inputs at once, each on its own
// thread; or the next input decoded and the previous panel written while the network runs)
// change anything: with --jobs 3, --jobs 1 and --no-overlap, the same stdout, the same --jsonl
// lines in the same order, the same errors, byte-identical panels and --raw maps, for every kind
// of tile (averaged layers, guided methods, a rating footer, EXIF-turned photos).
TEST(Batch, TheLanesAndTheOverlapChangeNoResult) {
  TempDir dir;
  const std::string photos = make_collection(dir);
  for (const char* image : {"chelsea.jpg", "horse_rgba.png", "rocket_portrait.jpg"})
    copy(testing::fixture_path(std::string("images/") + image), photos + "/img/" + image);
  for (const char* image : {"orient_6.jpg", "coffee.webp"})
    copy(testing::fixture_path(std::string("images/pil/") + image), photos + "/img/pil/" + image);
  const std::vector<std::vector<std::string>> variants = {
      {"cam", "--top", "2", "--rating", "cat=10,dog=5"},
      {"cam", "--method", "guided-gradcam", "--layer", "top_conv", "--class", "dog", "--json"},
      {"cam", "--method", "guided-backprop"},
      {"cam", "--method", "gradcam++", "--signed", "--norm", "max", "--json"},
  };
  const std::map<std::string, std::vector<std::string>> modes = {
      {"lanes", {"--jobs", "3"}}, {"overlap", {"--jobs", "1"}}, {"sequential", {"--no-overlap"}}};
  int n = 0;
  for (const std::vector<std::string>& variant : variants) {
    const std::string name = "v" + std::to_string(n++);
    SCOPED_TRACE(name);
    std::map<std::string, RunResult> runs;
    for (const auto& [mode, mode_args] : modes) {
      std::vector<std::string> args = variant;
      const std::string out = dir / (name + "_" + mode);
      args.insert(args.end(), {"--model", testing::tiny_model(), "--jsonl", out + ".jsonl"});
      args.insert(args.end(), {"--out-dir", out});
      args.insert(args.end(), mode_args.begin(), mode_args.end());
      args.push_back(photos);
      runs[mode] = testing::run_gaze(args);
    }
    // The panel paths name each run's --out-dir; otherwise every byte is the same.
    auto same_dirs = [&](std::string text, const std::string& mode) {
      const std::string from = dir / (name + "_" + mode);
      for (size_t at; (at = text.find(from)) != std::string::npos;)
        text.replace(at, from.size(), "OUT");
      return text;
    };
    const RunResult& b = runs["sequential"];
    const std::vector<std::string> panels = tree(dir / (name + "_sequential"));
    EXPECT_EQ(panels.size(), 9u);
    for (const std::string mode : {"lanes", "overlap"}) {
      SCOPED_TRACE(mode);
      const RunResult& a = runs[mode];
      EXPECT_EQ(a.exit_code, 1) << "the corrupt file fails the run: " << a.err;
      EXPECT_EQ(b.exit_code, a.exit_code);
      EXPECT_EQ(same_dirs(a.out, mode), same_dirs(b.out, "sequential"));
      EXPECT_EQ(a.err_lines().front(), b.err_lines().front()) << "the corrupt file's error";
      const std::string lines_a = testing::read_whole_file(dir / (name + "_" + mode + ".jsonl"));
      EXPECT_EQ(std::count(lines_a.begin(), lines_a.end(), '\n'), 10);
      EXPECT_EQ(
          same_dirs(lines_a, mode),
          same_dirs(testing::read_whole_file(dir / (name + "_sequential.jsonl")), "sequential"));
      EXPECT_EQ(tree(dir / (name + "_" + mode)), panels);
      for (const std::string& panel : panels) {
        EXPECT_EQ(testing::read_whole_file(dir / (name + "_" + mode + "/" + panel)),
                  testing::read_whole_file(dir / (name + "_sequential/" + panel)))
            << panel;
      }
    }
  }
  // One input, --out and --raw: the single-file outputs are the same too.
  std::map<std::string, std::string> raw;
  for (const std::string mode : {"overlap", "sequential"}) {
    std::vector<std::string> args = {"cam",
                                     "--model",
                                     testing::tiny_model(),
                                     "--class",
                                     "cat",
                                     "--class",
                                     "dog",
                                     "--out",
                                     dir / (mode + ".png"),
                                     "--raw",
                                     dir / (mode + ".npy"),
                                     photos + "/img/chelsea.jpg"};
    if (mode == "sequential") args.push_back("--no-overlap");
    const RunResult r = testing::run_gaze(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    raw[mode] = testing::read_whole_file(dir / (mode + ".png")) +
                testing::read_whole_file(dir / (mode + "_cat_top_conv.npy"));
  }
  EXPECT_FALSE(raw["overlap"].empty());
  EXPECT_EQ(raw["overlap"], raw["sequential"]);
}

// classify in lanes (--jobs 3) prints and records what it prints in turn (--jobs 1), in the
// same order; --jobs out of range is one error before any input.
TEST(Batch, ClassifyInLanesGivesWhatItGivesInTurn) {
  TempDir dir;
  const std::string photos = make_collection(dir);
  std::map<std::string, RunResult> runs;
  for (const std::string jobs : {"1", "3"}) {
    runs[jobs] = testing::run_gaze({"classify", "--model", testing::tiny_model(), "--json",
                                    "--jobs", jobs, "--jsonl", dir / (jobs + ".jsonl"), photos});
  }
  EXPECT_EQ(runs["1"].exit_code, 1) << "the corrupt file fails the run: " << runs["1"].err;
  EXPECT_EQ(runs["3"].exit_code, runs["1"].exit_code);
  EXPECT_GE(runs["1"].out_lines().size(), 4u);
  EXPECT_EQ(runs["3"].out, runs["1"].out);
  EXPECT_EQ(runs["3"].err_lines().front(), runs["1"].err_lines().front());
  EXPECT_EQ(testing::read_whole_file(dir / "3.jsonl"), testing::read_whole_file(dir / "1.jsonl"));
  for (const std::string jobs : {"0", "65", "x"}) {
    const RunResult r =
        testing::run_gaze({"classify", "--model", testing::tiny_model(), "--jobs", jobs, photos});
    EXPECT_EQ(r.exit_code, 1) << jobs;
    EXPECT_EQ(r.err_lines().size(), 1u) << r.err;
    EXPECT_EQ(r.out, "") << jobs;
  }
}

// examples/cluster/gaze-shard.sh as Slurm and Kubernetes run it: three tasks, told their index
// the way each engine tells it, together give one run's results.
int run_shard_script(const std::string& engine_env, const std::string& out, const std::string& in) {
  const std::string command = engine_env + " GAZE=" + std::string(GAZE_BINARY) +
                              " GAZE_INPUT=" + in + " GAZE_OUT=" + out + " OMP_NUM_THREADS=1 " +
                              testing::source_path("examples/cluster/gaze-shard.sh") +
                              " --quiet --model " + testing::tiny_model() + " >/dev/null 2>&1";
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(Batch, TheClusterScriptRunsOneShardPerSlurmOrKubernetesTask) {
  TempDir dir;
  const std::string photos = make_collection(dir);
  std::vector<std::string> args = cam_args(dir / "one", dir / "one.jsonl");
  args.insert(args.end(), {"--quiet", photos});
  ASSERT_EQ(testing::run_gaze(args).exit_code, 1);
  std::vector<json> slurm, kubernetes;
  for (int i = 0; i < 3; ++i) {
    const std::string index = std::to_string(i);
    EXPECT_LE(run_shard_script("SLURM_ARRAY_TASK_ID=" + index + " SLURM_ARRAY_TASK_COUNT=3",
                               dir / "slurm", photos),
              1);
    EXPECT_LE(
        run_shard_script("JOB_COMPLETION_INDEX=" + index + " GAZE_SHARDS=3", dir / "k8s", photos),
        1);
    for (const json& l : read_jsonl(dir / ("slurm/results-" + index + ".jsonl")))
      slurm.push_back(l);
    for (const json& l : read_jsonl(dir / ("k8s/results-" + index + ".jsonl")))
      kubernetes.push_back(l);
  }
  const auto whole = by_input(read_jsonl(dir / "one.jsonl"), dir / "one");
  EXPECT_EQ(by_input(slurm, dir / "slurm/panels"), whole);
  EXPECT_EQ(by_input(kubernetes, dir / "k8s/panels"), whole);
  EXPECT_EQ(tree(dir / "slurm/panels"), tree(dir / "one"));
  EXPECT_EQ(run_shard_script("", dir / "none", photos), 2) << "no index: refused";
}

}  // namespace
}  // namespace gaze
