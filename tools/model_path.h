// Where gaze finds its model when none is named: $GAZE_MODEL, else the InceptionV3 that
// tools/fetch_models.sh puts in models/ (looked up beside the binary's build folder, then in the
// current directory).
#pragma once

#include <string>

namespace gaze {

std::string default_model_path();

}  // namespace gaze
