// The one EXIF field gaze reads: the orientation tag of IFD0, bounds-checked at every step (the
// block comes straight from the file).
#include <cstdint>

#include "cam/image_codecs.h"

namespace gaze {

int exif_orientation(std::string_view tiff) {
  const auto* b = reinterpret_cast<const unsigned char*>(tiff.data());
  const size_t n = tiff.size();
  if (n < 8) return 1;
  const bool little = b[0] == 'I' && b[1] == 'I';
  if (!little && !(b[0] == 'M' && b[1] == 'M')) return 1;
  auto u16 = [&](size_t i) -> uint32_t {
    return little ? b[i] | b[i + 1] << 8 : b[i] << 8 | b[i + 1];
  };
  auto u32 = [&](size_t i) -> uint32_t {
    return little ? u16(i) | u16(i + 2) << 16 : u16(i) << 16 | u16(i + 2);
  };
  if (u16(2) != 42) return 1;
  const size_t ifd = u32(4);
  if (ifd > n - 2) return 1;
  const size_t entries = u16(ifd);
  for (size_t k = 0; k < entries; ++k) {
    const size_t e = ifd + 2 + 12 * k;
    if (e > n - 12) return 1;
    // Tag 0x0112, type SHORT (3), count 1: the value sits in the entry's first two value bytes.
    if (u16(e) == 0x0112 && u16(e + 2) == 3 && u32(e + 4) == 1) {
      const int value = static_cast<int>(u16(e + 8));
      return value >= 1 && value <= 8 ? value : 1;
    }
  }
  return 1;
}

}  // namespace gaze
