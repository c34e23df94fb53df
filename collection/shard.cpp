#include "collection/shard.h"

#include <cerrno>
#include <cstdlib>

#include "tensor/error.h"

namespace gaze {
namespace {

bool parse_count(const std::string& text, int64_t& value) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) return false;
  errno = 0;
  value = std::strtoll(text.c_str(), nullptr, 10);
  return errno == 0;
}

}  // namespace

Shard parse_shard(const std::string& spec) {
  const size_t slash = spec.find('/');
  Shard s;
  if (slash == std::string::npos || !parse_count(spec.substr(0, slash), s.index) ||
      !parse_count(spec.substr(slash + 1), s.count) || s.count < 1 || s.index >= s.count) {
    throw Error("--shard: '" + spec + "' is not i/n with 0 <= i < n (e.g. 0/4 ... 3/4)");
  }
  return s;
}

bool in_shard(const std::string& relative, const Shard& shard) {
  return stable_hash(relative) % static_cast<uint64_t>(shard.count) ==
         static_cast<uint64_t>(shard.index);
}

}  // namespace gaze
