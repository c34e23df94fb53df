// The Keras config builder (layers/keras_config.h): JSON text to a Model, without weights, as
// Keras 2 (inputs of even length) or Keras 3 (odd length) wrote it.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_support.h"
#include "layers/keras_config.h"
#include "tensor/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(gaze::fuzz::as_text(data, size));
  try {
    (void)gaze::model_from_keras_config(text, size % 2 == 0 ? 2 : 3);
  } catch (const gaze::Error& e) {
    gaze::fuzz::expected(e);
  }
  return 0;
}
