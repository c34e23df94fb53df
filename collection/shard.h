// --shard i/n: a deterministic part of a collection, so that n processes (a Slurm job array, a
// Kubernetes Indexed Job) share it without talking to each other.
#pragma once

#include <cstdint>
#include <string>

#include "tensor/hash.h"  // stable_hash, which picks the shard

namespace gaze {

struct Shard {
  int64_t index = 0;  // 0-based
  int64_t count = 1;
};

// "i/n" with 0 <= i < n; throws Error naming --shard otherwise.
Shard parse_shard(const std::string& spec);

// Whether the input whose path relative to its INPUT argument is `relative` belongs to the
// shard. The n shards are disjoint and together hold everything, and an input's shard depends on
// its own relative path only, so adding inputs never moves the others.
bool in_shard(const std::string& relative, const Shard& shard);

}  // namespace gaze
