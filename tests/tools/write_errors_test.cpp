// A failed write is an error, and nothing half-written appears: for every kind of output (the panel
// as PNG and as JPEG, --raw .npy maps, convert's .h5, the JSON and text on stdout), a write that
// fails gives one line "gaze: error: <file>: cannot write (<reason>)" and exit code 1; the
// temporary is removed and a file that was already there stays as it was. In a batch the other
// inputs still go through.
//
// Three ways to make writes fail:
//  - a file size limit (RLIMIT_FSIZE, SIGXFSZ ignored): every write past the limit fails with
//    EFBIG. Needs no root, so it always runs: the portable disk-full simulation.
//  - /dev/full under the temporary's name (a symlink made before gaze starts; the name has
//    gaze's pid in it): every write fails with ENOSPC, the error of a full disk.
//  - a small tmpfs, filled up: a real full disk, as a user meets it. Mounting needs root
//    (CAP_SYS_ADMIN); where that is impossible the case skips, and fails under CI.
//
// The model is the committed tiny TF.js model (tiny_model.h), so that nothing here needs the
// fetched models.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "cam/image.h"
#include "tensor/atomic_write.h"
#include "tests/support/fixtures.h"
#include "tests/tools/run_gaze.h"
#include "tests/tools/tiny_model.h"

