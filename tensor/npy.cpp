#include "tensor/npy.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>

#include "tensor/atomic_write.h"

namespace gaze {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr int64_t kMaxElements = kMaxNpyElements;

// The text after `'key':` in the header dict, with leading spaces removed.
std::string value_after(const std::string& header, const std::string& key,
                        const std::string& path) {
  const size_t at = header.find("'" + key + "'");
  const size_t colon = at == std::string::npos ? at : header.find(':', at);
  if (colon == std::string::npos) throw Error(path + ": .npy header has no '" + key + "'");
  const size_t value = header.find_first_not_of(' ', colon + 1);
  if (value == std::string::npos)
    throw Error(path + ": .npy header has no value for '" + key + "'");
  return header.substr(value);
}

// numpy writes the header as a Python dict literal, padded with spaces and ended by a newline
// (numpy/lib/format.py, _write_array_header). Anything else is a damaged file, not a guess.
void check_dict_literal(const std::string& header, const std::string& path) {
  const size_t last = header.find_last_not_of(" \n");
  if (header.empty() || header[0] != '{' || last == std::string::npos || header[last] != '}')
    throw Error(path + ": bad .npy header: not a {...} dictionary");
}

// The dtype string of `'descr': '<f4'`.
std::string parse_descr(const std::string& header, const std::string& path) {
  const std::string quoted = value_after(header, "descr", path);
  const size_t close = quoted.find('\'', 1);
  if (quoted[0] != '\'' || close == std::string::npos)
    throw Error(path + ": bad .npy header: 'descr' is not a quoted string");
  return quoted.substr(1, close - 1);
}

Shape parse_shape(const std::string& header, const std::string& path) {
  const std::string v = value_after(header, "shape", path);
  const size_t close = v.find(')');
  if (v.empty() || v[0] != '(' || close == std::string::npos)
    throw Error(path + ": bad .npy shape");
  // A Python tuple: "()", "(3,)", "(2, 3)". Each comma-separated item is digits (Python 2's
  // long suffix L allowed) between spaces; only the last item may be empty (a trailing comma),
  // and only after another. Spaces inside a number or stray commas are errors, not guesses
  // (fuzz/npy_fuzz found "(,,21212  212  12, 1)" read as 2121221212 x 12 x 1).
  const std::string inner = v.substr(1, close - 1);
  if (inner.find_first_not_of(' ') == std::string::npos) return {};
  Shape shape;
  size_t begin = 0;
  for (;;) {
    const size_t comma = inner.find(',', begin);
    std::string item =
        inner.substr(begin, comma == std::string::npos ? std::string::npos : comma - begin);
    const size_t first = item.find_first_not_of(' ');
    const bool last = comma == std::string::npos;
    if (first == std::string::npos) {
      if (!last || shape.empty()) throw Error(path + ": bad .npy shape");
      break;
    }
    item = item.substr(first, item.find_last_not_of(' ') - first + 1);
    if (item.back() == 'L') item.pop_back();
    if (item.empty() || item.find_first_not_of("0123456789") != std::string::npos)
      throw Error(path + ": bad .npy shape");
    int64_t dim = 0;
    for (char ch : item) {
      dim = dim * 10 + (ch - '0');
      if (dim > (int64_t{1} << 40)) throw Error(path + ": bad .npy shape");
    }
    shape.push_back(dim);
    if (last) break;
    begin = comma + 1;
  }
  return shape;
}

}  // namespace

