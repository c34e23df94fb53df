// A hash for seeds and shards that must not change between runs.
#pragma once

#include <cstdint>
#include <string_view>

namespace gaze {

// 64-bit FNV-1a of the bytes: stable across runs, machines and compilers (std::hash is not).
inline uint64_t stable_hash(std::string_view bytes) {
  uint64_t h = 14695981039346656037ull;
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace gaze
