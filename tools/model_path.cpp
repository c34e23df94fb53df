#include "tools/model_path.h"

#include <cstdlib>
#include <filesystem>

namespace gaze {

namespace {

// models/<file>: the repository's copy when the binary sits in <repo>/build/, else ./models.
std::string in_models_folder(const std::string& file) {
  namespace fs = std::filesystem;
  const fs::path name = fs::path("models") / file;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    // build/gaze -> <repo>/models/...
    const fs::path candidate = exe.parent_path().parent_path() / name;
    if (fs::exists(candidate, ec)) return candidate.string();
  }
  return name.string();
}

}  // namespace

std::string default_model_path() {
  if (const char* env = std::getenv("GAZE_MODEL"); env && *env) return env;
  return in_models_folder("nsfwjs_inception_v3.h5");
}

std::string default_imagenet_classes_path() {
  return in_models_folder("imagenet_classes.txt");
}

}  // namespace gaze
