// gaze's one exception type: every user-facing failure (bad shape, bad file, bad flag) is an
// Error whose message is a complete sentence fragment the CLI prints after "gaze: error: ".
#pragma once

#include <stdexcept>
#include <string>

namespace gaze {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace gaze
