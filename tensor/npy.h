// NumPy .npy files (format 1.0/2.0): float32 arrays in and out, for numpy interop and exact tests.
#pragma once

#include <string>

#include "tensor/tensor.h"

namespace gaze {

// Reads a little-endian float32 ('<f4'), C-order array of any rank. Throws Error naming the file
// for a missing file, a bad header, another dtype, Fortran order or truncated data.
Tensor read_npy(const std::string& path);
// Writes `t` as '<f4' via a temporary file renamed into place (never a half-written file).
void write_npy(const std::string& path, const Tensor& t);

}  // namespace gaze
