// PNG: decoding with libspng (CRCs checked, chunk memory bounded); encoding written here, three
// chunks around one zlib stream from ISA-L's igzip, which compresses 2.5 times as fast as
// libdeflate and 6 times as fast as zlib at level 1, for files 2-3% larger than libdeflate's.
#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#include <spng.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <vector>

#include "cam/image_codecs.h"
#include "tensor/error.h"

namespace gaze {
namespace {

// Writing: igzip at level 1, every row filtered with Up. Measured on a 0.65 MP panel (a photo
// and its heatmap, 2026-12-02), best of 5: stb's encoder 142-175 ms for 1.28 MB; libspng (zlib)
// 32-45 ms at levels 1-2 with one filter, 60-90 ms letting it choose per row, 170-230 ms at level
// 6; zlib's run-length strategy 25-29 ms, 1.02 MB; libdeflate level 1 13 ms, 1.01 MB (level 2:
// 21 ms for 1% less, level 6: 43 ms for 5% less). On the Xeon of 2026-12-04, best of 7 (two
// panels): libdeflate level 1 8.0 / 10.7 ms for 676 / 1007 KB; igzip level 1 3.4 / 4.3 ms for
// 693 / 1031 KB (level 0: 3.3 / 4.1 ms for 25% more; levels 2-3 no smaller). Sub instead of Up
// is no better with either.
constexpr int kDeflateLevel = 1;
constexpr uint8_t kFilterUp = 2;

// Text and other ancillary chunks may not make the decoder hold more than this.
constexpr size_t kChunkLimit = 64u << 20;

using Context = std::unique_ptr<spng_ctx, decltype(&spng_ctx_free)>;

Context new_context(const std::string& path, int flags) {
  Context ctx(spng_ctx_new(flags), &spng_ctx_free);
  if (!ctx) throw Error(path + ": out of memory for the PNG codec");
  return ctx;
}

// The width and height in the IHDR, read by hand so that a PNG too large for the limit is
// refused as such even when libspng would stop at something else first.
void check_header_size(const std::string& path, std::string_view b) {
  if (b.size() < 24 || b.compare(12, 4, "IHDR") != 0) return;
  auto be32 = [&](size_t i) {
    const auto* u = reinterpret_cast<const unsigned char*>(b.data());
    return static_cast<int64_t>(u[i]) << 24 | u[i + 1] << 16 | u[i + 2] << 8 | u[i + 3];
  };
  check_pixel_limit(path, be32(16), be32(20));
}

}  // namespace

Image decode_png(const std::string& path, std::string_view bytes) {
  check_header_size(path, bytes);
  Context ctx = new_context(path, 0);
  spng_set_chunk_limits(ctx.get(), kChunkLimit, kChunkLimit);
  spng_set_png_buffer(ctx.get(), bytes.data(), bytes.size());
  spng_ihdr ihdr{};
  if (const int e = spng_get_ihdr(ctx.get(), &ihdr))
    throw Error(path + ": not a readable PNG (" + spng_strerror(e) + ")");
  const auto w = static_cast<int64_t>(ihdr.width), h = static_cast<int64_t>(ihdr.height);
  if (w <= 0 || h <= 0) throw Error(path + ": image has zero size");
  check_pixel_limit(path, w, h);
  size_t size = 0;
  if (const int e = spng_decoded_image_size(ctx.get(), SPNG_FMT_RGBA8, &size))
    throw Error(path + ": not a readable PNG (" + spng_strerror(e) + ")");
  std::vector<uint8_t> rgba(size);
  // 16-bit samples keep their high byte, as PIL and stb do; tRNS becomes alpha; gAMA is ignored,
  // as PIL ignores it.
  if (const int e =
          spng_decode_image(ctx.get(), rgba.data(), rgba.size(), SPNG_FMT_RGBA8, SPNG_DECODE_TRNS))
    throw Error(path + ": cannot decode the PNG (" + spng_strerror(e) + ")");
  return to_rgb(rgba.data(), static_cast<int>(w), static_cast<int>(h), 4);
}

namespace {

void put_be32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

// One PNG chunk: length, type, data, CRC-32 of type and data.
void write_chunk(CheckedFile& file, const char type[4], const uint8_t* data, size_t size) {
  std::vector<uint8_t> head;
  put_be32(head, static_cast<uint32_t>(size));
  head.insert(head.end(), type, type + 4);
  // PNG's CRC is gzip's CRC-32 (ISO 3309); ISA-L's takes and returns it un-inverted, as zlib's.
  uint32_t crc = crc32_gzip_refl(0, reinterpret_cast<const unsigned char*>(type), 4);
  if (size > 0) crc = crc32_gzip_refl(crc, data, size);
  file.write(head.data(), head.size());
  if (size > 0) file.write(data, size);
  std::vector<uint8_t> tail;
  put_be32(tail, crc);
  file.write(tail.data(), tail.size());
}

// The zlib stream of the filtered rows, in one call of igzip's stateless compressor.
std::vector<uint8_t> zlib_compress(const std::string& path, std::vector<uint8_t>& filtered) {
  if (filtered.size() > 0x7fffffffu) throw Error(path + ": image too large for one PNG stream");
  // Stored blocks take 5 bytes per 64 KiB: no input can come out larger than this.
  std::vector<uint8_t> out(filtered.size() + filtered.size() / 8192 + 1024);
  std::vector<uint8_t> level_buffer(ISAL_DEF_LVL1_DEFAULT);
  isal_zstream stream;
  isal_deflate_stateless_init(&stream);
  stream.level = kDeflateLevel;
  stream.level_buf = level_buffer.data();
  stream.level_buf_size = static_cast<uint32_t>(level_buffer.size());
  stream.gzip_flag = IGZIP_ZLIB;
  stream.end_of_stream = 1;
  stream.flush = NO_FLUSH;
  stream.next_in = filtered.data();
  stream.avail_in = static_cast<uint32_t>(filtered.size());
  stream.next_out = out.data();
  stream.avail_out = static_cast<uint32_t>(out.size());
  if (isal_deflate_stateless(&stream) != COMP_OK || stream.avail_in != 0)
    throw Error(path + ": cannot encode the PNG");
  out.resize(stream.total_out);
  return out;
}

}  // namespace

void write_png(CheckedFile& file, const std::string& path, const Image& image) {
  const size_t w = static_cast<size_t>(image.width), h = static_cast<size_t>(image.height);
  const size_t row = w * 3 + 1;
  std::vector<uint8_t> filtered(row * h);
  for (size_t y = 0; y < h; ++y) {
    const uint8_t* src = image.rgb.data() + y * w * 3;
    uint8_t* out = filtered.data() + y * row;
    out[0] = kFilterUp;
    if (y == 0) {
      std::memcpy(out + 1, src, w * 3);  // Up from the row above the image, which is zero
      continue;
    }
    const uint8_t* above = src - w * 3;
    for (size_t i = 0; i < w * 3; ++i) out[1 + i] = static_cast<uint8_t>(src[i] - above[i]);
  }
  const std::vector<uint8_t> idat = zlib_compress(path, filtered);
  file.write("\x89PNG\r\n\x1a\n", 8);
  std::vector<uint8_t> ihdr;
  put_be32(ihdr, static_cast<uint32_t>(w));
  put_be32(ihdr, static_cast<uint32_t>(h));
  ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});  // 8 bits, truecolour, deflate, adaptive, no interlace
  write_chunk(file, "IHDR", ihdr.data(), ihdr.size());
  write_chunk(file, "IDAT", idat.data(), idat.size());
  write_chunk(file, "IEND", nullptr, 0);
}

}  // namespace gaze
