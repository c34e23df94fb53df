// The guard before libhdf5 reads variable-length strings (weights/hdf5_global_heap.h): global heap
// collections whose objects would make libhdf5 1.10 loop forever or read past its buffer are
// refused, and the collections h5py and gaze write pass.
#include "weights/hdf5_global_heap.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "tests/support/fixtures.h"
#include "tests/support/test_util.h"
#include "tests/weights/expect_error.h"
#include "weights/hdf5_file.h"
#include "weights/model_io.h"

namespace gaze {
namespace {

using Bytes = std::vector<unsigned char>;
using testing::error_of;

void put_length(Bytes& bytes, uint64_t value, size_t length_size) {
  for (size_t i = 0; i < length_size; ++i)
    bytes.push_back(static_cast<unsigned char>(value >> 8 * i));
}

// A collection as the file format specification lays it out (III.E), objects given as
// (index, data size, data bytes written); `size` 0 means the exact size of what is written.
struct Object {
  unsigned index;
  uint64_t size;
  size_t written;
};
Bytes collection(const std::vector<Object>& objects, uint64_t size = 0, size_t length_size = 8,
                 unsigned char version = 1) {
  Bytes bytes = {'G', 'C', 'O', 'L', version, 0, 0, 0};
  put_length(bytes, 0, length_size);  // patched below
  for (const Object& object : objects) {
    bytes.push_back(static_cast<unsigned char>(object.index));
    bytes.push_back(static_cast<unsigned char>(object.index >> 8));
    bytes.insert(bytes.end(), {1, 0, 0, 0, 0, 0});  // reference count, reserved
    put_length(bytes, object.size, length_size);
    bytes.insert(bytes.end(), object.written, 'x');
  }
  const uint64_t total = size != 0 ? size : bytes.size();
  for (size_t i = 0; i < length_size; ++i)
    bytes[8 + i] = static_cast<unsigned char>(total >> 8 * i);
  return bytes;
}

std::string problem(const Bytes& bytes, size_t length_size = 8) {
  return hdf5::find_malformed_global_heap(bytes, length_size);
}

std::string write_bytes(const std::string& name, const Bytes& bytes) {
  const std::string path = testing::test_temp_path(name);
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
  return path;
}

Bytes read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

TEST(GlobalHeap, WellFormedCollectionsPass) {
  // Two strings padded to 8 bytes, then the free-space object, whose size counts its header.
  EXPECT_EQ(problem(collection({{1, 6, 8}, {2, 10, 16}, {0, 16 + 8, 8}})), "");
  // A tail too small for an object header is free space.
  Bytes tail = collection({{1, 6, 8}});
  tail.resize(tail.size() + 8, 0);
  tail[8] = static_cast<unsigned char>(tail.size());
  EXPECT_EQ(problem(tail), "");
  // Lengths of 4 bytes (a superblock option) move every field.
  EXPECT_EQ(problem(collection({{1, 3, 8}, {0, 12 + 4, 4}}, 0, 4), 4), "");
  // No signature, or a version HDF5 refuses on its own: nothing to check.
  EXPECT_EQ(problem(Bytes(100, 0)), "");
  EXPECT_EQ(problem(collection({{0, 0, 0}}, 0, 8, 2)), "");
}

TEST(GlobalHeap, ObjectsThatNeverAdvanceAreRefused) {
  // The fuzzer's input: a free-space object of size 0 after the strings.
  Bytes bytes(100, 0);
  const Bytes bad = collection({{1, 6, 8}, {0, 0, 0}});
  bytes.insert(bytes.end(), bad.begin(), bad.end());
  EXPECT_EQ(problem(bytes),
            "global heap collection at byte 100: object 0 at byte 140 has size 0, which never "
            "advances");
  // A string whose padded size wraps 64 bits to 0: 16 + (2^64 - 16).
  EXPECT_CONTAINS(problem(collection({{3, UINT64_MAX - 15, 0}})),
                  "object 3 at byte 16 has size "
                  "18446744073709551600, which "
                  "never advances");
}

TEST(GlobalHeap, SizesPastTheirBoundsAreRefused) {
  // An object running past its collection: libhdf5 would copy bytes beyond its buffer.
  EXPECT_CONTAINS(problem(collection({{1, 100, 8}})),
                  "object 1 at byte 16 has size 100, past the collection's end");
  // A wrapped size that would move libhdf5's pointer backwards.
  EXPECT_CONTAINS(problem(collection({{1, UINT64_MAX - 7, 8}})), "past the collection's end");
  // A collection claiming more than the file holds: libhdf5 reads the missing bytes as zeros.
  EXPECT_CONTAINS(problem(collection({{1, 6, 8}}, 4096)),
                  "global heap collection at byte 0: its size 4096 runs past the end of the file");
}

// A collection of libhdf5's smallest size, 4096 bytes: the objects, then free space to the end.
Bytes full_collection(std::vector<Object> objects) {
  uint64_t used = 16;
  for (const Object& object : objects) used += 16 + object.written;
  objects.push_back({0, 4096 - used, 0});
  Bytes bytes = collection(objects, 4096);
  bytes.resize(4096, 0);
  return bytes;
}

// A variable-length string's stored element: length, collection address, object index.
Bytes heap_id(uint64_t length, uint64_t address, uint64_t index, size_t address_size = 8) {
  Bytes bytes;
  put_length(bytes, length, 4);
  put_length(bytes, address, address_size);
  put_length(bytes, index, 4);
  return bytes;
}

std::string bad_reference(const hdf5::GlobalHeaps& heaps, const Bytes& id) {
  return hdf5::find_bad_heap_reference(heaps, id, 1);
}

TEST(GlobalHeap, CollectionsFoundAreIndexedByTheirObjects) {
  Bytes file(2048, 0);
  // Object 1 twice: libhdf5 keeps the last (H5HG__cache_heap_deserialize).
  const Bytes heap = full_collection({{1, 6, 8}, {2, 10, 16}, {1, 3, 8}});
  file.insert(file.end(), heap.begin(), heap.end());
  // A collection smaller than libhdf5 ever writes is checked but not indexed.
  const Bytes small = collection({{1, 6, 8}, {0, 16, 0}});
  file.insert(file.end(), small.begin(), small.end());
  hdf5::GlobalHeaps heaps;
  ASSERT_EQ(hdf5::find_malformed_global_heap(file, 8, &heaps), "");
  ASSERT_EQ(heaps.collections.size(), 1u);
  ASSERT_EQ(heaps.collections.begin()->first, 2048u);
  const std::map<unsigned, uint64_t> expected = {{1, 3}, {2, 10}};
  EXPECT_EQ(heaps.collections.begin()->second, expected);
  // The same from the file on disk, read in blocks.
  const hdf5::GlobalHeaps scanned =
      hdf5::scan_global_heaps(write_bytes("indexed.bin", file), "f.h5", 8);
  EXPECT_EQ(scanned.collections, heaps.collections);
}

TEST(GlobalHeap, HeapIdsMustNameAnObjectOfTheirLength) {
  Bytes file(2048, 0);
  const Bytes heap = full_collection({{1, 3, 8}, {2, 10, 16}});
  file.insert(file.end(), heap.begin(), heap.end());
  const Bytes small = collection({{1, 3, 8}, {0, 16, 0}});
  file.insert(file.end(), small.begin(), small.end());
  hdf5::GlobalHeaps heaps;
  ASSERT_EQ(hdf5::find_malformed_global_heap(file, 8, &heaps), "");
  EXPECT_EQ(bad_reference(heaps, heap_id(3, 2048, 1)), "");
  EXPECT_EQ(bad_reference(heaps, heap_id(10, 2048, 2)), "");
  EXPECT_EQ(bad_reference(heaps, heap_id(5, 0, 77)), "");  // nil: address 0
  EXPECT_EQ(bad_reference(heaps, heap_id(3, 2000, 1)),
            "string 0 refers to a global heap collection at byte 2000, where there is none");
  EXPECT_EQ(bad_reference(heaps, heap_id(3, 2048 + 4096, 1)),
            "string 0 refers to a global heap collection at byte 6144, where there is none");
  for (uint64_t index : {0u, 3u, 65537u}) {
    EXPECT_EQ(bad_reference(heaps, heap_id(3, 2048, index)),
              "string 0 refers to object " + std::to_string(index) +
                  " of the global heap collection at byte 2048, which has no such object");
  }
  // libhdf5 copies the object's whole size into a buffer of the string's length.
  EXPECT_EQ(bad_reference(heaps, heap_id(4, 2048, 2)),
            "string 0 of 4 bytes refers to object 2 of the global heap collection at byte 2048, "
            "which holds 10");
  // The second of two strings, and too few bytes for the strings claimed.
  Bytes two = heap_id(3, 2048, 1);
  const Bytes bad = heap_id(3, 2048, 5);
  two.insert(two.end(), bad.begin(), bad.end());
  EXPECT_CONTAINS(hdf5::find_bad_heap_reference(heaps, two, 2), "string 1 refers to object 5");
  EXPECT_EQ(hdf5::find_bad_heap_reference(heaps, two, 3),
            "its strings are stored in 32 bytes, not 3 heap IDs");
  // Addresses count from the base address, and take the superblock's size of offsets.
  heaps.base_address = 512;
  EXPECT_EQ(bad_reference(heaps, heap_id(3, 2048 - 512, 1)), "");
  EXPECT_CONTAINS(bad_reference(heaps, heap_id(3, 2048, 1)), "at byte 2560, where there is none");
  heaps.base_address = 0;
  heaps.address_size = 4;
  EXPECT_EQ(bad_reference(heaps, heap_id(3, 2048, 1, 4)), "");
  EXPECT_CONTAINS(bad_reference(heaps, heap_id(3, 2048, 4, 4)), "refers to object 4");
}

// The file is read in blocks of 256 KiB: a collection is found wherever it lies across them.
TEST(GlobalHeap, FilesAreCheckedAcrossBlocks) {
  constexpr size_t kBlock = size_t{256} << 10;
  const Bytes bad = collection({{1, 6, 8}, {0, 0, 0}});
  const Bytes good = collection({{1, 6, 8}, {0, 16, 0}});
  for (size_t at : {size_t{0}, kBlock - 2, kBlock - 3, kBlock - 20, 2 * kBlock - 7}) {
    Bytes bytes(3 * kBlock, 0);
    std::copy(bad.begin(), bad.end(), bytes.begin() + static_cast<std::ptrdiff_t>(at));
    const std::string path = write_bytes("heap_bad.bin", bytes);
    EXPECT_CONTAINS(
        error_of([&] { hdf5::scan_global_heaps(path, "f.h5", 8); }),
        "f.h5: the file is corrupt: global heap collection at byte " + std::to_string(at))
        << "at " << at;
    std::copy(good.begin(), good.end(), bytes.begin() + static_cast<std::ptrdiff_t>(at));
    EXPECT_NO_THROW(hdf5::scan_global_heaps(write_bytes("heap_good.bin", bytes), "f.h5", 8))
        << "at " << at;
  }
}

// Every Keras file the fixtures hold (h5py 2 and 3, tf.keras, Keras 3 legacy) has collections,
// and all pass; the first one broken as the fuzzer broke it is one error, not a hang in H5Aread.
TEST(GlobalHeap, KerasFilesPassAndABrokenOneIsAnError) {
  for (const char* name : {"h5py2_model.h5", "tf_keras_model.h5", "keras3_legacy_model.h5",
                           "tf_keras_chunked_model.h5"}) {
    const std::string path = testing::fixture_path(std::string("keras_h5/") + name);
    Bytes bytes = read_bytes(path);
    const std::string text(bytes.begin(), bytes.end());
    const size_t at = text.find("GCOL\x01");
    ASSERT_NE(at, std::string::npos) << name;
    EXPECT_EQ(problem(bytes), "") << name;
    EXPECT_NO_THROW(load_model(path)) << name;
    // The first object's size becomes 2^64 - 16: its padded size wraps to 0.
    for (size_t i = 0; i < 8; ++i) bytes[at + 16 + 8 + i] = i == 0 ? 0xf0 : 0xff;
    const std::string broken = write_bytes("broken_heap.h5", bytes);
    EXPECT_CONTAINS(
        error_of([&] { load_model(broken); }),
        broken + ": the file is corrupt: global heap collection at byte " + std::to_string(at))
        << name;
    EXPECT_CONTAINS(error_of([&] { hdf5::File::open_image(bytes, "image.h5"); }),
                    "image.h5: the file is corrupt")
        << name;
  }
}

// libhdf5 1.10.8 follows a heap ID's object index without a bound (H5HG_read): the fuzzer's file
// crashed it; every heap ID is now checked first. Also a Keras fixture whose strings' indexes are
// changed to one the collection lacks.
TEST(GlobalHeap, HeapIdsNamingNoObjectAreOneError) {
  const std::string found = testing::source_path("fuzz/regressions/hdf5/vlen_heap_object_index.h5");
  EXPECT_CONTAINS(error_of([&] { load_model(found); }),
                  found + ": the file is corrupt: attribute ");
  const std::string path = testing::fixture_path("keras_h5/tf_keras_model.h5");
  Bytes bytes = read_bytes(path);
  hdf5::GlobalHeaps heaps;
  ASSERT_EQ(hdf5::find_malformed_global_heap(bytes, 8, &heaps), "");
  ASSERT_FALSE(heaps.collections.empty());
  // The heap IDs: a length, the address of a collection (8 bytes), then the index of one of its
  // objects of that length. Each index becomes 999.
  size_t changed = 0;
  for (const auto& [at, objects] : heaps.collections) {
    for (size_t i = 0; i + 16 <= bytes.size(); ++i) {
      const Bytes id(bytes.begin() + static_cast<std::ptrdiff_t>(i),
                     bytes.begin() + static_cast<std::ptrdiff_t>(i + 16));
      const auto object = objects.find(id[12] | id[13] << 8);
      if (object == objects.end() || id != heap_id(object->second, at, object->first)) continue;
      const Bytes bad = heap_id(object->second, at, 999);
      std::copy(bad.begin(), bad.end(), bytes.begin() + static_cast<std::ptrdiff_t>(i));
      ++changed;
    }
  }
  ASSERT_GT(changed, 0u);
  const std::string broken = write_bytes("bad_heap_index.h5", bytes);
  EXPECT_CONTAINS(error_of([&] { load_model(broken); }),
                  broken + ": the file is corrupt: attribute ");
  EXPECT_CONTAINS(error_of([&] { load_model(broken); }),
                  "refers to object 999 of the global heap collection at byte ");
  EXPECT_CONTAINS(
      error_of([&] {
        hdf5::File::open_image(bytes, "image.h5").root().read_string_attribute("model_config");
      }),
      "image.h5: the file is corrupt: attribute 'model_config' of the root group: string 0 refers "
      "to object 999");
}

}  // namespace
}  // namespace gaze
