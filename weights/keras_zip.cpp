// The zip format as PKWARE's APPNOTE.TXT (6.3) describes it, reduced to what Python's zipfile
// writes without ZIP64: sections 4.3.7 (local file header), 4.3.12 (central directory header),
// 4.3.16 (end of central directory record).
#include "weights/keras_zip.h"

#include <zlib.h>

#include <algorithm>
#include <limits>
#include <new>
#include <set>

#include "tensor/error.h"

namespace gaze::zip {
namespace {

constexpr uint32_t kLocalSignature = 0x04034b50;         // "PK\3\4"
constexpr uint32_t kCentralSignature = 0x02014b50;       // "PK\1\2"
constexpr uint32_t kEndSignature = 0x06054b50;           // "PK\5\6"
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;  // "PK\6\7"
constexpr uint64_t kLocalHeaderSize = 30, kCentralHeaderSize = 46, kEndSize = 22;
constexpr uint64_t kZip64LocatorSize = 20;
constexpr uint64_t kMaxComment = 0xffff;
constexpr uint16_t kZip64ExtraId = 0x0001;
constexpr uint16_t kFlagEncrypted = 1 << 0, kFlagDataDescriptor = 1 << 3,
                   kFlagStrongEncryption = 1 << 6;
constexpr uint16_t kStored = 0, kDeflated = 8;

uint16_t u16(const unsigned char* p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}
uint32_t u32(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

std::string in_quotes(const std::string& s) {
  return "'" + s + "'";
}

// True if the extra field (a list of id, size, data) has a ZIP64 record.
bool has_zip64_extra(const unsigned char* extra, size_t size) {
  for (size_t at = 0; at + 4 <= size;) {
    if (u16(extra + at) == kZip64ExtraId) return true;
    at += 4 + u16(extra + at + 2);
  }
  return false;
}

}  // namespace

void Archive::fail(const std::string& what) const {
  throw Error(path_ + ": " + what);
}

std::vector<unsigned char> Archive::read_at(uint64_t offset, uint64_t size,
                                            const std::string& what) {
  if (offset > file_size_ || size > file_size_ - offset) {
    fail(what + " lies beyond the end of the file (" + std::to_string(file_size_) +
         " bytes): the zip file is truncated or corrupt");
  }
  std::vector<unsigned char> bytes;
  try {
    bytes.resize(size);
  } catch (const std::bad_alloc&) {
    fail(what + " (" + std::to_string(size) + " bytes) does not fit in memory");
  }
  in_.clear();
  in_.seekg(static_cast<std::streamoff>(offset));
  in_.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (!in_) fail("cannot read " + what + " (" + std::to_string(size) + " bytes)");
  return bytes;
}

Archive Archive::open(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open the file");
  in.seekg(0, std::ios::end);
  const std::streamoff end = in.tellg();
  if (end < 0) throw Error(path + ": cannot read the file");
  Archive archive(path, std::move(in), static_cast<uint64_t>(end));
  archive.read_central_directory();
  return archive;
}

void Archive::read_central_directory() {
  // The end record is the last 22 bytes plus a comment of up to 65535 bytes: search backwards
  // for its signature, with a comment length that reaches exactly to the end of the file.
  const uint64_t tail_size = std::min(file_size_, kEndSize + kMaxComment);
  const std::vector<unsigned char> tail = read_at(file_size_ - tail_size, tail_size, "the end");
  uint64_t end_at = UINT64_MAX;  // offset in `tail`
  for (uint64_t i = tail_size >= kEndSize ? tail_size - kEndSize + 1 : 0; i-- > 0;) {
    if (u32(&tail[i]) == kEndSignature && i + kEndSize + u16(&tail[i + 20]) == tail_size) {
      end_at = i;
      break;
    }
  }
  if (end_at == UINT64_MAX) {
    fail("not a complete zip file: no end-of-central-directory record (the file is truncated?)");
  }
  const unsigned char* e = &tail[end_at];
  const uint64_t end_offset = file_size_ - tail_size + end_at;
  const uint16_t disk = u16(e + 4), directory_disk = u16(e + 6), here = u16(e + 8),
                 total = u16(e + 10);
  const uint32_t directory_size = u32(e + 12), directory_offset = u32(e + 16);
  const bool zip64_locator =
      end_offset >= kZip64LocatorSize &&
      u32(&read_at(end_offset - kZip64LocatorSize, 4, "the end")[0]) == kZip64LocatorSignature;
  if (zip64_locator || total == 0xffff || directory_size == 0xffffffff ||
      directory_offset == 0xffffffff) {
    fail("a ZIP64 archive, which gaze does not read (Keras writes plain zip files up to 2 GiB)");
  }
  if (disk != 0 || directory_disk != 0 || here != total) {
    fail("a zip file split over several disks, which gaze does not read");
  }
  if (uint64_t{directory_offset} + directory_size != end_offset) {
    fail("corrupt zip file: the central directory (" + std::to_string(directory_size) +
         " bytes at " + std::to_string(directory_offset) +
         ") does not end where the end record starts (" + std::to_string(end_offset) + ")");
  }
  if (uint64_t{total} * kCentralHeaderSize > directory_size) {
    fail("corrupt zip file: " + std::to_string(total) + " entries cannot fit in a " +
         std::to_string(directory_size) + "-byte central directory");
  }
  directory_offset_ = directory_offset;
  const std::vector<unsigned char> directory =
      read_at(directory_offset, directory_size, "the central directory");
  std::set<std::string> names;
  size_t at = 0;
  for (uint16_t k = 0; k < total; ++k) {
    const std::string which = "central directory entry " + std::to_string(k);
    if (at + kCentralHeaderSize > directory.size() || u32(&directory[at]) != kCentralSignature) {
      fail("corrupt zip file: " + which + " is not a central directory header");
    }
    const unsigned char* h = &directory[at];
    const size_t name_size = u16(h + 28), extra_size = u16(h + 30), comment_size = u16(h + 32);
    if (at + kCentralHeaderSize + name_size + extra_size + comment_size > directory.size()) {
      fail("corrupt zip file: " + which + " runs past the central directory");
    }
    Entry entry;
    entry.name.assign(reinterpret_cast<const char*>(h + kCentralHeaderSize), name_size);
    entry.flags = u16(h + 8);
    entry.method = u16(h + 10);
    entry.crc32 = u32(h + 16);
    entry.compressed_size = u32(h + 20);
    entry.size = u32(h + 24);
    entry.local_header_offset = u32(h + 42);
    const std::string what = "entry " + in_quotes(entry.name);
    if (entry.compressed_size == 0xffffffff || entry.size == 0xffffffff ||
        entry.local_header_offset == 0xffffffff ||
        has_zip64_extra(h + kCentralHeaderSize + name_size, extra_size)) {
      fail(what + " uses ZIP64, which gaze does not read (Keras writes plain zip files)");
    }
    if (u16(h + 34) != 0) fail(what + " is on another disk (split zip files are not read)");
    if (!names.insert(entry.name).second) fail("corrupt zip file: " + what + " appears twice");
    entries_.push_back(std::move(entry));
    at += kCentralHeaderSize + name_size + extra_size + comment_size;
  }
  if (at != directory.size()) {
    fail("corrupt zip file: the central directory has " + std::to_string(directory.size() - at) +
         " bytes after its " + std::to_string(total) + " entries");
  }
}

const Entry* Archive::find(const std::string& name) const {
  for (const Entry& e : entries_) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

namespace {

// Inflates raw deflate data (no zlib or gzip header) into exactly `size` bytes; `fail` gets the
// reason otherwise. One byte more than declared is room to notice a stream that is longer. Sizes
// fit zlib's 32-bit counters: ZIP64 is refused, so both are below 0xffffffff.
template <typename Fail>
std::vector<unsigned char> inflate_exactly(std::vector<unsigned char>& in, uint64_t size,
                                           const Fail& fail) {
  static_assert(sizeof(uInt) >= 4);
  std::vector<unsigned char> out;
  try {
    out.resize(size + 1);
  } catch (const std::bad_alloc&) {
    fail("(" + std::to_string(size) + " bytes) does not fit in memory");
  }
  z_stream z{};
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK) fail("cannot be inflated (zlib does not start)");
  z.next_in = in.data();
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  const int status = inflate(&z, Z_FINISH);
  const uint64_t produced = z.total_out;
  const bool input_left = z.avail_in > 0, output_full = z.avail_out == 0;
  const std::string message = z.msg ? z.msg : "no details";
  inflateEnd(&z);
  if (status == Z_DATA_ERROR) fail("has corrupt deflate data (" + message + ")");
  if (status == Z_MEM_ERROR) fail("cannot be inflated: out of memory");
  if (status != Z_STREAM_END) {
    fail(output_full ? "inflates to more than its declared " + std::to_string(size) + " bytes"
                     : "has deflate data that ends early (the file is corrupt)");
  }
  if (produced != size) {
    fail("inflates to " + std::to_string(produced) + " bytes, not the " + std::to_string(size) +
         " it declares");
  }
  if (input_left) fail("has bytes after the end of its deflate data");
  out.resize(size);
  return out;
}

}  // namespace

std::vector<unsigned char> Archive::read(const std::string& name, uint64_t max_size) {
  const Entry* found = find(name);
  if (!found) fail("no entry " + in_quotes(name));
  const Entry entry = *found;
  const std::string what = "entry " + in_quotes(name);
  auto entry_fail = [&](const std::string& problem) { fail(what + " " + problem); };
  if (entry.flags & (kFlagEncrypted | kFlagStrongEncryption)) entry_fail("is encrypted");
  if (entry.method != kStored && entry.method != kDeflated) {
    entry_fail("uses compression method " + std::to_string(entry.method) +
               " (gaze reads stored and deflated entries)");
  }
  if (entry.size > max_size) {
    entry_fail("is " + std::to_string(entry.size) + " bytes, over gaze's limit of " +
               std::to_string(max_size) + " for it");
  }
  if (entry.method == kStored && entry.size != entry.compressed_size) {
    entry_fail("is stored but declares " + std::to_string(entry.size) + " bytes from " +
               std::to_string(entry.compressed_size) + " (the file is corrupt)");
  }
  if (entry.method == kDeflated && entry.size > kBombFloor &&
      entry.size > kMaxRatio * entry.compressed_size) {
    entry_fail("declares " + std::to_string(entry.size) + " bytes from " +
               std::to_string(entry.compressed_size) + " compressed, more than " +
               std::to_string(kMaxRatio) + " times as many: refusing a likely zip bomb");
  }
  const std::vector<unsigned char> local =
      read_at(entry.local_header_offset, kLocalHeaderSize, "the local header of " + what);
  if (u32(local.data()) != kLocalSignature) entry_fail("has no local header where it should");
  const uint64_t name_size = u16(&local[26]), extra_size = u16(&local[28]);
  const std::vector<unsigned char> local_name =
      read_at(entry.local_header_offset + kLocalHeaderSize, name_size, "the name of " + what);
  const bool same = std::string(local_name.begin(), local_name.end()) == entry.name &&
                    u16(&local[6]) == entry.flags && u16(&local[8]) == entry.method &&
                    ((entry.flags & kFlagDataDescriptor) ||
                     (u32(&local[14]) == entry.crc32 && u32(&local[18]) == entry.compressed_size &&
                      u32(&local[22]) == entry.size));
  if (!same) entry_fail("has a local header that disagrees with the central directory");
  const uint64_t data_offset =
      entry.local_header_offset + kLocalHeaderSize + name_size + extra_size;
  if (data_offset > directory_offset_ || entry.compressed_size > directory_offset_ - data_offset) {
    entry_fail("runs into the central directory (the file is corrupt)");
  }
  std::vector<unsigned char> data = read_at(data_offset, entry.compressed_size, what);
  if (entry.method == kDeflated) data = inflate_exactly(data, entry.size, entry_fail);
  const uint32_t crc = static_cast<uint32_t>(crc32_z(0, data.data(), data.size()));
  if (crc != entry.crc32) {
    entry_fail("fails its CRC-32 check (the file is corrupt)");
  }
  return data;
}

}  // namespace gaze::zip