Tensor read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open (" + std::strerror(errno) + ")");
  char magic[8] = {};
  in.read(magic, 8);
  if (!in || std::memcmp(magic, kMagic, 6) != 0) throw Error(path + ": not a .npy file");
  const int major = static_cast<unsigned char>(magic[6]);
  if (major < 1 || major > 3) {  // numpy's formats 1.0, 2.0 (4-byte header length), 3.0 (UTF-8)
    throw Error(path + ": .npy format version " + std::to_string(major) + " (known: 1, 2, 3)");
  }
  uint32_t header_len = 0;
  unsigned char len_bytes[4] = {};
  in.read(reinterpret_cast<char*>(len_bytes), major == 1 ? 2 : 4);
  for (int i = (major == 1 ? 1 : 3); i >= 0; --i) header_len = header_len * 256 + len_bytes[i];
  if (!in) throw Error(path + ": truncated .npy header");
  if (header_len > kMaxNpyHeader) {
    throw Error(path + ": bad .npy header: " + std::to_string(header_len) +
                " bytes long, over the limit of " + std::to_string(kMaxNpyHeader));
  }
  std::string header(header_len, '\0');
  in.read(header.data(), header_len);
  if (!in) throw Error(path + ": truncated .npy header");

  check_dict_literal(header, path);
  const std::string descr = parse_descr(header, path);
  if (descr != "<f4" && descr != "|f4") {
    throw Error(path + ": .npy dtype is '" + descr + "', expected float32 ('<f4')");
  }
  if (value_after(header, "fortran_order", path).rfind("True", 0) == 0) {
    throw Error(path + ": .npy array is in Fortran order, expected C order");
  }
  const Shape shape = parse_shape(header, path);
  int64_t count = 1;
  for (int64_t d : shape) {
    // Checked before multiplying: dimensions up to 2^40 would overflow int64.
    if (d != 0 && count > kMaxElements / d)
      throw Error(path + ": .npy shape " + to_string(shape) + " is implausibly large");
    count *= d;
  }
  const int64_t bytes = count * 4;
  auto truncated = [&](int64_t available) {
    return Error(path + ": .npy data truncated: the header's shape " + to_string(shape) +
                 " needs " + std::to_string(bytes) + " bytes, the file holds " +
                 std::to_string(available));
  };
  // The data must be in the file: a header that claims more is refused before the allocation
  // (a lying header must not cost gigabytes: found by fuzz/npy_fuzz).
  const std::streamoff data_start = in.tellg();
  in.seekg(0, std::ios::end);
  const std::streamoff file_end = in.tellg();
  if (data_start >= 0 && file_end >= data_start) {
    in.seekg(data_start);
    if (bytes > static_cast<int64_t>(file_end - data_start)) throw truncated(file_end - data_start);
    Tensor t(shape);
    in.read(reinterpret_cast<char*>(t.data()), static_cast<std::streamsize>(bytes));
    if (in.gcount() != bytes) throw truncated(in.gcount());
    return t;
  }
  // A pipe has no size to check: its bytes are read first, as many as arrive, and only then
  // copied into a tensor.
  in.clear();
  std::vector<char> data;
  std::vector<char> chunk(size_t{1} << 16);
  while (static_cast<int64_t>(data.size()) < bytes) {
    const int64_t wanted = std::min<int64_t>(static_cast<int64_t>(chunk.size()),
                                             bytes - static_cast<int64_t>(data.size()));
    in.read(chunk.data(), static_cast<std::streamsize>(wanted));
    if (in.gcount() <= 0) break;
    data.insert(data.end(), chunk.begin(), chunk.begin() + in.gcount());
  }
  if (static_cast<int64_t>(data.size()) != bytes)
    throw truncated(static_cast<int64_t>(data.size()));
  Tensor t(shape);
  std::copy(data.begin(), data.end(), reinterpret_cast<char*>(t.data()));
  return t;
}

void write_npy(const std::string& path, const Tensor& t) {
  std::string shape = "(";
  for (int64_t d : t.shape()) shape += std::to_string(d) + ",";
  if (t.rank() > 1) shape.pop_back();
  shape += ")";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  // Pad so that the data starts at a multiple of 64 bytes, ending the header with a newline.
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  write_atomically(path, [&](const std::string& temporary) {
    CheckedFile out(temporary, path);
    const uint16_t len = static_cast<uint16_t>(header.size());
    const char version_and_length[4] = {1, 0, static_cast<char>(len & 0xff),
                                        static_cast<char>(len >> 8)};
    out.write(kMagic, 6);
    out.write(version_and_length, sizeof version_and_length);
    out.write(header.data(), header.size());
    out.write(t.data(), static_cast<size_t>(t.size()) * sizeof(float));
    out.close();
  });
}

}  // namespace gaze
