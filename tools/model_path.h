// Where gaze finds its model when none is named: $GAZE_MODEL, else the InceptionV3 that
// tools/fetch_models.sh puts in models/ (looked up beside the binary's build folder, then in the
// current directory). The ImageNet class names that script writes are found the same way.
#pragma once

#include <string>

namespace gaze {

std::string default_model_path();
// models/imagenet_classes.txt, beside the binary's build folder if it is there, else relative to
// the current directory (which may not exist either).
std::string default_imagenet_classes_path();

}  // namespace gaze
