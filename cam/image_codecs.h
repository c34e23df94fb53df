// The decoders and the PNG encoder behind cam/image.h, one file per library. Each decoder takes
// the whole file in memory, checks the size against kMaxImagePixels before it allocates the
// pixels, and throws Error naming `path` on any failure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "cam/image.h"
#include "tensor/atomic_write.h"

namespace gaze {

// Throws Error("<path>: image is WxH, more than the limit of ... pixels") when w * h is over it.
void check_pixel_limit(const std::string& path, int64_t w, int64_t h);

// A decoder's output of `channels` (1..4: grey, grey + alpha, RGB, RGBA) as RGB, alpha composited
// over white.
Image to_rgb(const uint8_t* pixels, int width, int height, int channels);

Image decode_jpeg(const std::string& path, std::string_view bytes);  // cam/image_jpeg.cpp
Image decode_png(const std::string& path, std::string_view bytes);   // cam/image_png.cpp
Image decode_webp(const std::string& path, std::string_view bytes);  // cam/image_webp.cpp

// The orientation tag (0x0112) in the TIFF data of an EXIF block (after "Exif\0\0"), or 1 when
// it has none or the block is malformed (cam/exif.cpp).
int exif_orientation(std::string_view tiff);

// Encodes RGB as PNG into `file` (cam/image_png.cpp).
void write_png(CheckedFile& file, const std::string& path, const Image& image);

}  // namespace gaze
