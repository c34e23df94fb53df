// Every file gaze writes goes through a temporary beside it, renamed into place when complete,
// so no reader ever sees a half-written image, array or model.
#pragma once

#include <functional>
#include <string>

namespace gaze {

// Calls write(temporary) to create the file at a temporary path in `path`'s folder (same
// extension), then renames it to `path`. If write throws or the rename fails, the temporary is
// removed and the error propagates (a rename failure as Error naming `path`).
void write_atomically(const std::string& path,
                      const std::function<void(const std::string& temporary)>& write);

}  // namespace gaze
