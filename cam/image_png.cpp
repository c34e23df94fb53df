// PNG with libspng: decoding (CRCs checked, chunk memory bounded) and encoding at a fast
// compression level.
#include <spng.h>
#include <zlib.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <vector>

#include "cam/image_codecs.h"
#include "tensor/error.h"

namespace gaze {
namespace {

// zlib's run-length strategy at level 1, every row filtered with Sub. Measured on 0.65 MP panels
// (a photo and its heatmap, 2026-12-02): about 27 ms and 1.02 MB, where stb's encoder took 174 ms
// and wrote 1.28 MB. zlib's default strategy at levels 1-3 took 33-60 ms for 1-3% smaller files,
// letting libspng pick each row's filter 60-90 ms for 2-5% smaller, level 6 200 ms and more
// (README, "Measured").
constexpr int kCompressionLevel = 1;
constexpr int kCompressionStrategy = Z_RLE;
constexpr int kFilters = SPNG_FILTER_CHOICE_SUB;

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

void write_png(CheckedFile& file, const std::string& path, const Image& image) {
  Context ctx = new_context(path, SPNG_CTX_ENCODER);
  // The stream callback runs inside libspng's C code: the first error is kept, libspng is told
  // to stop, and the error is rethrown after.
  struct Sink {
    CheckedFile* file;
    std::exception_ptr error;
  } sink{&file, nullptr};
  spng_rw_fn* write = [](spng_ctx*, void* user, void* data, size_t length) {
    Sink& s = *static_cast<Sink*>(user);
    try {
      s.file->write(data, length);
      return 0;
    } catch (...) {
      s.error = std::current_exception();
      return static_cast<int>(SPNG_IO_ERROR);
    }
  };
  spng_set_png_stream(ctx.get(), write, &sink);
  spng_set_option(ctx.get(), SPNG_IMG_COMPRESSION_LEVEL, kCompressionLevel);
  spng_set_option(ctx.get(), SPNG_IMG_COMPRESSION_STRATEGY, kCompressionStrategy);
  spng_set_option(ctx.get(), SPNG_FILTER_CHOICE, kFilters);
  spng_ihdr ihdr{static_cast<uint32_t>(image.width),
                 static_cast<uint32_t>(image.height),
                 8,
                 SPNG_COLOR_TYPE_TRUECOLOR,
                 0,
                 0,
                 0};
  int e = spng_set_ihdr(ctx.get(), &ihdr);
  if (!e) {
    e = spng_encode_image(ctx.get(), image.rgb.data(), image.rgb.size(), SPNG_FMT_PNG,
                          SPNG_ENCODE_FINALIZE);
  }
  if (sink.error) std::rethrow_exception(sink.error);
  if (e) throw Error(path + ": cannot encode the PNG (" + spng_strerror(e) + ")");
}

}  // namespace gaze
