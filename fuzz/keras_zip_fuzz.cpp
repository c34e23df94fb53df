// Keras 3 `.keras` files (weights/keras_zip.h, weights/model_io.h): the bytes are written to a
// file; the zip reader lists and reads every entry, then load_model loads the file as gaze does
// (config.json to a model, model.weights.h5 opened in memory, weights filled).
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_support.h"
#include "tensor/error.h"
#include "weights/keras_zip.h"
#include "weights/model_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path =
      gaze::fuzz::scratch().write("model.keras", gaze::fuzz::as_text(data, size));
  try {
    gaze::zip::Archive archive = gaze::zip::Archive::open(path);
    const std::vector<gaze::zip::Entry> entries = archive.entries();
    for (const gaze::zip::Entry& entry : entries) {
      try {
        (void)archive.read(entry.name, uint64_t{1} << 24);
      } catch (const gaze::Error& e) {
        gaze::fuzz::expected(e);
      }
    }
  } catch (const gaze::Error& e) {
    gaze::fuzz::expected(e);
  }
  try {
    (void)gaze::load_model(path);
  } catch (const gaze::Error& e) {
    gaze::fuzz::expected(e);
  }
  return 0;
}
