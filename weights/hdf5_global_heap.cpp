#include "weights/hdf5_global_heap.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string_view>
#include <vector>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "tensor/error.h"

namespace gaze::hdf5 {
namespace {

// The collection layout, HDF5 file format specification 2.0, III.E "Global Heap":
// "GCOL", version 1, 3 reserved bytes, the collection's size (a length), then objects of
// index (2 bytes), reference count (2), reserved (4), size (a length) and data padded to 8 bytes.
constexpr std::string_view kSignature = "GCOL";
constexpr unsigned char kVersion = 1;
constexpr uint64_t kAlignment = 8;  // H5HG_ALIGNMENT
// libhdf5 writes no smaller collection (H5HG_MINSIZE, src/H5HGprivate.h); a heap ID naming a
// smaller one is refused.
constexpr uint64_t kMinimumSize = 4096;

// A little-endian length of `size` bytes; a value beyond 64 bits reads as the largest.
uint64_t decode_length(const unsigned char* p, size_t size) {
  uint64_t value = 0;
  for (size_t i = size; i-- > 0;) {
    if (i >= 8) {
      if (p[i] != 0) return std::numeric_limits<uint64_t>::max();
      continue;
    }
    value = value << 8 | p[i];
  }
  return value;
}

// What is wrong with the collection that starts `bytes` (which run to the end of the file), found
// at byte `start` of the file, or "". The loop is libhdf5's, with its unsigned arithmetic, but
// every step must advance and stay inside the collection. A collection without fault is added to
// `heaps` (when given) with its objects; as in libhdf5 (H5HG__cache_heap_deserialize), the last
// of two objects with one index is the one read.
std::string check_collection(std::span<const unsigned char> bytes, uint64_t start,
                             size_t length_size, GlobalHeaps* heaps) {
  const size_t header = 8 + length_size;
  const size_t object_header = 8 + length_size;
  if (bytes.size() < header || bytes[4] != kVersion) return "";  // HDF5 refuses it
  const std::string where = "global heap collection at byte " + std::to_string(start);
  const uint64_t size = decode_length(&bytes[8], length_size);
  // libhdf5 reads past the end of the file as zeros, and zeros make a free-space object of size 0.
  if (size > bytes.size()) {
    return where + ": its size " + std::to_string(size) + " runs past the end of the file";
  }
  std::map<unsigned, uint64_t> objects;
  uint64_t offset = header;
  while (offset < size) {
    if (offset + object_header > size) break;  // a tail too small for an object: free space
    const unsigned char* object = &bytes[offset];
    const unsigned index = object[0] | object[1] << 8;
    const uint64_t object_size = decode_length(object + 8, length_size);
    // The free-space object (index 0) counts its header; the others are padded to 8 bytes.
    const uint64_t need =
        index > 0 ? object_header + kAlignment * ((object_size + kAlignment - 1) / kAlignment)
                  : object_size;
    if (need == 0 || need > size - offset) {
      return where + ": object " + std::to_string(index) + " at byte " +
             std::to_string(start + offset) + " has size " + std::to_string(object_size) +
             (need == 0 ? ", which never advances" : ", past the collection's end");
    }
    if (index > 0) objects[index] = object_size;
    offset += need;
  }
  if (heaps != nullptr && size >= kMinimumSize) heaps->collections[start] = std::move(objects);
  return "";
}

// The first "GCOL" in [begin, end), or end. SSE2 (every x86-64) compares 16 positions at once
// for the first two letters, which a model's weights rarely hold; glibc's memmem is three times
// slower on a 90 MB model.
const unsigned char* find_signature(const unsigned char* begin, const unsigned char* end) {
  const unsigned char* at = begin;
#if defined(__SSE2__)
  const __m128i first = _mm_set1_epi8(kSignature[0]);
  const __m128i second = _mm_set1_epi8(kSignature[1]);
  for (; end - at >= 17; at += 16) {
    const __m128i here = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
    const __m128i next = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at + 1));
    unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(
        _mm_and_si128(_mm_cmpeq_epi8(here, first), _mm_cmpeq_epi8(next, second))));
    for (; mask != 0; mask &= mask - 1) {
      const unsigned char* candidate = at + __builtin_ctz(mask);
      if (end - candidate >= 4 && std::memcmp(candidate, kSignature.data(), 4) == 0) {
        return candidate;
      }
    }
  }
#endif
  for (; end - at >= 4; ++at) {
    if (std::memcmp(at, kSignature.data(), 4) == 0) return at;
  }
  return end;
}

// Reads a file with pread(2), closing it on destruction.
class FileReader {
 public:
  FileReader(const std::string& path, const std::string& label) : label_(label) {
    descriptor_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat status {};
    if (descriptor_ < 0 || ::fstat(descriptor_, &status) != 0) fail();
    size_ = static_cast<uint64_t>(status.st_size);
  }
  ~FileReader() {
    if (descriptor_ >= 0) ::close(descriptor_);
  }
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;