namespace gaze {
namespace {

using testing::RunOptions;
using testing::RunResult;
using testing::TempDir;
using testing::tiny_model;
namespace fs = std::filesystem;

const std::string kOld = "the file that was there before\n";

std::string image(const std::string& name) {
  return testing::fixture_path("images/" + name);
}

std::string read_file(const std::string& path) {
  return testing::read_whole_file(path);
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

// The names in a folder, sorted.
std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// A 16x16 photo: its panel is a few KB, far smaller than a 299x299 photo's.
std::string small_image(const TempDir& dir) {
  Image img{16, 16, std::vector<uint8_t>(16 * 16 * 3)};
  for (size_t i = 0; i < img.rgb.size(); ++i) img.rgb[i] = static_cast<uint8_t>(i * 37 % 251);
  const std::string path = dir / "small.png";
  save_image(path, img);
  return path;
}

// A tmpfs of `size` mounted on a fresh folder for the object's lifetime.
class Tmpfs {
 public:
  explicit Tmpfs(const std::string& size) : path_(base_ / "mnt") {
    fs::create_directory(path_);
    const std::string options = "size=" + size;
    if (::mount("tmpfs", path_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) == 0) {
      mounted_ = true;
    } else {
      error_ = std::string("cannot mount a tmpfs on ") + path_ + " (" + std::strerror(errno) +
               "; it needs root or CAP_SYS_ADMIN)";
    }
  }
  ~Tmpfs() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  Tmpfs(const Tmpfs&) = delete;
  Tmpfs& operator=(const Tmpfs&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  const std::string& path() const { return path_; }

  // Takes all the space left with a file named "filler": after this every write of data fails.
  void fill() const {
    std::FILE* f = std::fopen((path_ + "/filler").c_str(), "wb");
    ASSERT_NE(f, nullptr);
    const std::string block(4096, 'x');
    while (std::fwrite(block.data(), 1, block.size(), f) == block.size() && std::fflush(f) == 0) {
    }
    const int error = errno;
    std::fclose(f);
    ASSERT_EQ(error, ENOSPC) << "the filler stopped for another reason: " << std::strerror(error);
  }

 private:
  TempDir base_;
  std::string path_;
  bool mounted_ = false;
  std::string error_;
};

// ---------------------------------------------------------------------------------------------
// The outputs.

struct Output {
  std::string name;
  std::string file;  // the file that fails to be written, in the output folder; "" for stdout
  // The command writing it into folder `out`; `inputs` is a folder for inputs (never full).
  std::function<std::vector<std::string>(const std::string& out, const TempDir& inputs)> args;
  rlim_t limit;  // a file size limit that makes this output (and nothing before it) fail
};

std::vector<Output> outputs() {
  return {
      {"PanelPng", "panel.png",
       [](const std::string& out, const TempDir&) -> std::vector<std::string> {
         return {"cam",   "--model",          tiny_model(),
                 "--out", out + "/panel.png", image("astronaut_299.png")};
       },
       16 << 10},
      {"PanelJpg", "panel.jpg",
       [](const std::string& out, const TempDir&) -> std::vector<std::string> {
         return {"cam",   "--model",          tiny_model(),
                 "--out", out + "/panel.jpg", image("astronaut_299.png")};
       },
       16 << 10},
      // The raw map (26x26 float32, 2.8 KB) is written before the panel.
      {"RawNpy", "map.npy",
       [](const std::string& out, const TempDir& inputs) -> std::vector<std::string> {
         return {"cam",
                 "--model",
                 tiny_model(),
                 "--raw",
                 out + "/map.npy",
                 "--out",
                 inputs / "panel.png",
                 small_image(inputs)};
       },
       1 << 10},
      {"ConvertH5", "model.h5",
       [](const std::string& out, const TempDir&) -> std::vector<std::string> {
         return {"convert", "--force", testing::tiny_fixture("tiny.json"), out + "/model.h5"};
       },
       8 << 10},
      {"ClassifyJsonStdout", "",
       [](const std::string&, const TempDir&) -> std::vector<std::string> {
         return {"classify", "--model", tiny_model(), "--json",
                 testing::fixture_path("npy/chelsea_mobilenet_v2.npy")};
       },
       100},
      {"ClassifyTextStdout", "",
       [](const std::string&, const TempDir&) -> std::vector<std::string> {
         return {"classify", "--model", tiny_model(),
                 testing::fixture_path("npy/chelsea_mobilenet_v2.npy")};
       },
       100},
      // The panel goes to the input folder (not full); the JSON line with its maps is ~10 KB.
      {"CamJsonStdout", "",
       [](const std::string&, const TempDir& inputs) -> std::vector<std::string> {
         return {"cam",
                 "--model",
                 tiny_model(),
                 "--json",
                 "--out",
                 inputs / "panel.png",
                 small_image(inputs)};
       },
       4 << 10},
  };
}

enum class Failure { kFileSizeLimit, kDevFull, kFullTmpfs };

struct Case {
  Output output;
  Failure failure;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.output.name;
}

std::vector<Case> cases() {
  std::vector<Case> all;
  for (const Output& o : outputs()) {
    for (Failure f : {Failure::kFileSizeLimit, Failure::kDevFull, Failure::kFullTmpfs})
      all.push_back({o, f});
  }
  return all;
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  const char* failure[] = {"FileSizeLimit", "DevFull", "FullTmpfs"};
  return info.param.output.name + "_" + failure[static_cast<int>(info.param.failure)];
}

const char* reason_of(Failure f) {
  return f == Failure::kFileSizeLimit ? "File too large" : "No space left on device";
}

// The one error line gaze must print.
::testing::AssertionResult one_write_error(const RunResult& r, const std::string& file,
                                           Failure failure) {
  const std::string want = "gaze: error: " + file + ": cannot write (" + reason_of(failure) + ")";
  if (r.exited() && r.exit_code == 1 && r.err == want + "\n") return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "exit code " << r.exit_code << ", signal " << r.signal << "\nstderr: [" << r.err
         << "]\nwanted: [" << want << "\\n]";
}

class WriteErrorTest : public ::testing::TestWithParam<Case> {};

TEST_P(WriteErrorTest, IsOneErrorLineAndLeavesTheOldFile) {
  const Output& output = GetParam().output;
  const Failure failure = GetParam().failure;
  ASSERT_FALSE(tiny_model().empty());
  TempDir inputs, plain;
  std::unique_ptr<Tmpfs> tmpfs;
  if (failure == Failure::kFullTmpfs) {
    tmpfs = std::make_unique<Tmpfs>("64k");
    if (!tmpfs->mounted()) {
      GAZE_CANNOT_RUN(tmpfs->error());
    }
  }
  const std::string out = tmpfs ? tmpfs->path() : plain.path();
  const bool to_stdout = output.file.empty();
  const std::string target = to_stdout ? "" : out + "/" + output.file;
  if (!to_stdout) write_file(target, kOld);
  const std::vector<std::string> args = output.args(out, inputs);  // inputs made before filling

  RunOptions options;
  if (failure == Failure::kFileSizeLimit) options.file_size_limit = output.limit;
  if (failure == Failure::kFullTmpfs) {
    if (to_stdout) options.stdout_path = out + "/stdout.txt";
    tmpfs->fill();
  }
  if (failure == Failure::kDevFull) {
    if (to_stdout) {
      options.stdout_path = "/dev/full";
    } else {
      options.before_exec = [&](pid_t pid) {
        fs::create_symlink("/dev/full", temporary_path_for(target, pid));
      };
    }
  }
  const RunResult r = testing::run_gaze(args, options);

  EXPECT_TRUE(one_write_error(r, to_stdout ? "stdout" : target, failure));
  std::vector<std::string> expected;
  if (!to_stdout) {
    // (A renamed /dev/full symlink would read forever.)
    ASSERT_FALSE(fs::is_symlink(target)) << "the /dev/full symlink was renamed into place";
    EXPECT_EQ(read_file(target), kOld) << "the old file was replaced";
    expected.push_back(output.file);
  }
  if (tmpfs) {
    expected.push_back("filler");
    if (to_stdout) expected.push_back("stdout.txt");
    std::sort(expected.begin(), expected.end());
  }
  EXPECT_EQ(files_in(out), expected) << "a temporary or a partial file was left behind";
}

INSTANTIATE_TEST_SUITE_P(Outputs, WriteErrorTest, ::testing::ValuesIn(cases()), case_name);

// ---------------------------------------------------------------------------------------------
// The case: `gaze cam --out-dir` on a 200 KB tmpfs, two photos whose panels do not fit
// and one that does. Each failure is its line; the third panel is written; exit code 1.

void expect_batch_result(const RunResult& r, const std::string& out, const std::string& small,
                         Failure failure) {
  const std::vector<std::string> errors = r.err_lines();
  ASSERT_EQ(errors.size(), 3u) << r.err;  // two failures, then the summary
  const std::string reason = std::string(": cannot write (") + reason_of(failure) + ")";
  EXPECT_EQ(errors[0], "gaze: error: " + out + "/astronaut_299_gradcam.png" + reason);
  EXPECT_EQ(errors[1], "gaze: error: " + out + "/chelsea_gradcam.png" + reason);
  EXPECT_EQ(errors[2].rfind("gaze: 1 done, 2 failed, 0 skipped in ", 0), 0u) << errors[2];
  EXPECT_EQ(r.exit_code, 1);
  const std::vector<std::string> lines = r.out_lines();
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0], small + " -> " + out + "/small_gradcam.png");
  EXPECT_EQ(r.out.find("astronaut"), std::string::npos) << "a failed panel's path was printed";
  EXPECT_EQ(load_image(out + "/small_gradcam.png").width, 4 + 2 * (16 + 4));
}

std::vector<std::string> batch_args(const std::string& out, const std::string& small) {
  return {"cam",
          "--model",
          tiny_model(),
          "--out-dir",
          out,
          image("astronaut_299.png"),
          image("chelsea.jpg"),
          small};
}

TEST(WriteErrorBatch, FullTmpfsFailsTheBigPanelsOnly) {
  ASSERT_FALSE(tiny_model().empty());
  TempDir inputs;
  const std::string small = small_image(inputs);
  Tmpfs tmpfs("200k");
  if (!tmpfs.mounted()) {
    GAZE_CANNOT_RUN(tmpfs.error());
  }
  const RunResult r = testing::run_gaze(batch_args(tmpfs.path(), small));
  expect_batch_result(r, tmpfs.path(), small, Failure::kFullTmpfs);
  EXPECT_EQ(files_in(tmpfs.path()), std::vector<std::string>{"small_gradcam.png"});
}

TEST(WriteErrorBatch, FileSizeLimitFailsTheBigPanelsOnly) {
  ASSERT_FALSE(tiny_model().empty());
  TempDir inputs, out;
  const std::string small = small_image(inputs);
  RunOptions options;
  options.file_size_limit = 16 << 10;
  const RunResult r = testing::run_gaze(batch_args(out.path(), small), options);
  expect_batch_result(r, out.path(), small, Failure::kFileSizeLimit);
  EXPECT_EQ(files_in(out.path()), std::vector<std::string>{"small_gradcam.png"});
}

TEST(WriteErrorBatch, DevFullFailsTheBigPanelsOnly) {
  ASSERT_FALSE(tiny_model().empty());
  TempDir inputs, out;
  const std::string small = small_image(inputs);
  RunOptions options;
  options.before_exec = [&](pid_t pid) {
    for (const char* panel : {"/astronaut_299_gradcam.png", "/chelsea_gradcam.png"})
      fs::create_symlink("/dev/full", temporary_path_for(out.path() + panel, pid));
  };
  const RunResult r = testing::run_gaze(batch_args(out.path(), small), options);
  expect_batch_result(r, out.path(), small, Failure::kDevFull);
  EXPECT_EQ(files_in(out.path()), std::vector<std::string>{"small_gradcam.png"});
}

}  // namespace
}  // namespace gaze
