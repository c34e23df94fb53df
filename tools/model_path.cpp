#include "tools/model_path.h"

#include <cstdlib>
#include <filesystem>

namespace gaze {

std::string default_model_path() {
  if (const char* env = std::getenv("GAZE_MODEL"); env && *env) return env;
  namespace fs = std::filesystem;
  const fs::path name = fs::path("models") / "nsfwjs_inception_v3.h5";
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    // build/gaze -> <repo>/models/...
    const fs::path candidate = exe.parent_path().parent_path() / name;
    if (fs::exists(candidate, ec)) return candidate.string();
  }
  return name.string();
}

}  // namespace gaze