  uint64_t size() const { return size_; }
  // Bytes [offset, offset + count) of the file, fewer at its end.
  void read(uint64_t offset, std::vector<unsigned char>& buffer, size_t count) const {
    buffer.resize(static_cast<size_t>(std::min<uint64_t>(count, size_ - std::min(offset, size_))));
    size_t done = 0;
    while (done < buffer.size()) {
      const ssize_t got = ::pread(descriptor_, buffer.data() + done, buffer.size() - done,
                                  static_cast<off_t>(offset + done));
      if (got <= 0) fail();
      done += static_cast<size_t>(got);
    }
  }

 private:
  [[noreturn]] void fail() const { throw Error(label_ + ": cannot read the file"); }

  std::string label_;
  int descriptor_ = -1;
  uint64_t size_ = 0;
};

}  // namespace

std::string find_malformed_global_heap(std::span<const unsigned char> bytes, size_t length_size,
                                       GlobalHeaps* heaps) {
  const unsigned char* const begin = bytes.data();
  const unsigned char* const end = begin + bytes.size();
  for (const unsigned char* at = find_signature(begin, end); at != end;
       at = find_signature(at + 1, end)) {
    const auto start = static_cast<size_t>(at - begin);
    std::string problem = check_collection(bytes.subspan(start), start, length_size, heaps);
    if (!problem.empty()) return problem;
  }
  return "";
}

GlobalHeaps scan_global_heaps(std::span<const unsigned char> bytes, const std::string& label,
                              size_t length_size) {
  GlobalHeaps heaps;
  const std::string problem = find_malformed_global_heap(bytes, length_size, &heaps);
  if (!problem.empty()) throw Error(label + ": the file is corrupt: " + problem);
  return heaps;
}

GlobalHeaps scan_global_heaps(const std::string& path, const std::string& label,
                              size_t length_size) {
  GlobalHeaps heaps;
  // Blocks that stay in cache, overlapping by 3 bytes so that no signature is cut in two; each
  // collection found is read on its own (it may span blocks).
  constexpr size_t kBlock = size_t{256} << 10;
  const FileReader file(path, label);
  std::vector<unsigned char> block;
  std::vector<unsigned char> collection;
  for (uint64_t offset = 0; offset < file.size(); offset += kBlock - 3) {
    file.read(offset, block, kBlock);
    const unsigned char* const end = block.data() + block.size();
    for (const unsigned char* at = find_signature(block.data(), end); at != end;
         at = find_signature(at + 1, end)) {
      const uint64_t start = offset + static_cast<uint64_t>(at - block.data());
      file.read(start, collection, 8 + length_size);
      if (collection.size() < 8 + length_size) continue;  // too short to be one
      // At most the rest of the file: check_collection reports a size that runs past it.
      const uint64_t claimed = decode_length(&collection[8], length_size);
      file.read(start, collection, static_cast<size_t>(std::min(claimed, file.size() - start)));
      const std::string problem = check_collection(collection, start, length_size, &heaps);
      if (!problem.empty()) throw Error(label + ": the file is corrupt: " + problem);
    }
    if (block.size() < kBlock) break;
  }
  return heaps;
}

std::string find_bad_heap_reference(const GlobalHeaps& heaps, std::span<const unsigned char> raw,
                                    size_t count) {
  const size_t address_size = heaps.address_size;
  const size_t element = stored_vlen_size(address_size);
  if (address_size > 8 || raw.size() / element < count) {
    return "its strings are stored in " + std::to_string(raw.size()) + " bytes, not " +
           std::to_string(count) + " heap IDs";
  }
  for (size_t i = 0; i < count; ++i) {
    const unsigned char* id = &raw[i * element];
    const uint64_t length = decode_length(id, 4);
    const uint64_t address = decode_length(id + 4, address_size);
    const uint64_t index = decode_length(id + 4 + address_size, 4);
    if (address == 0) continue;  // nil: libhdf5 reads no heap (H5T__vlen_disk_isnull)
    const std::string string = "string " + std::to_string(i);
    const uint64_t at = heaps.base_address + address;
    if (at < address) return string + " refers to an address past the end of the file";
    const auto collection = heaps.collections.find(at);
    if (collection == heaps.collections.end()) {
      return string + " refers to a global heap collection at byte " + std::to_string(at) +
             ", where there is none";
    }
    const std::string where = " of the global heap collection at byte " + std::to_string(at);
    const auto object = index > 0xffff ? collection->second.end()
                                       : collection->second.find(static_cast<unsigned>(index));
    if (object == collection->second.end()) {
      return string + " refers to object " + std::to_string(index) + where +
             ", which has no such object";
    }
    if (object->second != length) {
      return string + " of " + std::to_string(length) + " bytes refers to object " +
             std::to_string(index) + where + ", which holds " + std::to_string(object->second);
    }
  }
  return "";
}

}  // namespace gaze::hdf5
