// The main of the replay executables: every harness is also built with the normal compiler and
// this main, which feeds each file named on the command line (and every file of each folder
// named, in sorted order) to LLVMFuzzerTestOneInput once. ctest replays the seed corpora and the
// regression inputs this way (fuzz/CMakeLists.txt), in the optimized and the sanitizer builds.
// A crash aborts; a name that does not exist, or no input at all, is an error.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

std::vector<uint8_t> read_all(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    const fs::path arg = argv[i];
    if (fs::is_directory(arg)) {
      std::vector<fs::path> in_dir;
      for (const fs::directory_entry& entry : fs::directory_iterator(arg)) {
        if (entry.is_regular_file() && entry.path().filename().string().front() != '.') {
          in_dir.push_back(entry.path());
        }
      }
      std::sort(in_dir.begin(), in_dir.end());
      files.insert(files.end(), in_dir.begin(), in_dir.end());
    } else if (fs::is_regular_file(arg)) {
      files.push_back(arg);
    } else {
      std::fprintf(stderr, "replay: error: %s: no such file or folder\n", argv[i]);
      return 1;
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "replay: error: no inputs\n");
    return 1;
  }
  for (const fs::path& file : files) {
    std::printf("replay: %s\n", file.c_str());
    std::fflush(stdout);
    std::vector<uint8_t> bytes = read_all(file);
    // An empty input is a valid one: data may then be any pointer, as libFuzzer passes it.
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
  }
  std::printf("replay: %zu inputs, no crash\n", files.size());
  return 0;
}
