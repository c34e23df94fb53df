// HDF5 model loading (weights/model_io.h): the input's first part is written to a .h5 file and
// loaded by load_model; a second part (after fuzz_support.h's separator line), when there is
// one, is the model config that weights-only files (Keras 2 save_weights, Keras 3 .weights.h5)
// need.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_support.h"
#include "tensor/error.h"
#include "weights/model_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const gaze::fuzz::ScratchDir& dir = gaze::fuzz::scratch();
  const std::vector<std::string_view> parts =
      gaze::fuzz::split_files(gaze::fuzz::as_text(data, size));
  const std::string path = dir.write("model.h5", parts[0]);
  const std::string config = parts.size() > 1 ? dir.write("config.json", parts[1]) : "";
  try {
    (void)gaze::load_model(path, config);
  } catch (const gaze::Error& e) {
    gaze::fuzz::expected(e);
  }
  return 0;
}
