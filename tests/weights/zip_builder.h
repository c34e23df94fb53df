// Test-only: writes zip files byte by byte (APPNOTE.TXT 4.3), with knobs to make each of the
// corruptions the reader must refuse. zlib deflates; nothing here is gaze's reader.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace gaze::testing {

struct ZipEntrySpec {
  std::string name = "";
  std::string data = "";
  bool deflate = false;
  // Overrides of what the headers declare (both the local and the central one unless noted).
  std::optional<uint32_t> crc = std::nullopt, size = std::nullopt, compressed_size = std::nullopt;
  std::optional<uint16_t> method = std::nullopt;
  uint16_t flags = 0;
  std::string local_name = "";  // when set, the local header's name differs from the central one
  std::string central_extra = "";
  std::string compressed = "";  // when set, the bytes stored instead of the real (deflated) data
};

struct ZipSpec {
  std::vector<ZipEntrySpec> entries = {};
  bool zip64_locator = false;  // a ZIP64 end-of-central-directory locator before the end record
  std::string comment = "";
  std::string trailing = "";  // bytes after the end record
};

inline std::string raw_deflate(const std::string& data) {
  z_stream z{};
  if (deflateInit2(&z, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2");
  std::string out(deflateBound(&z, data.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("deflate");
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

inline void put16(std::string& s, uint32_t v) {
  s += static_cast<char>(v & 0xff);
  s += static_cast<char>((v >> 8) & 0xff);
}
inline void put32(std::string& s, uint32_t v) {
  put16(s, v & 0xffff);
  put16(s, v >> 16);
}

inline std::string build_zip(const ZipSpec& spec) {
  std::string out, directory;
  for (const ZipEntrySpec& e : spec.entries) {
    const std::string stored =
        !e.compressed.empty() ? e.compressed : (e.deflate ? raw_deflate(e.data) : e.data);
    const uint32_t crc = e.crc.value_or(static_cast<uint32_t>(
        crc32(0, reinterpret_cast<const Bytef*>(e.data.data()), static_cast<uInt>(e.data.size()))));
    const uint32_t size = e.size.value_or(static_cast<uint32_t>(e.data.size()));
    const uint32_t csize = e.compressed_size.value_or(static_cast<uint32_t>(stored.size()));
    const uint16_t method = e.method.value_or(e.deflate ? 8 : 0);
    const bool descriptor = e.flags & 8;
    const uint32_t offset = static_cast<uint32_t>(out.size());
    const std::string local_name = e.local_name.empty() ? e.name : e.local_name;
    put32(out, 0x04034b50);
    put16(out, 20);
    put16(out, e.flags);
    put16(out, method);
    put16(out, 0);     // time
    put16(out, 0x21);  // date: 1980-01-01
    put32(out, descriptor ? 0 : crc);
    put32(out, descriptor ? 0 : csize);
    put32(out, descriptor ? 0 : size);
    put16(out, static_cast<uint32_t>(local_name.size()));
    put16(out, 0);
    out += local_name + stored;
    if (descriptor) {
      put32(out, 0x08074b50);
      put32(out, crc);
      put32(out, csize);
      put32(out, size);
    }
    put32(directory, 0x02014b50);
    put16(directory, 20);
    put16(directory, 20);
    put16(directory, e.flags);
    put16(directory, method);
    put16(directory, 0);
    put16(directory, 0x21);
    put32(directory, crc);
    put32(directory, csize);
    put32(directory, size);
    put16(directory, static_cast<uint32_t>(e.name.size()));
    put16(directory, static_cast<uint32_t>(e.central_extra.size()));
    put16(directory, 0);  // comment
    put16(directory, 0);  // disk
    put16(directory, 0);  // internal attributes
    put32(directory, 0);  // external attributes
    put32(directory, offset);
    directory += e.name + e.central_extra;
  }
  const uint32_t directory_offset = static_cast<uint32_t>(out.size());
  out += directory;
  if (spec.zip64_locator) {
    put32(out, 0x07064b50);
    put32(out, 0);
    put32(out, 0);
    put32(out, 0);
    put32(out, 1);
  }
  put32(out, 0x06054b50);
  put16(out, 0);
  put16(out, 0);
  put16(out, static_cast<uint32_t>(spec.entries.size()));
  put16(out, static_cast<uint32_t>(spec.entries.size()));
  put32(out, static_cast<uint32_t>(directory.size()));
  put32(out, directory_offset);
  put16(out, static_cast<uint32_t>(spec.comment.size()));
  out += spec.comment + spec.trailing;
  return out;
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

}  // namespace gaze::testing
