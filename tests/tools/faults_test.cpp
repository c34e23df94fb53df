// Faults a batch must survive (issue 14.4, issue 11.8), through the real binary on the committed
// tiny model (tiny_model.h) and copies of the .npy fixtures:
//  - an output folder or results file that cannot be created, also for root (tests run as root
//    in CI, where a chmod 555 folder stops nothing): a regular file used as a folder, and /proc;
//  - an input that vanishes between the listing and its reading;
//  - a model file replaced on disk while a batch runs;
//  - SIGINT and SIGTERM mid-batch: no partial file, a valid JSONL that --resume continues, and
//    together the two runs give exactly the results of one uninterrupted run;
//  - SIGKILL mid-batch: no corrupt line (one write(2) per line), at most the current input's
//    line lost, and --resume again completes the results.
// (A full disk is write_errors_test.cpp's and batch_test.cpp's.)
//
// Timing is made deterministic without sleeps where it matters: the first input is a FIFO, which
// gaze opens only after it listed its inputs and loaded its model, and which blocks it until the
// test has done its deed (deleted an input, replaced the model) and fed the FIFO. Signals are
// sent once a line has appeared in the JSONL, waited for with a generous timeout.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "cam/image.h"
#include "tests/support/fixtures.h"
#include "tests/tools/collection_support.h"
#include "tests/tools/run_gaze.h"
#include "tests/tools/tiny_model.h"

