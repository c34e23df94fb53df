// NumPy .npy reading (tensor/npy.h): the bytes are written to a file and read by read_npy.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_support.h"
#include "tensor/error.h"
#include "tensor/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path =
      gaze::fuzz::scratch().write("input.npy", gaze::fuzz::as_text(data, size));
  try {
    const gaze::Tensor t = gaze::read_npy(path);
    // Touch every element: the data must be as large as the header says.
    float sum = 0.0f;
    for (float v : t.values()) sum += v;
    (void)sum;
  } catch (const gaze::Error& e) {
    gaze::fuzz::expected(e);
  }
  return 0;
}
