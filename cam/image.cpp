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
#include <string_view>
#include <utility>

#include "cam/image_codecs.h"
#include "tensor/atomic_write.h"
#include "tensor/error.h"

namespace gaze {
namespace {

// Files are decoded from memory; none of the supported formats needs more than this for an image
// within kMaxImagePixels (an uncompressed RGBA BMP of that size is 400 MB).
constexpr int64_t kMaxFileBytes = int64_t{1} << 30;

struct StbFree {
  void operator()(unsigned char* p) const { stbi_image_free(p); }
};

std::string lower_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return ext;
}

std::string read_file(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) throw Error(path + ": cannot open (" + std::strerror(errno) + ")");
  std::string bytes;
  char chunk[1 << 16];
  size_t n = 0;
  while ((n = std::fread(chunk, 1, sizeof chunk, file.get())) > 0) {
    if (static_cast<int64_t>(bytes.size() + n) > kMaxFileBytes)
      throw Error(path + ": file is larger than the limit of 1 GiB for an image");
    bytes.append(chunk, n);
  }
  if (std::ferror(file.get())) throw Error(path + ": cannot read (" + std::strerror(errno) + ")");
  if (bytes.empty()) throw Error(path + ": empty file, not an image");
  return bytes;
}

// BMP, GIF, TGA, PSD, PNM and whatever else stb_image recognizes.
Image decode_stb(const std::string& path, std::string_view bytes) {
  const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int size = static_cast<int>(bytes.size());
  int w = 0, h = 0, channels = 0;
  // Read the size first: refuse huge images before stb allocates for them.
  if (!stbi_info_from_memory(data, size, &w, &h, &channels))
    throw Error(path + ": not a readable image (" + stbi_failure_reason() + ")");
  if (w <= 0 || h <= 0) throw Error(path + ": image has zero size");
  check_pixel_limit(path, w, h);
  // stb's formats pack at most a few thousand pixels into a byte (GIF's LZW, at its longest
  // codes, about 2,700; BMP, TGA and PSD run lengths far fewer), and stb fills what a short file
  // lacks: a 21-byte GIF naming a 2049x16641 canvas decoded to 34 MP and 600 MB (fuzz/
  // image_fuzz.cpp). Past the first megapixel, more than 4,096 pixels per byte is a bomb.
  constexpr int64_t kFreePixels = int64_t{1} << 20, kPixelsPerByte = 4096;
  if (static_cast<int64_t>(w) * h > kFreePixels + kPixelsPerByte * static_cast<int64_t>(size)) {
    throw Error(path + ": image is " + std::to_string(w) + "x" + std::to_string(h) + " in " +
                std::to_string(size) +
                " bytes, more pixels than its format packs into them (a decompression bomb)");
  }
  std::unique_ptr<unsigned char, StbFree> pixels(
      stbi_load_from_memory(data, size, &w, &h, &channels, 0));
  if (!pixels) throw Error(path + ": cannot decode image (" + stbi_failure_reason() + ")");
  return to_rgb(pixels.get(), w, h, channels);
}

bool starts_with(std::string_view bytes, std::string_view magic, size_t at = 0) {
  return bytes.size() >= at + magic.size() && bytes.compare(at, magic.size(), magic) == 0;
}

}  // namespace

void check_pixel_limit(const std::string& path, int64_t w, int64_t h) {
  // Divided, not multiplied: a PNG header declares up to 2^32 - 1 by 2^32 - 1, whose product
  // overflows int64 (found by fuzz/image_fuzz.cpp).
  if (w < 0 || h < 0 || (w > 0 && h > kMaxImagePixels / w)) {
    throw Error(path + ": image is " + std::to_string(w) + "x" + std::to_string(h) +
                ", more than the limit of " + std::to_string(kMaxImagePixels) + " pixels");
  }
}

Image to_rgb(const uint8_t* src, int width, int height, int channels) {
  Image img{width, height,
            std::vector<uint8_t>(static_cast<size_t>(width) * static_cast<size_t>(height) * 3)};
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

Image load_image(const std::string& path) {
  const std::string bytes = read_file(path);
  if (starts_with(bytes, "\xff\xd8\xff")) return decode_jpeg(path, bytes);
  if (starts_with(bytes, "\x89PNG\r\n\x1a\n")) return decode_png(path, bytes);
  if (starts_with(bytes, "RIFF") && starts_with(bytes, "WEBP", 8)) return decode_webp(path, bytes);
  return decode_stb(path, bytes);
}

Image apply_orientation(const Image& image, int orientation) {
  if (orientation < 2 || orientation > 8) return Image{image.width, image.height, image.rgb};
  const bool swap = orientation >= 5;  // 5-8 exchange width and height
  const int w = image.width, h = image.height;
  Image out{swap ? h : w, swap ? w : h, std::vector<uint8_t>(image.rgb.size())};
  for (int y = 0; y < out.height; ++y) {
    for (int x = 0; x < out.width; ++x) {
      // The source pixel that lands at (x, y) of the upright picture.
      int sx = x, sy = y;
      switch (orientation) {
        case 2:
          sx = w - 1 - x;
          break;
        case 3:
          sx = w - 1 - x;
          sy = h - 1 - y;
          break;
        case 4:
          sy = h - 1 - y;
          break;
        case 5:
          sx = y;
          sy = x;
          break;
        case 6:
          sx = y;
          sy = h - 1 - x;
          break;
        case 7:
          sx = w - 1 - y;
          sy = h - 1 - x;
          break;
        case 8:
          sx = w - 1 - y;
          sy = x;
          break;
      }
      const size_t from =
          (static_cast<size_t>(sy) * static_cast<size_t>(w) + static_cast<size_t>(sx)) * 3;
      const size_t to =
          (static_cast<size_t>(y) * static_cast<size_t>(out.width) + static_cast<size_t>(x)) * 3;
      std::memcpy(&out.rgb[to], &image.rgb[from], 3);
    }
  }
  return out;
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
    CheckedFile file(temporary, path);
    if (png) {
      write_png(file, path, image);
      file.close();
      return;
    }
    // stb's own file writers ignore fwrite's and fclose's results, so a full disk would go
    // unnoticed: stb encodes into this callback instead, which writes through the CheckedFile.
    // The callback runs inside stb's C code, so the first error is kept and rethrown after.
    struct Sink {
      CheckedFile* file;
      std::exception_ptr error;
    } sink{&file, nullptr};
    stbi_write_func* write = [](void* context, void* data, int size) {
      Sink& s = *static_cast<Sink*>(context);
      if (s.error || size <= 0) return;
      try {
        s.file->write(data, static_cast<size_t>(size));
      } catch (...) {
        s.error = std::current_exception();
      }
    };
    const int ok = stbi_write_jpg_to_func(write, &sink, image.width, image.height, 3,
                                          image.rgb.data(), jpeg_quality);
    if (sink.error) std::rethrow_exception(sink.error);
    if (!ok) throw Error(path + ": cannot encode the image");
    file.close();
  });
}

}  // namespace gaze
