#include "tensor/json_limits.h"

#include "tensor/error.h"

namespace gaze {

void check_json_limits(std::string_view text, const std::string& label, const std::string& what,
                       uint64_t max_bytes) {
  const std::string where = label.empty() ? what : label + ": " + what;
  if (text.size() > max_bytes) {
    throw Error(where + " is " + std::to_string(text.size()) + " bytes, over the limit of " +
                std::to_string(max_bytes));
  }
  int depth = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) {
        throw Error(where + " nests arrays and objects deeper than the limit of " +
                    std::to_string(kMaxJsonDepth) + " levels");
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
}

}  // namespace gaze
