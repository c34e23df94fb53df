// Images in and out. Decoding: JPEG with libjpeg-turbo (the settings of PIL's and Keras's
// loaders), PNG with libspng, WebP with libwebp, the rarer formats with stb_image. Writing: PNG
// with libspng at a fast compression level, JPEG with stb_image_write.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gaze {

// 8-bit RGB, row-major, 3 bytes a pixel, as stored in the file (never rotated).
struct Image {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;
  // The EXIF orientation tag of a JPEG (1..8; 1 = the stored pixels are upright). It is
  // recorded, not applied: see load_image.
  int orientation = 1;
};

// Images larger than this many pixels are refused before any pixel memory is allocated.
constexpr int64_t kMaxImagePixels = 100'000'000;

// Decodes JPEG, PNG, WebP (first frame), BMP, GIF (first frame), TGA, PSD, PNM, told apart by
// their first bytes. Grey becomes RGB by replication; an alpha channel is composited over
// white: c' = (c * a + 255 * (255 - a) + 127) / 255 in integers.
//
// JPEG is decoded as PIL's Image.open (and so Keras's load_img) decodes it: libjpeg-turbo with
// its default settings (ISLOW DCT, fancy upsampling), so the pixels equal PIL's bit for bit.
//
// EXIF orientation is NOT applied to the pixels, because Keras's loaders (PIL's Image.open,
// tf.io.decode_jpeg) ignore it: the network then sees what it saw in training. The tag is kept
// in Image::orientation; `gaze cam` turns the finished panel tiles upright with
// apply_orientation, the photo and its overlays alike, so the maps stay aligned.
//
// Throws Error naming the file on a missing, unreadable, corrupt, truncated, empty or
// oversized image (the size is checked before the pixels are allocated).
Image load_image(const std::string& path);

// The image turned as EXIF orientation `orientation` says, so that it shows upright (PIL's
// ImageOps.exif_transpose): 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90 clockwise,
// 7 transverse, 8 rotate 90 counter-clockwise; 1 or anything else leaves it as it is. The result
// has orientation 1.
Image apply_orientation(const Image& image, int orientation);

// Writes PNG or JPEG (by the extension: .png, .jpg/.jpeg) through a temporary file renamed into
// place, so a failure never leaves a half-written image. Throws Error naming the file.
void save_image(const std::string& path, const Image& image, int jpeg_quality = 92);

}  // namespace gaze
