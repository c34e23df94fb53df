// A small RAII layer over the HDF5 C API: just what Keras files need (groups, string attributes,
// numeric datasets).
//
// Every handle is closed by its owner's destructor. HDF5's automatic printing of error stacks is
// switched off for the duration of each call made here, and every failure becomes a gaze::Error
// whose message starts with the file's name, e.g.
//   "models/x.h5: dataset 'model_weights/dense_1/dense_1/kernel:0' has type int32, expected
//   float32".
// This header does not include <hdf5.h>, so code using it needs no HDF5 include path.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace gaze::hdf5 {

struct GlobalHeaps;   // weights/hdf5_global_heap.h
class ReaderProcess;  // weights/hdf5_reader.h

// An HDF5 identifier (hid_t, a 64-bit integer since HDF5 1.10; checked in hdf5_file.cpp).
using Id = int64_t;

// Owns one HDF5 identifier and closes it with the function that matches its kind.
class Handle {
 public:
  Handle() = default;
  explicit Handle(Id id) : id_(id) {}
  Handle(Handle&& other) noexcept : id_(other.release()) {}
  Handle& operator=(Handle&& other) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }

  Id get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  Id release();
  // Closes the identifier now (errors are ignored: there is nothing a caller could do).
  void reset();

 private:
  Id id_ = -1;
};

// How string attributes are stored. h5py writes Python `str` as variable-length UTF-8 and numpy
// byte arrays (what Keras uses for `layer_names`) as fixed-length, NUL-padded strings.
enum class StringStorage { kFixedLength, kVariableLength };

// The element type a dataset is stored with. Values are converted from float32 by HDF5.
enum class StoredType { kFloat16, kFloat32, kFloat64, kInt32 };

// A group in an open file (the root group included). Names passed to its methods are relative
// paths: "conv2d_1/kernel:0" is the object `kernel:0` in the subgroup `conv2d_1`.
class Group {
 public:
  // `file_label` names the file in error messages; `path` is the group's path in the file
  // ("" for the root group). `heaps` are the file's global heap collections, against which
  // variable-length strings are checked before they are read; null for a file gaze creates.
  // A group of a file opened for reading has no handle but the `reader` process that opened the
  // file (weights/hdf5_reader.h), which its reading methods ask.
  Group(Handle handle, std::string file_label, std::string path,
        std::shared_ptr<const GlobalHeaps> heaps = nullptr,
        std::shared_ptr<ReaderProcess> reader = nullptr);

  const std::string& path() const { return path_; }

  // Names of the group's direct children (groups and datasets), in name order.
  std::vector<std::string> child_names() const;
  // True if every component of `relative_path` exists (a missing intermediate group is not an
  // error, unlike in HDF5).
  bool has_child(const std::string& relative_path) const;
  Group open_group(const std::string& relative_path) const;
  // Creates the group and any missing intermediate groups.
  Group create_group(const std::string& relative_path);

  // Names of the group's attributes, in name order.
  std::vector<std::string> attribute_names() const;
  bool has_attribute(const std::string& name) const;
  // True if the attribute exists and holds exactly one string (fixed or variable length).
  bool has_string_attribute(const std::string& name) const;
  // One string, stored as a scalar or a one-element array, fixed or variable length.
  std::string read_string_attribute(const std::string& name) const;
  // All strings of a string attribute, fixed or variable length. An attribute without elements
  // reads as an empty list whatever its type: Keras writes an empty list as an empty float64
  // array.
  std::vector<std::string> read_string_array_attribute(const std::string& name) const;
  // Writing replaces an attribute of the same name.
  void write_string_attribute(const std::string& name, const std::string& value,
                              StringStorage storage = StringStorage::kVariableLength);
  // A one-dimensional array; fixed-length strings are as wide as the longest value (numpy's |S<n>).
  void write_string_array_attribute(const std::string& name, const std::vector<std::string>& values,
                                    StringStorage storage = StringStorage::kFixedLength);

  // A float dataset of any rank (a scalar dataset reads as a rank-0 tensor). float16 and float64
  // are converted to float32; any other type is an error naming it.
  Tensor read_float_dataset(const std::string& relative_path) const;
  // Creates the dataset (and any missing intermediate groups), stored as `type`.
  void write_dataset(const std::string& relative_path, const Tensor& values,
                     StoredType type = StoredType::kFloat32);

 private:
  // "model_weights/conv2d_1" + "kernel:0" -> "model_weights/conv2d_1/kernel:0".
  std::string full_path(const std::string& relative_path) const;
  // "group 'model_weights'" or "the root group", for messages about attributes.
  std::string describe() const;
  // Throws Error("<file>: <what> (<HDF5's innermost message>)").
  [[noreturn]] void fail(const std::string& what) const;
  Handle open_attribute(const std::string& name) const;
  void create_attribute(const std::string& name, Id type, Id space, const void* data);

  Handle handle_;
  std::string file_label_;
  std::string path_;
  std::shared_ptr<const GlobalHeaps> heaps_;
  std::shared_ptr<ReaderProcess> reader_;
};

// A dataset's elements must fit in the file that holds them, checked before anything is
// allocated: stored as they are (h5py's contiguous layout), within the file's size; compressed
// (chunked) or never written, within kMaxHdf5Expansion times the file's size: deflate's best
// ratio is 1032 to 1 (zlib's technical details, "Maximum compression factor"). Virtual datasets
// and external storage, whose data lives in other files, are refused.
inline constexpr uint64_t kMaxHdf5Expansion = 1032;

// An open HDF5 file. Closing happens in the destructor; call close() to learn whether the data
// reached the disk.
class File {
 public:
  // Checks that the file exists and is an HDF5 file first, for clear messages. The file is read
  // by a child process (weights/hdf5_reader.h): a crash of libhdf5 on a corrupt file is one
  // Error, "<path>: the HDF5 library crashed reading the file (...)".
  static File open_read_only(const std::string& path);
  // A file image in memory, e.g. an HDF5 file read from a zip archive, opened read-only. The
  // bytes are not copied: `image` must outlive the File, unchanged. `label` names it in messages.
  // Read by a child process too.
  static File open_image(const std::vector<unsigned char>& image, const std::string& label);
  // The same two, read by libhdf5 in this process: what the reader process runs.
  static File open_read_only_here(const std::string& path);
  static File open_image_here(const std::vector<unsigned char>& image, const std::string& label);
  // A new file, built in memory and written to `path` (created or truncated) by close(); nothing
  // is written without close(). `label` names the file in error messages (a writer that creates
  // a temporary file gives the final path); it defaults to `path`.
  static File create(const std::string& path, const std::string& label = "");

  Group& root() { return root_; }
  const Group& root() const { return root_; }
  const std::string& label() const { return label_; }
  // Closes the file, writing a created one to its path, every write checked; throws Error naming
  // the label if that fails. The File is unusable afterwards.
  void close();

 private:
  File(Handle file, std::string label, std::string path,
       std::shared_ptr<const GlobalHeaps> heaps = nullptr);
  // A file read by the reader process.
  File(std::string label, std::shared_ptr<ReaderProcess> reader);

  Handle file_;
  std::string label_;
  std::string path_;  // where close() writes a created file; empty for a file opened to read
  Group root_;
};

}  // namespace gaze::hdf5
