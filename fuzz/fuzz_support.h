// Helpers shared by the libFuzzer harnesses (fuzz/*_fuzz.cpp): a private scratch folder for the
// parsers that read from a path, and the split of one input into several files.
#pragma once
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace gaze::fuzz {

// A folder made once per process with mkdtemp (under $TMPDIR or /tmp) and removed at exit. The
// harnesses overwrite their files in it on every input.
class ScratchDir {
 public:
  ScratchDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/gaze-fuzz-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      std::perror("gaze fuzz: mkdtemp");
      std::abort();
    }
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  // Writes `bytes` to the file `name` in the folder and returns its path.
  std::string write(const std::string& name, std::string_view bytes) const {
    const std::string file = path_ + "/" + name;
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
      std::perror(("gaze fuzz: cannot write " + file).c_str());
      std::abort();
    }
    return file;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The scratch folder of this process (one per harness process: the harnesses are single-threaded).
inline const ScratchDir& scratch() {
  static const ScratchDir dir;
  return dir;
}

// Several files in one input: the parts between lines that hold exactly kSeparator. The seeds of
// the multi-file harnesses (TF.js: model.json and its shards) are written this way.
inline constexpr std::string_view kSeparator = "\n--gaze-fuzz-next-file--\n";

inline std::vector<std::string_view> split_files(std::string_view input) {
  std::vector<std::string_view> parts;
  for (;;) {
    const size_t at = input.find(kSeparator);
    if (at == std::string_view::npos) break;
    parts.push_back(input.substr(0, at));
    input.remove_prefix(at + kSeparator.size());
  }
  parts.push_back(input);
  return parts;
}

// What a harness does with an expected error: nothing, or print it when GAZE_FUZZ_VERBOSE is set
// (to see how far the seeds get).
inline void expected(const std::exception& e) {
  if (std::getenv("GAZE_FUZZ_VERBOSE") != nullptr) std::fprintf(stderr, "error: %s\n", e.what());
}

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace gaze::fuzz
