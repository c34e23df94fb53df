// JPEG decoding with libjpeg-turbo's libjpeg API, with the library's defaults: ISLOW DCT and
// fancy upsampling, which is how PIL (and so Keras's load_img) decodes, so the pixels equal
// PIL's bit for bit.
//
// libjpeg reports a fatal error by calling error_exit, which must not return: it longjmps back
// to the guarded call below. The guarded functions hold only plain C data, so the jump skips no
// C++ destructor; every C++ object lives in decode_jpeg, which the jump never leaves.
#include <csetjmp>
#include <cstdio>  // jpeglib.h needs FILE and size_t first
#include <cstring>
#include <vector>

#include <jerror.h>
#include <jpeglib.h>

#include "cam/image_codecs.h"
#include "tensor/error.h"

namespace gaze {
namespace {

struct ErrorManager {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void error_exit(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

// Warnings are ignored, as PIL ignores them (stray bytes before a marker, say), except the end
// of the data in the middle of the image: libjpeg would pad it with grey, PIL refuses the file
// as truncated, and so does gaze.
void emit_message(j_common_ptr cinfo, int level) {
  if (level == -1 && cinfo->err->msg_code == JWRN_JPEG_EOF) error_exit(cinfo);
}

bool read_header(jpeg_decompress_struct* cinfo, ErrorManager* err) {
  if (setjmp(err->jump)) return false;
  jpeg_save_markers(cinfo, JPEG_APP0 + 1, 0xffff);  // EXIF, for the orientation
  jpeg_read_header(cinfo, TRUE);
  switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE:
      cinfo->out_color_space = JCS_GRAYSCALE;
      break;
    case JCS_CMYK:
    case JCS_YCCK:
      cinfo->out_color_space = JCS_CMYK;
      break;
    default:
      cinfo->out_color_space = JCS_RGB;
  }
  return true;
}

bool read_pixels(jpeg_decompress_struct* cinfo, ErrorManager* err, unsigned char* out,
                 size_t row_bytes) {
  if (setjmp(err->jump)) return false;
  jpeg_start_decompress(cinfo);
  while (cinfo->output_scanline < cinfo->output_height) {
    JSAMPROW row = out + static_cast<size_t>(cinfo->output_scanline) * row_bytes;
    jpeg_read_scanlines(cinfo, &row, 1);
  }
  jpeg_finish_decompress(cinfo);
  return true;
}

struct Decompressor {
  jpeg_decompress_struct cinfo{};
  ErrorManager err{};
  Decompressor() {
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = error_exit;
    err.pub.emit_message = emit_message;
    jpeg_create_decompress(&cinfo);
  }
  ~Decompressor() { jpeg_destroy_decompress(&cinfo); }
  Decompressor(const Decompressor&) = delete;
  Decompressor& operator=(const Decompressor&) = delete;
};

int orientation_of(const jpeg_decompress_struct& cinfo) {
  for (jpeg_saved_marker_ptr m = cinfo.marker_list; m; m = m->next) {
    if (m->marker == JPEG_APP0 + 1 && m->data_length > 6 &&
        std::memcmp(m->data, "Exif\0\0", 6) == 0) {
      return exif_orientation({reinterpret_cast<const char*>(m->data) + 6, m->data_length - 6});
    }
  }
  return 1;
}

// CMYK as PIL converts it: read as Adobe's inverted values (PIL's raw mode "CMYK;I", which it
// assumes for every CMYK JPEG), then PIL's cmyk2rgb, c' = (255 - k) - c * (255 - k) / 255 with
// its rounded division.
void cmyk_to_rgb(const std::vector<uint8_t>& cmyk, Image& image) {
  auto div255 = [](int v) { return ((v + 128) + ((v + 128) >> 8)) >> 8; };
  image.rgb.resize(cmyk.size() / 4 * 3);
  for (size_t p = 0; p < cmyk.size() / 4; ++p) {
    auto at = [&](size_t c) { return 255 - cmyk[p * 4 + c]; };
    const int nk = 255 - at(3);
    for (size_t c = 0; c < 3; ++c)
      image.rgb[p * 3 + c] = static_cast<uint8_t>(nk - div255(at(c) * nk));
  }
}

}  // namespace

Image decode_jpeg(const std::string& path, std::string_view bytes) {
  Decompressor d;
  jpeg_mem_src(&d.cinfo, reinterpret_cast<const unsigned char*>(bytes.data()),
               static_cast<unsigned long>(bytes.size()));
  if (!read_header(&d.cinfo, &d.err))
    throw Error(path + ": not a readable JPEG (" + d.err.message + ")");
  // Read now: the saved markers are freed with the image's memory when decoding finishes.
  const int orientation = orientation_of(d.cinfo);
  const int w = static_cast<int>(d.cinfo.image_width), h = static_cast<int>(d.cinfo.image_height);
  if (w <= 0 || h <= 0) throw Error(path + ": image has zero size");
  check_pixel_limit(path, w, h);
  const int channels = d.cinfo.out_color_space == JCS_RGB ? 3 : d.cinfo.num_components;
  if (channels != 1 && channels != 3 && channels != 4)
    throw Error(path + ": JPEG with " + std::to_string(channels) + " components");
  std::vector<uint8_t> pixels(static_cast<size_t>(w) * static_cast<size_t>(h) *
                              static_cast<size_t>(channels));
  if (!read_pixels(&d.cinfo, &d.err, pixels.data(),
                   static_cast<size_t>(w) * static_cast<size_t>(channels))) {
    throw Error(path + ": cannot decode the JPEG (" + d.err.message + ")");
  }
  Image image;
  if (channels == 3) {
    image = Image{w, h, std::move(pixels)};
  } else if (channels == 1) {
    image = to_rgb(pixels.data(), w, h, 1);
  } else {
    image = Image{w, h, {}};
    cmyk_to_rgb(pixels, image);
  }
  image.orientation = orientation;
  return image;
}

}  // namespace gaze
