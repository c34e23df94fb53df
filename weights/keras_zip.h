// A small, strict reader for the zip files Keras 3 saves models in (`.keras`).
//
// keras/src/saving/saving_lib.py (_save_model_to_fileobj) writes them with Python's zipfile in
// its default mode, ZIP_STORED: a local header before each entry's bytes, then the central
// directory, then the end record. Deflated entries (a `.keras` re-zipped by hand) are read too.
// Everything the format allows that Keras never writes is refused with an Error naming the file:
// ZIP64, encryption, other compression methods, several disks, trailing bytes. An entry is read
// only through the central directory and its local header, which must agree; its CRC-32 is
// checked; sizes are checked against the file and against limits before anything is allocated.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace gaze::zip {

struct Entry {
  std::string name;
  uint16_t flags = 0;   // general-purpose bits; bit 3: sizes and CRC follow the data
  uint16_t method = 0;  // 0 stored, 8 deflated
  uint32_t crc32 = 0;
  uint64_t compressed_size = 0;
  uint64_t size = 0;  // uncompressed
  uint64_t local_header_offset = 0;
};

// Against zip bombs: a deflated entry larger than kBombFloor bytes may inflate to at most
// kMaxRatio times its compressed size. Keras (saving_lib._reject_zip_bomb) also uses a ratio of
// 100; deflate itself cannot exceed about 1032, and real weights barely compress.
inline constexpr uint64_t kBombFloor = uint64_t{1} << 20;
inline constexpr uint64_t kMaxRatio = 100;

class Archive {
 public:
  // Reads the end record and the central directory of the zip file at `path`.
  static Archive open(const std::string& path);

  const std::string& path() const { return path_; }
  const std::vector<Entry>& entries() const { return entries_; }
  // The entry of that exact name, or nullptr.
  const Entry* find(const std::string& name) const;
  // The entry's bytes, inflated when deflated and checked against its CRC-32. Errors (one each,
  // naming the file and the entry): no such entry; larger than `max_size`; a likely zip bomb
  // (above); a local header that disagrees with the central directory; data beyond the central
  // directory; corrupt deflate data or a size other than declared; a CRC mismatch.
  std::vector<unsigned char> read(const std::string& name, uint64_t max_size);

 private:
  Archive(std::string path, std::ifstream in, uint64_t size)
      : path_(std::move(path)), in_(std::move(in)), file_size_(size) {}
  // `size` bytes at `offset`; Error if the file ends before.
  std::vector<unsigned char> read_at(uint64_t offset, uint64_t size, const std::string& what);
  void read_central_directory();
  [[noreturn]] void fail(const std::string& what) const;

  std::string path_;
  std::ifstream in_;
  uint64_t file_size_ = 0;
  uint64_t directory_offset_ = 0;  // where the central directory starts: entries end before it
  std::vector<Entry> entries_;
};

}  // namespace gaze::zip
