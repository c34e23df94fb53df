// A collection on disk for the batch and report tests: nested folders, the same file name in
// two of them, a corrupt image, and what a folder walk must leave out.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/support/fixtures.h"
#include "tests/tools/run_gaze.h"

namespace gaze::testing {

inline std::string npy(const std::string& name) {
  return fixture_path("npy/" + name);
}

inline void copy(const std::string& from, const std::filesystem::path& to) {
  std::filesystem::create_directories(to.parent_path());
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
}

// photos/: nested folders, the same file name in two of them, a corrupt image, and what a walk
// must leave out (a hidden file, a text file). 5 inputs, 4 good.
inline std::string make_collection(const TempDir& dir) {
  const std::filesystem::path root = dir / "photos";
  copy(npy("chelsea_mobilenet_v2.npy"), root / "a/x.npy");
  copy(npy("coffee_mobilenet_v2.npy"), root / "b/x.npy");
  copy(npy("astronaut_299_mobilenet_v2.npy"), root / "a/deep/y.npy");
  copy(npy("horse_rgba_mobilenet_v2.npy"), root / "top.npy");
  std::ofstream(root / "b/corrupt.jpg") << "not a JPEG at all";
  copy(npy("coffee_mobilenet_v2.npy"), root / ".hidden.npy");
  std::ofstream(root / "notes.txt") << "not an input";
  return root.string();
}

}  // namespace gaze::testing
