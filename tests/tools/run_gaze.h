// Runs the built gaze binary (GAZE_BINARY) as a child process, the way a user would: argv array
// (no shell, so no quoting issues), stdout and stderr captured separately, exit code or signal;
// optionally with a file size limit or stdout sent elsewhere (RunOptions). Also a fresh temporary
// folder per test.
//
// Sanitizer builds: the child gets exitcode=86 for ASan/UBSan/LSan and every run is checked for a
// sanitizer report, which is then a test failure (ADD_FAILURE) with the child's stderr shown, even
// when the test itself expected the run to fail.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace gaze::testing {

// A fresh folder under $TMPDIR (or /tmp), removed with everything in it at the end of the scope.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/gaze-cli-XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (!::mkdtemp(buffer.data())) {
      ADD_FAILURE() << "mkdtemp(" << pattern << "): " << std::strerror(errno);
      return;
    }
    path_ = buffer.data();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct RunResult {
  int exit_code = -1;  // the child's exit status, or -1 when it did not exit normally
  int signal = 0;      // the signal that killed it (a crash), else 0
  std::string out;     // everything it wrote to stdout
  std::string err;     // everything it wrote to stderr

  bool exited() const { return signal == 0 && exit_code >= 0; }
  // stderr split into lines (without the '\n'); a last line without '\n' counts too.
  std::vector<std::string> err_lines() const { return split_lines(err); }
  std::vector<std::string> out_lines() const { return split_lines(out); }

  static std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
};

inline std::string read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Exit code the child's sanitizers are told to use, so a report is never mistaken for gaze's own
// "exit 1".
inline constexpr int kSanitizerExitCode = 86;

inline bool has_sanitizer_report(const std::string& err) {
  return err.find("Sanitizer") != std::string::npos ||
         err.find("runtime error:") != std::string::npos;
}

// The child's environment: ours, without GAZE_MODEL (every test names its model), with the
// sanitizers' exit code forced (a later "exitcode=" in the option string wins), and with one
// OpenMP thread unless OMP_NUM_THREADS says otherwise: these tests check behaviour, not speed,
// and with ctest running several of them on a few cores, OpenMP's spinning threads fight over
// the cores and make every run several times slower.
inline std::vector<std::string> child_environment() {
  std::vector<std::string> env;
  std::string asan = "ASAN_OPTIONS=", ubsan = "UBSAN_OPTIONS=", lsan = "LSAN_OPTIONS=";
  bool threads_set = false;
  for (char** e = environ; e && *e; ++e) {
    const std::string var = *e;
    if (var.rfind("GAZE_MODEL=", 0) == 0) continue;
    if (var.rfind("OMP_NUM_THREADS=", 0) == 0) threads_set = true;
    if (var.rfind(asan, 0) == 0) {
      asan = var + ":";
    } else if (var.rfind(ubsan, 0) == 0) {
      ubsan = var + ":";
    } else if (var.rfind(lsan, 0) == 0) {
      lsan = var + ":";
    } else {
      env.push_back(var);
    }
  }
  const std::string code = "exitcode=" + std::to_string(kSanitizerExitCode);
  env.push_back(asan + code);
  env.push_back(ubsan + code + ":print_stacktrace=1");
  env.push_back(lsan + code);
  if (!threads_set) env.push_back("OMP_NUM_THREADS=1");
  return env;
}

// How run_gaze starts the child, beyond the defaults.
struct RunOptions {
  // Where the child's stdout goes, e.g. "/dev/full"; empty: captured into RunResult::out.
  std::string stdout_path;
  // The file the child reads as stdin; empty: /dev/null.
  std::string stdin_path;
  // The child's RLIMIT_FSIZE, with SIGXFSZ ignored, so that a write past this many bytes fails
  // with EFBIG ("File too large") the way a write to a full disk fails: the portable disk-full
  // simulation, which needs no root. 0: no limit. (The captured stdout and stderr are files
  // under the limit too; keep it above what the child prints.)
  rlim_t file_size_limit = 0;
  // Called in the parent with the child's pid, before the child runs gaze (it waits until this
  // returns): to prepare files whose names contain the pid.
  std::function<void(pid_t)> before_exec;
  // A signal the test sends the child itself (SIGKILL): dying of it is not a test failure.
  int expected_signal = 0;
};

// Runs `GAZE_BINARY args...` and waits for it. stdin is /dev/null (or RunOptions::stdin_path);
// stdout and stderr go to files in a private folder, read back after the child exits (no pipe to
// deadlock on).
inline RunResult run_gaze(const std::vector<std::string>& args, const RunOptions& options = {}) {
  RunResult result;
  TempDir capture;
  if (capture.path().empty()) return result;
  const std::string err_path = capture / "stderr";
  const std::string out_path =
      options.stdout_path.empty() ? capture / "stdout" : options.stdout_path;
  const std::string in_path = options.stdin_path.empty() ? "/dev/null" : options.stdin_path;

  std::vector<std::string> argv_strings = {GAZE_BINARY};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings = child_environment();
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  // fork + exec rather than posix_spawn, for the resource limit and the wait. Between the two
  // the child makes only async-signal-safe calls (the test process may have threads).
  int gate[2];
  if (::pipe2(gate, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2: " << std::strerror(errno);
    return result;
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(gate[1]);
    char byte = 0;
    while (::read(gate[0], &byte, 1) < 0 && errno == EINTR) {
    }
    const int in = ::open(in_path.c_str(), O_RDONLY);
    const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0 || err < 0 || ::dup2(in, STDIN_FILENO) < 0 ||
        ::dup2(out, STDOUT_FILENO) < 0 || ::dup2(err, STDERR_FILENO) < 0) {
      ::_exit(127);
    }
    if (options.file_size_limit > 0) {
      struct sigaction ignore = {};
      ignore.sa_handler = SIG_IGN;
      const struct rlimit limit = {options.file_size_limit, options.file_size_limit};
      if (::sigaction(SIGXFSZ, &ignore, nullptr) != 0 || ::setrlimit(RLIMIT_FSIZE, &limit) != 0)
        ::_exit(127);
    }
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(gate[0]);
  if (pid < 0) {
    ADD_FAILURE() << "fork: " << std::strerror(errno);
    ::close(gate[1]);
    return result;
  }
  if (options.before_exec) options.before_exec(pid);
  const char go = 1;
  if (::write(gate[1], &go, 1) != 1) ADD_FAILURE() << "cannot start the child";
  ::close(gate[1]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      ADD_FAILURE() << "waitpid: " << std::strerror(errno);
      return result;
    }
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  if (options.stdout_path.empty()) result.out = read_whole_file(out_path);
  result.err = read_whole_file(err_path);
  if (result.exit_code == 127 && result.err.empty()) ADD_FAILURE() << "cannot run " << argv[0];

  std::string command = "gaze";
  for (const std::string& a : args) command += " " + a;
  if (result.signal != 0 && result.signal != options.expected_signal) {
    ADD_FAILURE() << command << "\nwas killed by signal " << result.signal << " ("
                  << strsignal(result.signal) << ")\nstderr:\n"
                  << result.err;
  }
  if (result.exit_code == kSanitizerExitCode || has_sanitizer_report(result.err)) {
    ADD_FAILURE() << command << "\nmade a sanitizer report (exit code " << result.exit_code
                  << "):\n"
                  << result.err;
  }
  return result;
}

}  // namespace gaze::testing
