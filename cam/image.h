// Images in and out: decoding with stb_image, writing PNG/JPEG with stb_image_write.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gaze {

// 8-bit RGB, row-major, 3 bytes a pixel.
struct Image {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;
};

// Images larger than this many pixels are refused before any pixel memory is allocated.
constexpr int64_t kMaxImagePixels = 100'000'000;

// Decodes JPEG, PNG, BMP, GIF (first frame), TGA, PSD, PNM. Grey becomes RGB by replication;
// an alpha channel is composited over white: c' = (c * a + 255 * (255 - a) + 127) / 255 in
// integers. Throws Error naming the file on a missing, unreadable, corrupt, empty or oversized
// image.
Image load_image(const std::string& path);

// Writes PNG or JPEG (by the extension: .png, .jpg/.jpeg) through a temporary file renamed into
// place, so a failure never leaves a half-written image. Throws Error naming the file.
void save_image(const std::string& path, const Image& image, int jpeg_quality = 92);

}  // namespace gaze
