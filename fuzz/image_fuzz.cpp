// Image decoding and preprocessing through gaze's own loader (cam/image.h): the bytes are written
// to a file and read by load_image, which tells JPEG (libjpeg-turbo), PNG (libspng), WebP
// (libwebp) and the rest (stb_image) apart by their first bytes. A decoded image is then turned
// upright by its EXIF orientation and preprocessed into a small model input by each method.
#include <cstddef>
#include <cstdint>

#include "cam/image.h"
#include "cam/preprocess.h"
#include "fuzz/fuzz_support.h"
#include "tensor/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path =
      gaze::fuzz::scratch().write("input.img", gaze::fuzz::as_text(data, size));
  try {
    const gaze::Image image = gaze::load_image(path);
    const gaze::Image upright = gaze::apply_orientation(image, image.orientation);
    // A size that is the image's own one time in two (no resize), another otherwise.
    const bool same = size % 2 == 0 && upright.width <= 64 && upright.height <= 64;
    const int64_t h = same ? upright.height : 13;
    const int64_t w = same ? upright.width : 17;
    for (gaze::Preprocessing method :
         {gaze::Preprocessing::kNsfwjs, gaze::Preprocessing::kKerasInception,
          gaze::Preprocessing::kCaffe, gaze::Preprocessing::kTorch, gaze::Preprocessing::kNone}) {
      (void)gaze::preprocess(upright, method, h, w);
    }
  } catch (const gaze::Error& e) {
    gaze::fuzz::expected(e);
  }
  return 0;
}
