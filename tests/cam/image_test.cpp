// Decoding against PIL: gaze's pixels for every JPEG and WebP fixture, and the model input that
// follows from them, equal what PIL (python3-pil 9.4.0 on libjpeg-turbo 2.1.5 and libwebp 1.2.4)
// gives, bit for bit (tests/fixtures/images/pil/, made by tools/reference/pil_fixtures.py). Also
// EXIF orientation, and the decoders' refusals of corrupt, truncated and oversized files.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cam/image.h"
#include "cam/preprocess.h"
#include "tensor/error.h"
#include "tensor/npy.h"
#include "tests/support/fixtures.h"
#include "tests/support/test_util.h"

namespace gaze {
namespace {

using testing::error_of;
using testing::fixture_path;

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string write_temp(const std::string& name, const std::string& bytes) {
  const std::string path = testing::test_temp_path(name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

uint32_t crc_of(const Image& image) {
  return static_cast<uint32_t>(crc32(0, image.rgb.data(), static_cast<uInt>(image.rgb.size())));
}

nlohmann::json pil_decoded() {
  return nlohmann::json::parse(read_bytes(fixture_path("images/pil/decoded.json")));
}

TEST(PilDecode, EveryJpegAndWebpFixtureEqualsPilBitForBit) {
  const nlohmann::json reference = pil_decoded();
  ASSERT_GE(reference.size(), 15u);
  for (const auto& [name, want] : reference.items()) {
    const Image image = load_image(fixture_path("images/" + name));
    EXPECT_EQ(image.width, want["width"].get<int>()) << name;
    EXPECT_EQ(image.height, want["height"].get<int>()) << name;
    EXPECT_EQ(crc_of(image), want["crc32"].get<uint32_t>()) << name << ": pixels differ from PIL's";
    EXPECT_EQ(image.orientation, want["orientation"].get<int>()) << name;
  }
}

// The 8 orientation fixtures hold the same pixels and differ only in their EXIF tag: the network
// sees those pixels as they are (as Keras does), and apply_orientation gives PIL's
// ImageOps.exif_transpose.
TEST(PilDecode, OrientationIsRecordedNotAppliedAndTurnsAsExifTranspose) {
  const nlohmann::json reference = pil_decoded();
  const Image first = load_image(fixture_path("images/pil/orient_1.jpg"));
  for (int k = 1; k <= 8; ++k) {
    const std::string name = "pil/orient_" + std::to_string(k) + ".jpg";
    const Image stored = load_image(fixture_path("images/" + name));
    EXPECT_EQ(stored.orientation, k) << name;
    EXPECT_EQ(stored.rgb, first.rgb) << name << ": the stored pixels were turned";
    const Image upright = apply_orientation(stored, stored.orientation);
    const nlohmann::json& want = reference[name];
    EXPECT_EQ(upright.width, want["upright_width"].get<int>()) << name;
    EXPECT_EQ(upright.height, want["upright_height"].get<int>()) << name;
    EXPECT_EQ(crc_of(upright), want["upright_crc32"].get<uint32_t>()) << name;
    EXPECT_EQ(upright.orientation, 1);
  }
}

// A 3x2 picture whose pixels are numbered, turned by hand.
TEST(ApplyOrientation, MatchesHandTurnedPixels) {
  // Stored:  0 1 2
  //          3 4 5
  Image image{3, 2, {}};
  for (uint8_t v = 0; v < 6; ++v) image.rgb.insert(image.rgb.end(), {v, v, v});
  auto reds = [](const Image& im) {
    std::vector<int> out;
    for (size_t i = 0; i < im.rgb.size(); i += 3) out.push_back(im.rgb[i]);
    return out;
  };
  const std::vector<std::vector<int>> want = {
      {},
      {0, 1, 2, 3, 4, 5},  // 1: as stored
      {2, 1, 0, 5, 4, 3},  // 2: mirrored left-right
      {5, 4, 3, 2, 1, 0},  // 3: rotated 180
      {3, 4, 5, 0, 1, 2},  // 4: mirrored top-bottom
      {0, 3, 1, 4, 2, 5},  // 5: transposed (2 wide, 3 tall)
      {3, 0, 4, 1, 5, 2},  // 6: rotated 90 clockwise
      {5, 2, 4, 1, 3, 0},  // 7: transversed
      {2, 5, 1, 4, 0, 3},  // 8: rotated 90 counter-clockwise
  };
  for (int k = 1; k <= 8; ++k) {
    const Image turned = apply_orientation(image, k);
    EXPECT_EQ(reds(turned), want[static_cast<size_t>(k)]) << "orientation " << k;
    EXPECT_EQ(turned.width, k >= 5 ? 2 : 3) << "orientation " << k;
  }
}

// The model input for a JPEG is what PIL's pixels give under the model's preprocessing: nsfwjs's,
// computed by the reference script in numpy (224x224, so the photo is resized).
TEST(PilModelInput, JpegTensorEqualsPilPixelsPreprocessed) {
  const Tensor want = read_npy(fixture_path("images/pil/chelsea_nsfwjs_224.npy"));
  const Tensor got =
      preprocess(load_image(fixture_path("images/chelsea.jpg")), Preprocessing::kNsfwjs, 224, 224);
  ASSERT_EQ(to_string(got.shape()), to_string(want.shape()));
  int64_t differing = 0;
  for (int64_t i = 0; i < got.size(); ++i) differing += got.data()[i] != want.data()[i];
  EXPECT_EQ(differing, 0) << "of " << got.size() << " values; max |diff| "
                          << testing::max_abs_diff(got, want);
}

// ---- refusals: one Error naming the file, never a crash ----

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}
std::string le(uint32_t v, int bytes) {
  std::string s;
  for (int i = 0; i < bytes; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
  return s;
}

void expect_refused(const std::string& path, const std::string& also = "") {
  const std::string message = error_of([&] { load_image(path); });
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find(also), std::string::npos) << message;
}

TEST(DecodeErrors, TruncatedAndCorruptFilesOfEveryDecoder) {
  for (const char* name : {"pil/coffee.webp", "pil/horse_rgba.webp", "chelsea.jpg", "coffee.jpg",
                           "astronaut_299.png", "horse_rgba.png"}) {
    const std::string bytes = read_bytes(fixture_path(std::string("images/") + name));
    for (double fraction : {0.1, 0.5, 0.9}) {
      const std::string cut = bytes.substr(0, static_cast<size_t>(bytes.size() * fraction));
      expect_refused(write_temp(
          "cut_" + std::to_string(fraction) + "_" + std::filesystem::path(name).filename().string(),
          cut));
    }
    // Garbage after the first 32 bytes: the header parses, the data does not.
    std::string corrupt = bytes;
    for (size_t i = 32; i < corrupt.size(); ++i) corrupt[i] = static_cast<char>(i * 7919 >> 3);
    expect_refused(
        write_temp("corrupt_" + std::filesystem::path(name).filename().string(), corrupt));
  }
  expect_refused(write_temp("empty.jpg", ""), "empty");
  expect_refused(write_temp("soi_only.jpg", "\xff\xd8\xff"));
}

TEST(DecodeErrors, PngWithABadCrcIsRefused) {
  std::string bytes = read_bytes(fixture_path("images/astronaut_299.png"));
  bytes[29] = static_cast<char>(bytes[29] ^ 1);  // the IHDR's CRC
  expect_refused(write_temp("bad_crc.png", bytes));
}

TEST(DecodeErrors, OversizedJpegAndWebpAreRefusedBeforeDecoding) {
  // chelsea.jpg with its frame header (SOF0) claiming 60000x60000.
  std::string jpeg = read_bytes(fixture_path("images/chelsea.jpg"));
  const size_t sof = jpeg.find("\xff\xc0");
  ASSERT_NE(sof, std::string::npos);
  jpeg.replace(sof + 5, 4, be32(60000u << 16 | 60000u));
  expect_refused(write_temp("huge.jpg", jpeg), "60000x60000");
  // An extended WebP header (VP8X) claiming 16000x16000, the format's largest is 16384.
  const std::string vp8x = le(0, 4) + le(16000 - 1, 3) + le(16000 - 1, 3);
  const std::string webp = "RIFF" + le(4 + 8 + 10, 4) + "WEBP" + "VP8X" + le(10, 4) + vp8x;
  expect_refused(write_temp("huge.webp", webp), "16000x16000");
}

TEST(DecodeErrors, PngHeaderOfTheLargestSizeIsRefusedWithoutOverflow) {
  // IHDR 4294967295 x 4294967295: the pixel count overflows int64 if multiplied (UBSan caught
  // it, fuzz/regressions/image/); the limit must refuse it all the same.
  std::string png = read_bytes(fixture_path("images/horse_rgba.png"));
  png.replace(16, 8, be32(0xffffffffu) + be32(0xffffffffu));
  expect_refused(write_temp("widest.png", png), "4294967295x4294967295");
}

// stb's formats: a 21-byte GIF whose canvas is 2049x16641 (found by fuzz/image_fuzz.cpp: stb
// decoded it to 34 MP of background) is refused by its pixels per byte; a real GIF and BMP of
// the same few bytes per pixel still load.
TEST(DecodeErrors, StbImagesWithFarMorePixelsThanBytesAreRefused) {
  const std::string bomb("GIF89a\x01\x08\x01\x41\x80\x00\x00\xff\xff\xff\x00\x00\x00\x2c\x00", 21);
  expect_refused(write_temp("bomb.gif", bomb), "2049x16641 in 21 bytes");
  // 2x1 GIF: a black and a white pixel (LZW, 2-bit codes: clear, 0, 1, end).
  const std::string gif(
      "GIF89a\x02\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff"
      ",\x00\x00\x00\x00\x02\x00\x01\x00\x00\x02\x02\x44\x0a\x00;",
      35);
  const Image small = load_image(write_temp("two.gif", gif));
  EXPECT_EQ(small.width, 2);
  EXPECT_EQ(small.height, 1);
  EXPECT_EQ(small.rgb, (std::vector<uint8_t>{0, 0, 0, 255, 255, 255}));
  // A 1024x1025 BMP of 24-bit pixels (uncompressed, 3 bytes each) is far inside the bound.
  const int bw = 1024, bh = 1025;
  const uint32_t row = bw * 3, data = row * bh;
  std::string bmp = "BM" + le(54 + data, 4) + le(0, 4) + le(54, 4) + le(40, 4) + le(bw, 4) +
                    le(bh, 4) + le(1, 2) + le(24, 2) + le(0, 4) + le(data, 4) +
                    std::string(16, '\0');  // resolution, palette: unused
  bmp += std::string(data, '\x40');
  const Image big = load_image(write_temp("big.bmp", bmp));
  EXPECT_EQ(big.width, bw);
  EXPECT_EQ(big.height, bh);
  EXPECT_EQ(big.rgb[0], 0x40);
}

TEST(SaveImage, PngRoundTripsExactly) {
  const Image image = load_image(fixture_path("images/chelsea.jpg"));
  const std::string path = testing::test_temp_path("round.png");
  save_image(path, image);
  const Image back = load_image(path);
  EXPECT_EQ(back.width, image.width);
  EXPECT_EQ(back.height, image.height);
  EXPECT_EQ(back.rgb, image.rgb);
}

}  // namespace
}  // namespace gaze
