// WebP decoding with libwebp (the first frame of an animation), with the library's defaults, as
// PIL decodes it.
#include <webp/decode.h>

#include <vector>

#include "cam/image_codecs.h"
#include "tensor/error.h"

namespace gaze {

Image decode_webp(const std::string& path, std::string_view bytes) {
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  WebPBitstreamFeatures features{};
  if (WebPGetFeatures(data, bytes.size(), &features) != VP8_STATUS_OK)
    throw Error(path + ": not a readable WebP image");
  if (features.width <= 0 || features.height <= 0) throw Error(path + ": image has zero size");
  check_pixel_limit(path, features.width, features.height);
  const int channels = features.has_alpha ? 4 : 3;
  const size_t stride = static_cast<size_t>(features.width) * static_cast<size_t>(channels);
  std::vector<uint8_t> pixels(stride * static_cast<size_t>(features.height));
  const uint8_t* ok = channels == 4 ? WebPDecodeRGBAInto(data, bytes.size(), pixels.data(),
                                                         pixels.size(), static_cast<int>(stride))
                                    : WebPDecodeRGBInto(data, bytes.size(), pixels.data(),
                                                        pixels.size(), static_cast<int>(stride));
  if (!ok) throw Error(path + ": cannot decode the WebP image (corrupt or truncated)");
  if (channels == 3) return Image{features.width, features.height, std::move(pixels)};
  return to_rgb(pixels.data(), features.width, features.height, 4);
}

}  // namespace gaze
