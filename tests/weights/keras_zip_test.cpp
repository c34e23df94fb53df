// The zip reader: Python's own zip files (the committed .keras fixtures, written by zipfile as
// Keras writes them), archives built byte by byte, and every corruption it must refuse with one
// Error (never a crash: these also run under ASan and UBSan).
#include "weights/keras_zip.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "tensor/error.h"
#include "tests/support/fixtures.h"
#include "tests/support/test_util.h"
#include "tests/weights/expect_error.h"
#include "tests/weights/zip_builder.h"

namespace gaze {
namespace {

using testing::build_zip;
using testing::ZipEntrySpec;
using testing::ZipSpec;

std::string temp_file(const std::string& name) {
  return testing::test_temp_path(name);
}

std::string text(const std::vector<unsigned char>& bytes) {
  return std::string(bytes.begin(), bytes.end());
}

// Writes `bytes` to a file and reads entry `name` back through the reader.
std::string read_back(const std::string& bytes, const std::string& name,
                      uint64_t max_size = uint64_t{1} << 30) {
  const std::string path = temp_file("built.zip");
  testing::write_bytes(path, bytes);
  zip::Archive archive = zip::Archive::open(path);
  return text(archive.read(name, max_size));
}

// The message of the Error that reading entry `name` of `bytes` throws; "" if none is thrown.
std::string read_error(const std::string& bytes, const std::string& name = "a") {
  try {
    read_back(bytes, name);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string some_text(size_t n) {
  std::string s;
  for (size_t i = 0; s.size() < n; ++i) s += "{\"layer\": " + std::to_string(i * 7919 % 1000) + "}";
  s.resize(n);
  return s;
}

TEST(ZipReader, ReadsPythonsStoredAndDeflatedArchivesAlike) {
  zip::Archive stored = zip::Archive::open(testing::fixture_path("keras3/flat.keras"));
  zip::Archive deflated = zip::Archive::open(testing::fixture_path("keras3/flat_deflated.keras"));
  std::vector<std::string> names;
  for (const zip::Entry& e : stored.entries()) names.push_back(e.name);
  // saving_lib's order: metadata.json and config.json, then model.weights.h5 at H5IOStore.close.
  EXPECT_EQ(names, (std::vector<std::string>{"metadata.json", "config.json", "model.weights.h5"}));
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    EXPECT_EQ(stored.find(name)->method, 0);
    EXPECT_EQ(deflated.find(name)->method, 8);
    EXPECT_LT(deflated.find(name)->compressed_size, stored.find(name)->compressed_size);
    EXPECT_EQ(stored.read(name, 1 << 20), deflated.read(name, 1 << 20));
  }
  EXPECT_EQ(text(stored.read("metadata.json", 1 << 20)).rfind("{\"keras_version\": \"3.", 0), 0u);
  const std::vector<unsigned char> h5 = stored.read("model.weights.h5", 1 << 20);
  EXPECT_EQ(text(h5).substr(0, 4), "\x89HDF");
  // The stored entry is the .weights.h5 file byte for byte (the script writes both from one
  // buffer).
  std::ifstream file(testing::fixture_path("keras3/flat.weights.h5"), std::ios::binary);
  const std::string weights((std::istreambuf_iterator<char>(file)), {});
  EXPECT_EQ(text(h5), weights);
}

TEST(ZipReader, ReadsBuiltArchives) {
  const std::string long_text = some_text(200000);
  const std::string bytes =
      build_zip({.entries = {{.name = "a", .data = "hello"},
                             {.name = "b", .data = long_text, .deflate = true},
                             {.name = "c", .data = ""},
                             {.name = "d", .data = "", .deflate = true}},
                 .comment = "a comment"});
  EXPECT_EQ(read_back(bytes, "a"), "hello");
  EXPECT_EQ(read_back(bytes, "b"), long_text);
  EXPECT_EQ(read_back(bytes, "c"), "");
  EXPECT_EQ(read_back(bytes, "d"), "");
}

// Bit 3: the local header has zeros, the sizes and CRC follow the data (what Python's zipfile
// writes to a stream it cannot seek back in).
TEST(ZipReader, ReadsEntriesWithADataDescriptor) {
  const std::string bytes =
      build_zip({.entries = {{.name = "a", .data = some_text(5000), .deflate = true, .flags = 8},
                             {.name = "b", .data = "stored", .flags = 8}}});
  EXPECT_EQ(read_back(bytes, "a"), some_text(5000));
  EXPECT_EQ(read_back(bytes, "b"), "stored");
}

TEST(ZipReader, EachCorruptionIsOneClearError) {
  const std::string data = some_text(4000);
  struct Case {
    const char* what;
    ZipSpec spec;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"bad CRC", {.entries = {{.name = "a", .data = data, .crc = 1234}}}, "fails its CRC-32"},
      {"bad CRC, deflated",
       {.entries = {{.name = "a", .data = data, .deflate = true, .crc = 1234}}},
       "fails its CRC-32"},
      {"inflates to more than declared",
       {.entries = {{.name = "a", .data = data, .deflate = true, .size = 100}}},
       "inflates to more than its declared 100 bytes"},
      {"inflates to less than declared",
       {.entries = {{.name = "a", .data = data, .deflate = true, .size = 5000}}},
       "inflates to 4000 bytes, not the 5000 it declares"},
      {"corrupt deflate data",
       {.entries =
            {{.name = "a", .data = data, .deflate = true, .compressed = "\xff\xff\xff\xff"}}},
       "corrupt deflate data"},
      {"deflate data cut short",
       {.entries = {{.name = "a",
                     .data = data,
                     .deflate = true,
                     .compressed = testing::raw_deflate(data).substr(0, 100)}}},
       "ends early"},
      {"stored sizes disagree",
       {.entries = {{.name = "a", .data = data, .size = 10}}},
       "is stored but declares 10 bytes from 4000"},
      {"zip bomb ratio",
       {.entries = {{.name = "a", .data = data, .deflate = true, .size = 200u << 20}}},
       "refusing a likely zip bomb"},
      {"encrypted", {.entries = {{.name = "a", .data = data, .flags = 1}}}, "is encrypted"},
      {"other method",
       {.entries = {{.name = "a", .data = data, .method = 12}}},
       "compression method 12"},
      {"local name differs",
       {.entries = {{.name = "a", .data = data, .local_name = "b"}}},
       "local header that disagrees with the central directory"},
      {"ZIP64 extra field",
       {.entries =
            {{.name = "a", .data = data, .central_extra = std::string("\x01\x00\x00\x00", 4)}}},
       "ZIP64"},
      {"ZIP64 sizes", {.entries = {{.name = "a", .data = data, .size = 0xffffffff}}}, "ZIP64"},
      {"ZIP64 locator", {.entries = {{.name = "a", .data = data}}, .zip64_locator = true}, "ZIP64"},
      {"duplicate names",
       {.entries = {{.name = "a", .data = data}, {.name = "a", .data = data}}},
       "entry 'a' appears twice"},
      {"trailing bytes",
       {.entries = {{.name = "a", .data = data}}, .trailing = "junk"},
       "no end-of-central-directory record"},
      {"missing entry", {.entries = {{.name = "b", .data = data}}}, "no entry 'a'"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const std::string message = read_error(build_zip(c.spec));
    EXPECT_CONTAINS(message, c.expected);
    EXPECT_EQ(message.rfind(temp_file("built.zip") + ": ", 0), 0u) << message;
  }
}

TEST(ZipReader, LocalSizesThatDisagreeAreRefused) {
  std::string bytes = build_zip({.entries = {{.name = "a", .data = "hello"}}});
  bytes[22] = 4;  // the local header's uncompressed size: 5 -> 4
  EXPECT_CONTAINS(read_error(bytes), "local header that disagrees");
}

TEST(ZipReader, EntriesOverTheirLimitAreRefused) {
  const std::string bytes = build_zip({.entries = {{.name = "a", .data = some_text(3000)}}});
  testing::write_bytes(temp_file("limit.zip"), bytes);
  zip::Archive archive = zip::Archive::open(temp_file("limit.zip"));
  try {
    archive.read("a", 2999);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_CONTAINS(std::string(e.what()), "is 3000 bytes, over gaze's limit of 2999");
  }
  EXPECT_EQ(archive.read("a", 3000).size(), 3000u);
}

// A genuine bomb: 64 MiB of zeros deflate to about 64 KiB, a ratio near 1000. It is refused from
// the sizes the central directory declares, before anything is allocated.
TEST(ZipReader, AGenuineBombIsRefusedBeforeInflating) {
  const std::string zeros(64u << 20, '\0');
  const std::string bytes = build_zip({.entries = {{.name = "a", .data = zeros, .deflate = true}}});
  EXPECT_LT(bytes.size(), zeros.size() / zip::kMaxRatio);
  EXPECT_CONTAINS(read_error(bytes), "refusing a likely zip bomb");
  // Below the floor the ratio does not matter: 1 MiB of zeros is read.
  const std::string small(zip::kBombFloor, '\0');
  EXPECT_EQ(read_back(build_zip({.entries = {{.name = "a", .data = small, .deflate = true}}}), "a"),
            small);
}

// Every truncation of a real Keras archive is an Error at open or at read, never a crash.
TEST(ZipReader, EveryTruncationIsAnError) {
  std::ifstream in(testing::fixture_path("keras3/flat_deflated.keras"), std::ios::binary);
  const std::string whole((std::istreambuf_iterator<char>(in)), {});
  ASSERT_GT(whole.size(), 1000u);
  for (size_t size = 0; size < whole.size(); size += 1 + size / 64) {
    SCOPED_TRACE(size);
    const std::string path = temp_file("truncated.keras");
    testing::write_bytes(path, whole.substr(0, size));
    EXPECT_THROW(
        {
          zip::Archive archive = zip::Archive::open(path);
          for (const zip::Entry& e : archive.entries()) archive.read(e.name, 1 << 20);
        },
        Error);
  }
}

// Random byte changes anywhere in a real archive: each read either succeeds or is an Error.
TEST(ZipReader, RandomCorruptionNeverCrashes) {
  std::ifstream in(testing::fixture_path("keras3/flat_deflated.keras"), std::ios::binary);
  const std::string whole((std::istreambuf_iterator<char>(in)), {});
  std::mt19937 rng(7);
  int errors = 0;
  for (int round = 0; round < 300; ++round) {
    std::string bytes = whole;
    for (int k = 0; k < 1 + round % 4; ++k) {
      // Half of the changes hit the headers at the end, where a byte matters most.
      const size_t at = round % 2 ? rng() % bytes.size() : bytes.size() - 1 - rng() % 200;
      bytes[at] = static_cast<char>(rng());
    }
    const std::string path = temp_file("mutated.keras");
    testing::write_bytes(path, bytes);
    try {
      zip::Archive archive = zip::Archive::open(path);
      for (const zip::Entry& e : archive.entries()) archive.read(e.name, 1 << 20);
    } catch (const Error&) {
      ++errors;
    }
  }
  EXPECT_GT(errors, 100);  // the changes are noticed, mostly by the CRC-32
}

TEST(ZipReader, NotAZipFile) {
  const std::string path = temp_file("plain.txt");
  testing::write_bytes(path, "just some text, no zip at all");
  EXPECT_THROW(zip::Archive::open(path), Error);
  testing::write_bytes(path, "");
  EXPECT_THROW(zip::Archive::open(path), Error);
  EXPECT_THROW(zip::Archive::open(temp_file("no_such.zip")), Error);
}

}  // namespace
}  // namespace gaze
