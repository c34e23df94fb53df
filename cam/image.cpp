#include "cam/image.h"

#include <stb_image.h>
#include <stb_image_write.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <memory>
#include <utility>

#include "tensor/atomic_write.h"
#include "tensor/error.h"

namespace gaze {
namespace {

struct StbFree {
  void operator()(unsigned char* p) const { stbi_image_free(p); }
};

std::string lower_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return ext;
}

void check_pixel_limit(const std::string& path, int64_t w, int64_t h) {
  if (w * h > kMaxImagePixels) {
    throw Error(path + ": image is " + std::to_string(w) + "x" + std::to_string(h) +
                ", more than the limit of " + std::to_string(kMaxImagePixels) + " pixels");
  }
}

// The width and height in a PNG's IHDR, or {0, 0} if the file does not start like a PNG. stb's
// own header check refuses PNGs of more than 2^30 bytes as "unknown image type"; this lets such
// a file be refused with the pixel limit instead. Leaves the file position where it was.
std::pair<int64_t, int64_t> png_header_size(FILE* file) {
  unsigned char b[24];
  const long position = std::ftell(file);
  const size_t n = std::fread(b, 1, sizeof b, file);
  std::fseek(file, position, SEEK_SET);
  if (n != sizeof b || std::memcmp(b, "\x89PNG\r\n\x1a\n", 8) != 0 ||
      std::memcmp(b + 12, "IHDR", 4) != 0) {
    return {0, 0};
  }
  auto be32 = [&](int i) {
    return static_cast<int64_t>(b[i]) << 24 | b[i + 1] << 16 | b[i + 2] << 8 | b[i + 3];
  };
  return {be32(16), be32(20)};
}

}  // namespace

Image load_image(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) throw Error(path + ": cannot open (" + std::strerror(errno) + ")");
  int w = 0, h = 0, channels = 0;
  // Read the size first: refuse huge images before stb allocates for them.
  if (!stbi_info_from_file(file.get(), &w, &h, &channels)) {
    const std::string reason = stbi_failure_reason();
    const auto [png_w, png_h] = png_header_size(file.get());
    check_pixel_limit(path, png_w, png_h);
    throw Error(path + ": not a readable image (" + reason + ")");
  }
  if (w <= 0 || h <= 0) throw Error(path + ": image has zero size");
  check_pixel_limit(path, w, h);
  std::unique_ptr<unsigned char, StbFree> pixels(
      stbi_load_from_file(file.get(), &w, &h, &channels, 0));
  if (!pixels) throw Error(path + ": cannot decode image (" + stbi_failure_reason() + ")");

  Image img{w, h, std::vector<uint8_t>(static_cast<size_t>(w) * static_cast<size_t>(h) * 3)};
  const unsigned char* src = pixels.get();
  const bool has_alpha = channels == 2 || channels == 4;
  const int colour = has_alpha ? channels - 1 : channels;
  for (size_t p = 0; p < img.rgb.size() / 3; ++p, src += channels) {
    const int a = has_alpha ? src[colour] : 255;
    for (int c = 0; c < 3; ++c) {
      const int v = src[colour == 1 ? 0 : c];
      img.rgb[p * 3 + static_cast<size_t>(c)] =
          static_cast<uint8_t>((v * a + 255 * (255 - a) + 127) / 255);
    }
  }
  return img;
}

void save_image(const std::string& path, const Image& image, int jpeg_quality) {
  const std::string ext = lower_extension(path);
  const bool png = ext == ".png";
  if (!png && ext != ".jpg" && ext != ".jpeg") {
    throw Error(path + ": unknown image type '" + ext + "' (use .png, .jpg or .jpeg)");
  }
  if (image.width <= 0 || image.height <= 0 ||
      image.rgb.size() !=
          static_cast<size_t>(image.width) * static_cast<size_t>(image.height) * 3) {
    throw Error(path + ": refusing to write an empty or inconsistent image");
  }
  write_atomically(path, [&](const std::string& temporary) {
    // stb's own file writers ignore fwrite's and fclose's results, so a full disk would go
    // unnoticed: stb encodes into this callback instead, which writes through a CheckedFile.
    // The callback runs inside stb's C code, so the first error is kept and rethrown after.
    struct Sink {
      CheckedFile file;
      std::exception_ptr error;
    } sink{CheckedFile(temporary, path), nullptr};
    stbi_write_func* write = [](void* context, void* data, int size) {
      Sink& s = *static_cast<Sink*>(context);
      if (s.error || size <= 0) return;
      try {
        s.file.write(data, static_cast<size_t>(size));
      } catch (...) {
        s.error = std::current_exception();
      }
    };
    const int ok = png ? stbi_write_png_to_func(write, &sink, image.width, image.height, 3,
                                                image.rgb.data(), image.width * 3)
                       : stbi_write_jpg_to_func(write, &sink, image.width, image.height, 3,
                                                image.rgb.data(), jpeg_quality);
    if (sink.error) std::rethrow_exception(sink.error);
    if (!ok) throw Error(path + ": cannot encode the image");
    sink.file.close();
  });
}

}  // namespace gaze
