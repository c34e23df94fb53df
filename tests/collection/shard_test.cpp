// --shard: disjoint parts whose union is everything, stable when inputs are added.
#include "collection/shard.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "tensor/error.h"

namespace gaze {
namespace {

std::vector<std::string> names(int count, const std::string& prefix) {
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) out.push_back(prefix + std::to_string(i) + ".jpg");
  return out;
}

TEST(Shard, ParsesIndexOverCountAndRefusesTheRest) {
  const Shard s = parse_shard("2/5");
  EXPECT_EQ(s.index, 2);
  EXPECT_EQ(s.count, 5);
  for (const char* bad : {"", "3", "5/5", "-1/3", "1/0", "a/b", "1/2/3", "1/ 2", "1.0/2"}) {
    EXPECT_THROW(parse_shard(bad), Error) << bad;
  }
}

TEST(Shard, PartsAreDisjointCoverEverythingAndAreRoughlyEven) {
  const std::vector<std::string> all = names(3000, "photos/sub/");
  for (int n : {1, 2, 3, 7}) {
    std::vector<int> sizes(static_cast<size_t>(n), 0);
    for (const std::string& name : all) {
      int owners = 0;
      for (int i = 0; i < n; ++i) {
        if (in_shard(name, {i, n})) {
          ++owners;
          ++sizes[static_cast<size_t>(i)];
        }
      }
      EXPECT_EQ(owners, 1) << name << " in " << n << " parts";
    }
    for (int size : sizes) EXPECT_NEAR(size, 3000.0 / n, 3000.0 / n * 0.15) << n << " parts";
  }
}

TEST(Shard, AnInputsPartDependsOnItsOwnPathOnly) {
  // The same decision for a path whatever else the collection holds: computed from the path
  // alone, twice, and equal to the FNV-1a value worked out by hand for a short string.
  EXPECT_EQ(stable_hash(""), 14695981039346656037ull);
  EXPECT_EQ(stable_hash("a"), 0xaf63dc4c8601ec8cull);
  for (const std::string& name : names(50, "x/")) {
    EXPECT_EQ(in_shard(name, {1, 4}), stable_hash(name) % 4 == 1);
  }
}

}  // namespace
}  // namespace gaze