namespace gaze {
namespace {

using nlohmann::json;
using testing::copy;
using testing::npy;
using testing::RunOptions;
using testing::RunResult;
using testing::TempDir;
using testing::tiny_model;
namespace fs = std::filesystem;

constexpr auto kTimeout = std::chrono::seconds(120);

// The lines of a JSONL file; a line that is not JSON, or a last line without its '\n', is a
// test failure.
std::vector<json> read_jsonl(const std::string& path) {
  const std::string text = testing::read_whole_file(path);
  EXPECT_TRUE(text.empty() || text.back() == '\n') << path << " ends inside a line";
  std::vector<json> lines;
  for (const std::string& line : RunResult::split_lines(text)) {
    lines.push_back(json::parse(line, nullptr, false));
    EXPECT_FALSE(lines.back().is_discarded()) << path << ": not JSON: " << line;
  }
  return lines;
}

// Every file below `root`, relative, sorted.
std::vector<std::string> tree(const fs::path& root) {
  std::vector<std::string> files;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file()) files.push_back(fs::relative(it->path(), root).string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Results by input, panel paths relative to the run's --out-dir.
std::map<std::string, json> by_input(const std::vector<json>& lines, const std::string& out_dir) {
  std::map<std::string, json> m;
  for (json l : lines) {
    if (l.contains("outputs")) {
      const std::string panel = l["outputs"]["panel"];
      l["outputs"]["panel"] = fs::relative(panel, out_dir).string();
    }
    m[l.at("input")] = l;
  }
  return m;
}

// Waits until `done` holds, polling every 5 ms; false after kTimeout.
bool wait_for(const std::function<bool()>& done) {
  const auto until = std::chrono::steady_clock::now() + kTimeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// A FIFO in place of an input file. gaze, reading it, blocks until feed() opens the other end;
// feed() then runs `meanwhile` (gaze has listed its inputs and loaded its model by then, and
// reads nothing else until the FIFO's bytes arrive), writes the bytes and closes.
class FifoInput {
 public:
  FifoInput(const std::string& path, std::string bytes) : path_(path), bytes_(std::move(bytes)) {
    fs::create_directories(fs::path(path).parent_path());
    EXPECT_EQ(::mkfifo(path.c_str(), 0600), 0) << path << ": " << std::strerror(errno);
  }

  // False when gaze never opened the FIFO within kTimeout.
  bool feed(const std::function<void()>& meanwhile) {
    int fd = -1;
    // O_NONBLOCK: opening for writing fails with ENXIO until a reader has it open.
    if (!wait_for([&] { return (fd = ::open(path_.c_str(), O_WRONLY | O_NONBLOCK)) >= 0; }))
      return false;
    ::fcntl(fd, F_SETFL, 0);
    meanwhile();
    for (size_t at = 0; at < bytes_.size();) {
      const ssize_t n = ::write(fd, bytes_.data() + at, bytes_.size() - at);
      if (n <= 0) break;
      at += static_cast<size_t>(n);
    }
    ::close(fd);
    return true;
  }

 private:
  std::string path_;
  std::string bytes_;
};

std::vector<std::string> classify_args(const std::string& model, const std::string& jsonl) {
  return {"classify", "--model", model, "--json", "--quiet", "--jsonl", jsonl};
}

std::vector<std::string> cam_args(const std::string& out_dir, const std::string& jsonl) {
  return {"cam", "--model", tiny_model(), "--quiet", "--out-dir", out_dir, "--jsonl", jsonl};
}

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

// ---------------------------------------------------------------------------------------------
// Outputs that cannot be created, for root too.

// gaze failed cleanly with exactly one line "gaze: error: <mentions...>" and exit code 1.
void expect_one_error(const RunResult& r, const std::vector<std::string>& mentions) {
  EXPECT_TRUE(r.exited()) << "signal " << r.signal << "\n" << r.err;
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const std::vector<std::string> lines = r.err_lines();
  ASSERT_EQ(lines.size(), 1u) << r.err;
  EXPECT_EQ(lines[0].rfind("gaze: error: ", 0), 0u) << lines[0];
  for (const std::string& m : mentions) EXPECT_NE(lines[0].find(m), std::string::npos) << lines[0];
}

TEST(Faults, AnOutputFolderUnderARegularFileIsOneErrorAndNoFile) {
  TempDir dir;
  std::ofstream(dir / "plain") << "a file, not a folder";
  const std::string input = npy("chelsea_mobilenet_v2.npy");
  // --out into a folder that cannot exist: a regular file as its parent (ENOTDIR, also for root).
  const std::string out = dir / "plain/panel.png";
  expect_one_error(testing::run_gaze({"cam", "--model", tiny_model(), "--out", out, input}), {out});
  // --jsonl likewise: refused before any input runs, nothing printed.
  const std::string jsonl = dir / "plain/r.jsonl";
  const RunResult results = testing::run_gaze(with(classify_args(tiny_model(), jsonl), {input}));
  expect_one_error(results, {jsonl, "Not a directory"});
  EXPECT_EQ(results.out, "");
  EXPECT_EQ(tree(dir.path()), std::vector<std::string>{"plain"});
}

TEST(Faults, AnOutDirThatCannotBeCreatedIsOneErrorBeforeAnyInput) {
  TempDir dir;
  std::ofstream(dir / "plain") << "a file, not a folder";
  const std::string input = npy("chelsea_mobilenet_v2.npy");
  for (const std::string& out_dir : {dir / "plain/panels", std::string("/proc/gaze-no-such/dir")}) {
    const RunResult r = testing::run_gaze(
        {"cam", "--model", tiny_model(), "--quiet", "--out-dir", out_dir, input, input});
    expect_one_error(r, {out_dir + ": cannot create the folder ("});
    EXPECT_EQ(r.out, "");
    EXPECT_FALSE(fs::exists(out_dir));
  }
  EXPECT_EQ(tree(dir.path()), std::vector<std::string>{"plain"});
}

TEST(Faults, AResultsFileUnderProcIsOneError) {
  const RunResult r = testing::run_gaze(with(
      classify_args(tiny_model(), "/proc/gaze-no-such.jsonl"), {npy("chelsea_mobilenet_v2.npy")}));
  expect_one_error(r, {"/proc/gaze-no-such.jsonl", "cannot open the results file"});
  EXPECT_EQ(r.out, "");
}

// ---------------------------------------------------------------------------------------------
// An input deleted after the listing, before its turn: its error line, and the batch goes on.

TEST(Faults, AnInputThatVanishesAfterTheListingIsAnErrorLineAndTheBatchGoesOn) {
  TempDir dir;
  const std::string photos = dir / "photos";
  FifoInput first(photos + "/a.npy", testing::read_whole_file(npy("chelsea_mobilenet_v2.npy")));
  copy(npy("coffee_mobilenet_v2.npy"), photos + "/b.npy");
  copy(npy("astronaut_299_mobilenet_v2.npy"), photos + "/c.npy");
  const std::string jsonl = dir / "r.jsonl";
  // --jobs 1: inputs in turn, so b.npy is opened only after a.npy was read (in lanes another
  // lane would open it while a.npy's reader waits).
  auto run = std::async(std::launch::async, [&] {
    return testing::run_gaze(with(classify_args(tiny_model(), jsonl), {"--jobs", "1", photos}));
  });
  EXPECT_TRUE(first.feed([&] { fs::remove(photos + "/b.npy"); })) << "gaze never read a.npy";
  const RunResult r = run.get();
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const std::vector<std::string> err = r.err_lines();
  ASSERT_EQ(err.size(), 1u) << r.err;
  EXPECT_EQ(err[0], "gaze: error: " + photos + "/b.npy: cannot open (No such file or directory)");
  const std::vector<json> lines = read_jsonl(jsonl);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].at("input"), photos + "/a.npy");
  EXPECT_TRUE(lines[0].contains("predictions"));
  EXPECT_EQ(lines[1].at("input"), photos + "/b.npy");
  EXPECT_EQ(lines[1].at("error"), photos + "/b.npy: cannot open (No such file or directory)");
  EXPECT_EQ(lines[2].at("input"), photos + "/c.npy");
  EXPECT_TRUE(lines[2].contains("predictions"));
}

// ---------------------------------------------------------------------------------------------
// The model file replaced while a batch runs: the running model is the one loaded at the start.

TEST(Faults, AModelFileReplacedMidBatchDoesNotChangeTheRunningModel) {
  TempDir dir, models;
  const std::string other = testing::convert_tiny("quantized", models);
  ASSERT_FALSE(other.empty());
  const std::string photos = dir / "photos";
  copy(npy("coffee_mobilenet_v2.npy"), photos + "/b.npy");
  copy(npy("astronaut_299_mobilenet_v2.npy"), photos + "/c.npy");
  // The references: each model over the same inputs in one go (a.npy a regular copy).
  copy(npy("chelsea_mobilenet_v2.npy"), dir / "ref/a.npy");
  copy(photos + "/b.npy", dir / "ref/b.npy");
  copy(photos + "/c.npy", dir / "ref/c.npy");
  auto predictions = [](const std::vector<json>& lines) {
    std::vector<json> p;
    for (const json& l : lines) p.push_back(l.at("predictions"));
    return p;
  };
  ASSERT_EQ(testing::run_gaze(with(classify_args(tiny_model(), dir / "tiny.jsonl"), {dir / "ref"}))
                .exit_code,
            0);
  ASSERT_EQ(
      testing::run_gaze(with(classify_args(other, dir / "other.jsonl"), {dir / "ref"})).exit_code,
      0);
  const std::vector<json> expected = predictions(read_jsonl(dir / "tiny.jsonl"));
  ASSERT_NE(expected, predictions(read_jsonl(dir / "other.jsonl")))
      << "the two models must differ for this test to see a swap";

  // Replaced in place (truncated and rewritten: what `cp` does) and by a rename over it.
  for (const bool in_place : {true, false}) {
    SCOPED_TRACE(in_place ? "rewritten in place" : "renamed over");
    const std::string model = dir / "model.h5";
    fs::copy_file(tiny_model(), model, fs::copy_options::overwrite_existing);
    fs::remove(photos + "/a.npy");
    FifoInput first(photos + "/a.npy", testing::read_whole_file(npy("chelsea_mobilenet_v2.npy")));
    const std::string jsonl = dir / (in_place ? "in_place.jsonl" : "renamed.jsonl");
    auto run = std::async(std::launch::async, [&] {
      return testing::run_gaze(with(classify_args(model, jsonl), {photos}));
    });
    EXPECT_TRUE(first.feed([&] {
      if (in_place) {
        std::ofstream(model, std::ios::binary | std::ios::trunc) << testing::read_whole_file(other);
      } else {
        fs::copy_file(other, model + ".new");
        fs::rename(model + ".new", model);
      }
    }));
    const RunResult r = run.get();
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(predictions(read_jsonl(jsonl)), expected);
  }
}

// ---------------------------------------------------------------------------------------------
// Signals mid-batch.

struct Collection {
  std::string photos;
  static constexpr int kInputs = 16;
};

Collection make_inputs(const TempDir& dir) {
  const std::vector<std::string> sources = {"chelsea_mobilenet_v2.npy", "coffee_mobilenet_v2.npy",
                                            "astronaut_299_mobilenet_v2.npy",
                                            "horse_rgba_mobilenet_v2.npy"};
  Collection c{dir / "photos"};
  for (int i = 0; i < Collection::kInputs; ++i) {
    copy(npy(sources[static_cast<size_t>(i) % sources.size()]),
         c.photos + "/" + (i % 2 ? "odd/" : "even/") + "p" + std::to_string(10 + i) + ".npy");
  }
  return c;
}

// Runs `args`, sending `signal` once the JSONL has its first line.
RunResult run_and_signal(const std::vector<std::string>& args, const std::string& jsonl,
                         int signal) {
  std::thread sender;
  RunOptions options;
  options.expected_signal = signal;
  options.before_exec = [&](pid_t pid) {
    sender = std::thread([pid, jsonl, signal] {
      EXPECT_TRUE(wait_for([&] { return !testing::read_whole_file(jsonl).empty(); }))
          << "no line appeared in " << jsonl;
      ::kill(pid, signal);
    });
  };
  const RunResult r = testing::run_gaze(args, options);
  sender.join();
  return r;
}

class StopSignalTest : public ::testing::TestWithParam<int> {};

TEST_P(StopSignalTest, StopsAfterTheCurrentInputAndResumeGivesTheResultsOfOneRun) {
  const int signal = GetParam();
  TempDir dir;
  const Collection c = make_inputs(dir);
  const RunResult whole =
      testing::run_gaze(with(cam_args(dir / "one", dir / "one.jsonl"), {c.photos}));
  ASSERT_EQ(whole.exit_code, 0) << whole.err;

  const std::string jsonl = dir / "r.jsonl";
  const std::vector<std::string> args = with(cam_args(dir / "out", jsonl), {c.photos});
  const RunResult stopped = run_and_signal(args, jsonl, signal);
  EXPECT_EQ(stopped.exit_code, 128 + signal) << stopped.err;
  EXPECT_EQ(stopped.err.find("Sanitizer"), std::string::npos) << stopped.err;
  const std::vector<json> first = read_jsonl(jsonl);
  ASSERT_GE(first.size(), 1u);
  EXPECT_LT(first.size(), static_cast<size_t>(Collection::kInputs))
      << "the signal came too late to test";
  // No partial file: a finished panel per line, no temporary.
  std::vector<std::string> panels;
  for (const auto& [input, line] : by_input(first, dir / "out"))
    panels.push_back(line.at("outputs").at("panel"));
  std::sort(panels.begin(), panels.end());
  EXPECT_EQ(tree(dir / "out"), panels);

  const RunResult rest =
      testing::run_gaze(with(cam_args(dir / "out", jsonl), {"--resume", c.photos}));
  EXPECT_EQ(rest.exit_code, 0) << rest.err;
  EXPECT_EQ(by_input(read_jsonl(jsonl), dir / "out"),
            by_input(read_jsonl(dir / "one.jsonl"), dir / "one"));
  EXPECT_EQ(read_jsonl(jsonl).size(), static_cast<size_t>(Collection::kInputs)) << "no line twice";
  EXPECT_EQ(tree(dir / "out"), tree(dir / "one"));
  for (const std::string& panel : tree(dir / "one")) {
    EXPECT_EQ(testing::read_whole_file(dir / ("one/" + panel)),
              testing::read_whole_file(dir / ("out/" + panel)))
        << panel;
  }
}

INSTANTIATE_TEST_SUITE_P(Signals, StopSignalTest, ::testing::Values(SIGINT, SIGTERM),
                         [](const ::testing::TestParamInfo<int>& param) {
                           return std::string(param.param == SIGINT ? "Sigint" : "Sigterm");
                         });

// SIGKILL cannot be caught: whatever was written stays. Each line is one write(2) of the whole
// line (collection/jsonl.cpp), so the file holds whole lines only; a panel whose line was not yet
// written may exist (complete: panels are renamed into place), and its temporary may remain.
TEST(Faults, SigkillLosesAtMostTheCurrentInputsLineAndNeverCorruptsOne) {
  TempDir dir;
  const Collection c = make_inputs(dir);
  const RunResult whole =
      testing::run_gaze(with(cam_args(dir / "one", dir / "one.jsonl"), {c.photos}));
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  const auto expected = by_input(read_jsonl(dir / "one.jsonl"), dir / "one");

  const std::string jsonl = dir / "r.jsonl";
  const RunResult killed =
      run_and_signal(with(cam_args(dir / "out", jsonl), {c.photos}), jsonl, SIGKILL);
  EXPECT_EQ(killed.signal, SIGKILL);
  const std::vector<json> first = read_jsonl(jsonl);  // fails on a partial or corrupt line
  ASSERT_GE(first.size(), 1u);
  ASSERT_LT(first.size(), static_cast<size_t>(Collection::kInputs)) << "killed too late to test";
  for (const auto& [input, line] : by_input(first, dir / "out")) {
    EXPECT_EQ(line, expected.at(input)) << "a recorded line differs from the one-go run's";
  }
  // Finished panels: one per line, at most one more (the current input's, its line not written).
  size_t finished = 0;
  for (const std::string& file : tree(dir / "out")) {
    if (file.find(".tmp-") != std::string::npos) continue;  // a temporary the kill left
    ++finished;
    EXPECT_EQ(testing::read_whole_file(dir / ("out/" + file)),
              testing::read_whole_file(dir / ("one/" + file)))
        << file << " is not the complete panel";
  }
  EXPECT_GE(finished, first.size());
  EXPECT_LE(finished, first.size() + 1);

  const RunResult rest =
      testing::run_gaze(with(cam_args(dir / "out", jsonl), {"--resume", c.photos}));
  EXPECT_EQ(rest.exit_code, 0) << rest.err;
  EXPECT_EQ(by_input(read_jsonl(jsonl), dir / "out"), expected);
  EXPECT_EQ(read_jsonl(jsonl).size(), static_cast<size_t>(Collection::kInputs));
}

}  // namespace
}  // namespace gaze
