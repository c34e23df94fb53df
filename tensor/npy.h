// NumPy .npy files (format 1.0/2.0): float32 arrays in and out, for numpy interop and exact tests.
#pragma once

#include <string>

#include "tensor/tensor.h"

namespace gaze {

// Limits on an untrusted .npy file, checked before anything is allocated for it: the header's
// length (numpy itself writes at most a few hundred bytes; its reader refuses over 10000 unless
// told otherwise), the element count its shape claims (2^31 float32, 8 GiB), and that count
// against the bytes the file really holds after the header.
constexpr uint32_t kMaxNpyHeader = 65536;
constexpr int64_t kMaxNpyElements = int64_t{1} << 31;

// Reads a little-endian float32 ('<f4'), C-order array of any rank. Throws Error naming the file
// for a missing file, a bad header, another dtype, Fortran order or truncated data.
Tensor read_npy(const std::string& path);
// Writes `t` as '<f4' via a temporary file renamed into place (never a half-written file).
void write_npy(const std::string& path, const Tensor& t);

}  // namespace gaze
