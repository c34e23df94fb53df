#include "weights/hdf5_file.h"

#include <hdf5.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <new>
#include <stdexcept>
#include <system_error>
#include <type_traits>
#include <utility>

#include "tensor/atomic_write.h"
#include "weights/hdf5_global_heap.h"
#include "weights/hdf5_reader.h"

// Under LeakSanitizer (the sanitizer test pass, the fuzzers): libhdf5 1.10.8 leaks an object
// header chunk (56 bytes) when H5Fopen reads some corrupt root objects (H5G_mkroot ->
// H5O_protect -> H5FL_blk_malloc, found by fuzz/hdf5_fuzz.cpp). That memory is the library's, not
// gaze's, and bounded per file opened; gaze's own allocations never pass through libhdf5.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GAZE_LEAK_SANITIZER 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define GAZE_LEAK_SANITIZER 1
#endif
#if defined(GAZE_LEAK_SANITIZER)
extern "C" const char* __lsan_default_suppressions() {
  return "leak:libhdf5\n";  // Debian names it libhdf5_serial.so.103
}
// libhdf5 sizes some buffers from the file (H5C_protect's "on disk image buffer", found by
// fuzz/hdf5_fuzz.cpp with a size of 2^51) and reports a failed malloc as an error, which gaze
// turns into one error line. Under AddressSanitizer malloc must fail the same way, not abort.
// gaze's own allocations go through operator new, which still reports a size it cannot serve.
extern "C" const char* __asan_default_options() {
  return "allocator_may_return_null=1";
}
// LeakSanitizer's table of the suppressions used would be extra lines on stderr, where gaze
// promises exactly one error line.
extern "C" const char* __lsan_default_options() {
  return "print_suppressions=0";
}
#endif

namespace gaze::hdf5 {
namespace {

static_assert(std::is_same_v<hid_t, Id>, "hdf5::Id must be HDF5's hid_t");

// Switches off HDF5's automatic error printing for its lifetime and restores the previous
// handler afterwards: failures are reported as gaze::Error, never as a dump on stderr. Guards
// nest, so every entry point simply makes one.
class QuietErrors {
 public:
  QuietErrors() {
    // No library shutdown at exit (only the first call, before HDF5 starts, has an effect): every
    // handle is closed by its owner already, and libhdf5 1.10.8, after some corrupt files, finds
    // a block it leaked still in use and prints "HDF5: infinite loop closing library" with a
    // line of package names to stderr, where gaze promises one error line.
    H5dont_atexit();
    if (H5Eget_auto2(H5E_DEFAULT, &saved_handler_, &saved_data_) < 0) {
      saved_handler_ = nullptr;
      saved_data_ = nullptr;
    }
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~QuietErrors() { H5Eset_auto2(H5E_DEFAULT, saved_handler_, saved_data_); }
  QuietErrors(const QuietErrors&) = delete;
  QuietErrors& operator=(const QuietErrors&) = delete;

 private:
  H5E_auto2_t saved_handler_ = nullptr;
  void* saved_data_ = nullptr;
};

herr_t remember_message(unsigned /*depth*/, const H5E_error2_t* error, void* message) noexcept {
  try {
    if (error->desc != nullptr && error->desc[0] != '\0') {
      *static_cast<std::string*>(message) = error->desc;
    }
    return 0;
  } catch (...) {
    return -1;  // an exception must not cross HDF5's C frames
  }
}

// The innermost message on HDF5's error stack, which says what actually went wrong, e.g.
// "truncated file: eof = 1024, sblock->base_addr = 0, stored_eof = 2048". Must be called right
// after the failing call: the next API call clears the stack.
std::string innermost_hdf5_message() {
  std::string message;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, remember_message, &message);
  return message;
}

// Throws Error("<label>: <what> (<HDF5's reason>)").
[[noreturn]] void fail_hdf5(const std::string& label, const std::string& what) {
  const std::string reason = innermost_hdf5_message();
  throw Error(label + ": " + what + (reason.empty() ? "" : " (" + reason + ")"));
}

// Takes ownership of an identifier a call returned, or throws if the call failed.
Handle checked(hid_t id, const std::string& label, const std::string& what) {
  if (id < 0) fail_hdf5(label, what);
  return Handle(id);
}

void check(herr_t status, const std::string& label, const std::string& what) {
  if (status < 0) fail_hdf5(label, what);
}

std::string quoted(const std::string& name) {
  return "'" + name + "'";
}

// A corrupt file can claim absurd sizes; allocating for them would throw std::bad_alloc or
// std::length_error, where callers expect an Error.
[[noreturn]] void fail_too_large(const std::string& label, const std::string& what) {
  throw Error(label + ": " + what +
              " claims more data than fits in memory, the file may be corrupt");
}

// Size of the file that holds `object`: the most that any of its data can occupy.
uint64_t file_size_of(hid_t object) {
  Handle file(H5Iget_file_id(object));
  hsize_t size = 0;
  if (!file.valid() || H5Fget_filesize(file.get(), &size) < 0) {
    return std::numeric_limits<uint64_t>::max();
  }
  return size;
}

// "int32", "uint8", "float64", "string": how types appear in error messages.
std::string type_name(hid_t type) {
  const std::string bits = std::to_string(H5Tget_size(type) * 8);
  switch (H5Tget_class(type)) {
    case H5T_INTEGER:
      return (H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + bits;
    case H5T_FLOAT:
      return "float" + bits;
    case H5T_STRING:
      return "string";
    case H5T_COMPOUND:
      return "compound";
    case H5T_ENUM:
      return "enum";
    case H5T_ARRAY:
      return "array";
    case H5T_VLEN:
      return "variable-length sequence";
    case H5T_REFERENCE:
      return "reference";
    default:
      return "an unsupported type";
  }
}

// Floats, and integers: Keras' Normalization keeps its sample `count` as an int64 weight.
bool is_convertible_float(hid_t type) {
  const size_t size = H5Tget_size(type);
  const H5T_class_t c = H5Tget_class(type);
  return (c == H5T_FLOAT && (size == 2 || size == 4 || size == 8)) ||
         (c == H5T_INTEGER && (size == 1 || size == 2 || size == 4 || size == 8));
}

// "a//b/" -> {"a", "b"}.
std::vector<std::string> path_components(const std::string& path) {
  std::vector<std::string> components;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t end = std::min(path.find('/', start), path.size());
    if (end > start) components.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return components;
}

// Link-creation properties that create missing intermediate groups, as h5py does.
Handle intermediate_group_creation(const std::string& label) {
  Handle properties = checked(H5Pcreate(H5P_LINK_CREATE), label, "cannot create properties");
  check(H5Pset_create_intermediate_group(properties.get(), 1), label, "cannot set properties");
  return properties;
}

// File-access properties. File locking stays on but is skipped on file systems that lack it,
// where HDF5 would otherwise refuse to open anything.
Handle file_access_properties(const std::string& label) {
  Handle properties = checked(H5Pcreate(H5P_FILE_ACCESS), label, "cannot create properties");
  check(H5Pset_file_locking(properties.get(), 1, 1), label, "cannot set properties");
  // Closing the file closes whatever is still open in it: a failed open inside libhdf5 1.10 can
  // leave an object behind that would otherwise keep the file, and the library, from closing.
  check(H5Pset_fclose_degree(properties.get(), H5F_CLOSE_STRONG), label, "cannot set properties");
  return properties;
}

Handle fixed_string_type(size_t width, const std::string& label) {
  Handle type = checked(H5Tcopy(H5T_C_S1), label, "cannot create a string type");
  check(H5Tset_size(type.get(), std::max<size_t>(width, 1)), label, "cannot size a string type");
  check(H5Tset_strpad(type.get(), H5T_STR_NULLPAD), label, "cannot set string padding");
  return type;
}

Handle variable_string_type(H5T_cset_t charset, const std::string& label) {
  Handle type = checked(H5Tcopy(H5T_C_S1), label, "cannot create a string type");
  check(H5Tset_size(type.get(), H5T_VARIABLE), label, "cannot size a string type");
  check(H5Tset_cset(type.get(), charset), label, "cannot set a string character set");
  return type;
}

// The stored form of a dataset's elements. float16 is built the way h5py builds it, since HDF5
// 1.10 has no predefined half type.
Handle stored_type(StoredType type, const std::string& label) {
  switch (type) {
    case StoredType::kFloat16: {
      Handle half = checked(H5Tcopy(H5T_IEEE_F32LE), label, "cannot create a float16 type");
      check(H5Tset_fields(half.get(), 15, 10, 5, 0, 10), label, "cannot create a float16 type");
      check(H5Tset_size(half.get(), 2), label, "cannot create a float16 type");
      check(H5Tset_ebias(half.get(), 15), label, "cannot create a float16 type");
      return half;
    }
    case StoredType::kFloat32:
      return checked(H5Tcopy(H5T_IEEE_F32LE), label, "cannot create a float32 type");
    case StoredType::kFloat64:
      return checked(H5Tcopy(H5T_IEEE_F64LE), label, "cannot create a float64 type");
    case StoredType::kInt32:
      return checked(H5Tcopy(H5T_STD_I32LE), label, "cannot create an int32 type");
  }
  throw Error(label + ": unknown stored type");
}

// A rank-0 shape is a scalar dataspace, as numpy scalars are in h5py.
Handle dataspace_for(const Shape& shape, const std::string& label) {
  if (shape.empty()) return checked(H5Screate(H5S_SCALAR), label, "cannot create a dataspace");
  const std::vector<hsize_t> dims(shape.begin(), shape.end());
  return checked(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), label,
                 "cannot create a dataspace");
}

// Number of elements of a dataspace; 0 for the null dataspace (an attribute without data).
size_t element_count_of(hid_t space, const std::string& label, const std::string& what) {
  if (H5Sget_simple_extent_type(space) == H5S_NULL) return 0;
  const hssize_t count = H5Sget_simple_extent_npoints(space);
  if (count < 0) fail_hdf5(label, "cannot read the size of " + what);
  return static_cast<size_t>(count);
}

// The shape of a dataset, refused when a corrupt file claims more than it can hold: dimensions
// that int64 cannot count, or for contiguous and compact data (what h5py writes) a size other
// than the bytes stored.
Shape dataset_shape(hid_t dataset, hid_t type, hid_t space, const std::string& label,
                    const std::string& what) {
  if (H5Sget_simple_extent_type(space) == H5S_NULL) {
    throw Error(label + ": " + what + " has no data (null dataspace)");
  }
  const int rank = H5Sget_simple_extent_ndims(space);
  std::vector<hsize_t> dims(static_cast<size_t>(std::max(rank, 0)));
  if (rank < 0 || H5Sget_simple_extent_dims(space, dims.data(), nullptr) < 0) {
    fail_hdf5(label, "cannot read the shape of " + what);
  }
  const uint64_t max_elements = std::numeric_limits<int64_t>::max() / sizeof(double);
  uint64_t count = 1;
  for (const hsize_t dim : dims) {
    if (dim > max_elements || (dim != 0 && count > max_elements / dim)) {
      fail_too_large(label, what);
    }
    count *= dim;
  }
  const Shape shape(dims.begin(), dims.end());
  uint64_t needed = 0;
  if (__builtin_mul_overflow(count, uint64_t{H5Tget_size(type)}, &needed)) {
    fail_too_large(label, what);
  }
  Handle properties = checked(H5Dget_create_plist(dataset), label, "cannot read " + what);
  const H5D_layout_t layout = H5Pget_layout(properties.get());
  if (layout != H5D_CONTIGUOUS && layout != H5D_COMPACT && layout != H5D_CHUNKED) {
    // A virtual dataset maps other files' data into this one.
    throw Error(label + ": " + what + " is a virtual dataset (its data lives in other files)");
  }
  if (H5Pget_external_count(properties.get()) != 0) {
    throw Error(label + ": " + what +
                " keeps its data in external files, which gaze does not read");
  }
  const uint64_t file_size = file_size_of(dataset);
  const uint64_t stored = H5Dget_storage_size(dataset);
  const std::string claims =
      what + " has shape " + to_string(shape) + " (" + std::to_string(needed) + " bytes)";
  // Stored as is: the header's size must be the shape's, and lie within the file. Contiguous data
  // never written stores 0 bytes (and reads as the fill value); compact data lives in the object
  // header, written with it, and libhdf5 1.10.8 copies the shape's bytes from it whatever it holds
  // (a compact dataset storing 0 bytes crashed it, docs/fuzzing.md).
  if (layout == H5D_COMPACT || (layout == H5D_CONTIGUOUS && stored != 0)) {
    if (stored != needed) {
      throw Error(label + ": " + claims + " but stores " + std::to_string(stored) +
                  " bytes, the file may be corrupt");
    }
    if (needed > file_size) {
      throw Error(label + ": " + claims + " but the file has only " + std::to_string(file_size) +
                  " bytes, the file may be corrupt");
    }
  } else if (needed / kMaxHdf5Expansion > file_size) {
    // Compressed chunks, or nothing written (the fill value): no more than deflate's best ratio
    // of the whole file. Checked before the tensor is allocated.
    throw Error(label + ": " + claims + " from a " + std::to_string(file_size) +
                "-byte file, more than " + std::to_string(kMaxHdf5Expansion) +
                " times its size: refusing it, the file may be corrupt");
  }
  return shape;
}

// A fixed-length string without its padding (NUL padding, NUL termination or spaces).
std::string unpad(const char* data, size_t width, H5T_str_t padding) {
  std::string text(data, width);
  if (padding == H5T_STR_SPACEPAD) {
    text.erase(text.find_last_not_of(' ') + 1);
  } else {
    text.resize(std::min(text.find('\0'), text.size()));
  }
  return text;
}

std::vector<std::string> read_fixed_strings(hid_t attribute, hid_t file_type, size_t count,
                                            const std::string& label, const std::string& what) {
  const size_t width = H5Tget_size(file_type);
  // Fixed-length strings are stored as they are, so they cannot exceed the file.
  if (width == 0 || count > file_size_of(attribute) / width) fail_too_large(label, what);
  // The memory type is the stored one: no conversion, and the character set is kept.
  Handle memory_type = checked(H5Tcopy(file_type), label, "cannot read " + what);
  std::vector<char> buffer(count * width);
  check(H5Aread(attribute, memory_type.get(), buffer.data()), label, "cannot read " + what);
  const H5T_str_t padding = H5Tget_strpad(file_type);
  std::vector<std::string> strings;
  strings.reserve(count);
  for (size_t i = 0; i < count; ++i) strings.push_back(unpad(&buffer[i * width], width, padding));
  return strings;
}

// Strings HDF5 allocated while reading variable-length data; returned to HDF5's allocator.
class VariableStrings {
 public:
  VariableStrings(size_t count, hid_t memory_type, hid_t space)
      : pointers_(count, nullptr), memory_type_(memory_type), space_(space) {}
  ~VariableStrings() { H5Dvlen_reclaim(memory_type_, space_, H5P_DEFAULT, pointers_.data()); }
  VariableStrings(const VariableStrings&) = delete;
  VariableStrings& operator=(const VariableStrings&) = delete;

  char** data() { return pointers_.data(); }
  const std::vector<char*>& pointers() const { return pointers_; }

 private:
  std::vector<char*> pointers_;
  hid_t memory_type_;
  hid_t space_;
};

// A conversion function for libhdf5's type conversions (H5T_conv_t) that leaves the attribute's
// stored bytes as they are. libhdf5 hands a conversion function the raw elements, as the file
// stores them (H5A__read in src/H5Aint.c, before any heap access), so reading through this one
// gives the heap IDs of variable-length strings without following them. It converts a string to a
// variable-length sequence only, a type pair nothing in gaze reads otherwise.
herr_t keep_stored_bytes(hid_t source, hid_t destination, H5T_cdata_t* data, size_t /*count*/,
                         size_t /*stride*/, size_t /*background_stride*/, void* /*buffer*/,
                         void* /*background*/, hid_t /*transfer*/) noexcept {
  switch (data->command) {
    case H5T_CONV_INIT:
      data->need_bkg = H5T_BKG_NO;
      return H5Tis_variable_str(source) > 0 && H5Tget_class(destination) == H5T_VLEN ? 0 : -1;
    case H5T_CONV_CONV:
    case H5T_CONV_FREE:
      return 0;
  }
  return -1;
}

// keep_stored_bytes registered (a "soft" conversion, matched by type class, H5T.c H5T__register)
// for as long as this lives; unregistering removes every conversion path it made.
class StoredBytesConversion {
 public:
  explicit StoredBytesConversion(const std::string& label) {
    Handle source = variable_string_type(H5T_CSET_ASCII, label);
    memory_type_ = checked(H5Tvlen_create(H5T_NATIVE_UCHAR), label, "cannot create a type");
    if (H5Tregister(H5T_PERS_SOFT, kName, source.get(), memory_type_.get(), keep_stored_bytes) <
        0) {
      // H5T__register adds the function before steps that can still fail (src/H5T.c).
      H5Tunregister(H5T_PERS_SOFT, kName, -1, -1, keep_stored_bytes);
      fail_hdf5(label, "cannot register a type conversion");
    }
  }
  ~StoredBytesConversion() { H5Tunregister(H5T_PERS_SOFT, kName, -1, -1, keep_stored_bytes); }
  StoredBytesConversion(const StoredBytesConversion&) = delete;
  StoredBytesConversion& operator=(const StoredBytesConversion&) = delete;

  // The memory type to read with: one hvl_t (16 bytes) per element.
  hid_t memory_type() const { return memory_type_.get(); }

 private:
  static constexpr const char* kName = "gaze_keep_stored_bytes";
  Handle memory_type_;
};

// Refuses a variable-length string attribute whose heap IDs name no string of the file's global
// heap collections (weights/hdf5_global_heap.h), before libhdf5 follows them.
void check_heap_references(hid_t attribute, size_t count, const GlobalHeaps& heaps,
                           const std::string& label, const std::string& what) {
  const size_t element = stored_vlen_size(heaps.address_size);
  // The stored bytes libhdf5 copies before converting: as many as `count` heap IDs (H5Aint.c
  // H5A__read copies count x the ID's size, whatever the file's datatype message said).
  const hsize_t stored = H5Aget_storage_size(attribute);
  if (heaps.address_size > 8 || stored / element != count || stored % element != 0) {
    throw Error(label + ": the file is corrupt: " + what + " holds " + std::to_string(stored) +
                " bytes for " + std::to_string(count) + " variable-length strings");
  }
  std::vector<unsigned char> raw(count * sizeof(hvl_t));
  {
    StoredBytesConversion conversion(label);
    check(H5Aread(attribute, conversion.memory_type(), raw.data()), label, "cannot read " + what);
  }
  const std::string problem = find_bad_heap_reference(heaps, raw, count);
  if (!problem.empty()) throw Error(label + ": the file is corrupt: " + what + ": " + problem);
}

std::vector<std::string> read_variable_strings(hid_t attribute, hid_t file_type, hid_t space,
                                               size_t count, const GlobalHeaps* heaps,
                                               const std::string& label, const std::string& what) {
  // Each string takes at least a heap reference in the file.
  if (count > file_size_of(attribute)) fail_too_large(label, what);
  // A file gaze created itself has no scan; it holds what gaze wrote.
  if (heaps != nullptr) check_heap_references(attribute, count, *heaps, label, what);
  Handle memory_type = variable_string_type(H5Tget_cset(file_type), label);
  VariableStrings buffer(count, memory_type.get(), space);
  check(H5Aread(attribute, memory_type.get(), buffer.data()), label, "cannot read " + what);
  std::vector<std::string> strings;
  strings.reserve(count);
  for (const char* text : buffer.pointers()) strings.emplace_back(text == nullptr ? "" : text);
  return strings;
}

herr_t collect_link_name(hid_t /*group*/, const char* name, const H5L_info_t* /*info*/,
                         void* names) noexcept {
  try {
    static_cast<std::vector<std::string>*>(names)->emplace_back(name);
    return 0;
  } catch (...) {
    return -1;  // an exception must not cross HDF5's C frames
  }
}

herr_t collect_attribute_name(hid_t /*object*/, const char* name, const H5A_info_t* /*info*/,
                              void* names) noexcept {
  try {
    static_cast<std::vector<std::string>*>(names)->emplace_back(name);
    return 0;
  } catch (...) {
    return -1;
  }
}

void close_id(hid_t id) {
  switch (H5Iget_type(id)) {
    case H5I_FILE:
      H5Fclose(id);
      break;
    case H5I_GROUP:
      H5Gclose(id);
      break;
    case H5I_DATASET:
      H5Dclose(id);
      break;
    case H5I_ATTR:
      H5Aclose(id);
      break;
    case H5I_DATASPACE:
      H5Sclose(id);
      break;
    case H5I_DATATYPE:
      H5Tclose(id);
      break;
    case H5I_GENPROP_LST:
      H5Pclose(id);
      break;
    default:
      H5Idec_ref(id);
      break;
  }
}

}  // namespace

// ---- Handle ----

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    reset();
    id_ = other.release();
  }
  return *this;
}

Id Handle::release() {
  return std::exchange(id_, -1);
}

void Handle::reset() {
  if (!valid()) return;
  QuietErrors quiet;
  close_id(release());
}

// ---- Group ----

Group::Group(Handle handle, std::string file_label, std::string path,
             std::shared_ptr<const GlobalHeaps> heaps, std::shared_ptr<ReaderProcess> reader)
    : handle_(std::move(handle)),
      file_label_(std::move(file_label)),
      path_(std::move(path)),
      heaps_(std::move(heaps)),
      reader_(std::move(reader)) {}

std::string Group::full_path(const std::string& relative_path) const {
  return path_.empty() ? relative_path : path_ + "/" + relative_path;
}

std::string Group::describe() const {
  return path_.empty() ? "the root group" : "group " + quoted(path_);
}

void Group::fail(const std::string& what) const {
  fail_hdf5(file_label_, what);
}

std::vector<std::string> Group::child_names() const {
  if (reader_) return reader_->ask(Query::kChildNames, path_, "").strings;
  QuietErrors quiet;
  std::vector<std::string> names;
  if (H5Literate(handle_.get(), H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_link_name, &names) <
      0) {
    fail("cannot list the members of " + describe());
  }
  return names;
}

bool Group::has_child(const std::string& relative_path) const {
  if (reader_) return reader_->ask(Query::kHasChild, path_, relative_path).yes;
  QuietErrors quiet;
  // HDF5 fails rather than answering "no" when an intermediate group is missing, so each
  // component is checked in turn.
  std::string prefix;
  for (const std::string& component : path_components(relative_path)) {
    prefix += prefix.empty() ? component : "/" + component;
    if (H5Lexists(handle_.get(), prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (H5Oexists_by_name(handle_.get(), prefix.c_str(), H5P_DEFAULT) <= 0) return false;
  }
  return !prefix.empty();
}

Group Group::open_group(const std::string& relative_path) const {
  const std::string path = full_path(relative_path);
  if (reader_) {
    reader_->ask(Query::kOpenGroup, path_, relative_path);  // fails as opening here would
    return Group(Handle(), file_label_, path, nullptr, reader_);
  }
  QuietErrors quiet;
  Handle group = checked(H5Gopen2(handle_.get(), relative_path.c_str(), H5P_DEFAULT), file_label_,
                         "cannot open group " + quoted(path));
  return Group(std::move(group), file_label_, path, heaps_);
}

Group Group::create_group(const std::string& relative_path) {
  QuietErrors quiet;
  const std::string path = full_path(relative_path);
  Handle link_properties = intermediate_group_creation(file_label_);
  Handle group = checked(H5Gcreate2(handle_.get(), relative_path.c_str(), link_properties.get(),
                                    H5P_DEFAULT, H5P_DEFAULT),
                         file_label_, "cannot create group " + quoted(path));
  return Group(std::move(group), file_label_, path, heaps_);
}

std::vector<std::string> Group::attribute_names() const {
  if (reader_) return reader_->ask(Query::kAttributeNames, path_, "").strings;
  QuietErrors quiet;
  std::vector<std::string> names;
  if (H5Aiterate2(handle_.get(), H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_attribute_name,
                  &names) < 0) {
    fail("cannot list the attributes of " + describe());
  }
  return names;
}

bool Group::has_attribute(const std::string& name) const {
  if (reader_) return reader_->ask(Query::kHasAttribute, path_, name).yes;
  QuietErrors quiet;
  const htri_t exists = H5Aexists(handle_.get(), name.c_str());
  if (exists < 0) fail("cannot look up attribute " + quoted(name) + " of " + describe());
  return exists > 0;
}

Handle Group::open_attribute(const std::string& name) const {
  return checked(H5Aopen(handle_.get(), name.c_str(), H5P_DEFAULT), file_label_,
                 "cannot open attribute " + quoted(name) + " of " + describe());
}

bool Group::has_string_attribute(const std::string& name) const {
  if (reader_) return reader_->ask(Query::kHasStringAttribute, path_, name).yes;
  QuietErrors quiet;
  if (!has_attribute(name)) return false;
  Handle attribute = open_attribute(name);
  Handle type = checked(H5Aget_type(attribute.get()), file_label_, "cannot read attribute type");
  Handle space = checked(H5Aget_space(attribute.get()), file_label_, "cannot read attribute size");
  return H5Tget_class(type.get()) == H5T_STRING &&
         element_count_of(space.get(), file_label_, "attribute " + quoted(name)) == 1;
}

std::string Group::read_string_attribute(const std::string& name) const {
  std::vector<std::string> strings = read_string_array_attribute(name);
  if (strings.size() != 1) {
    throw Error(file_label_ + ": attribute " + quoted(name) + " of " + describe() + " holds " +
                std::to_string(strings.size()) + " strings, expected one");
  }
  return std::move(strings.front());
}

std::vector<std::string> Group::read_string_array_attribute(const std::string& name) const {
  if (reader_) return reader_->ask(Query::kStringArrayAttribute, path_, name).strings;
  QuietErrors quiet;
  const std::string what = "attribute " + quoted(name) + " of " + describe();
  Handle attribute = open_attribute(name);
  Handle type =
      checked(H5Aget_type(attribute.get()), file_label_, "cannot read the type of " + what);
  Handle space =
      checked(H5Aget_space(attribute.get()), file_label_, "cannot read the size of " + what);
  const size_t count = element_count_of(space.get(), file_label_, what);
  if (count == 0) return {};
  if (H5Tget_class(type.get()) != H5T_STRING) {
    throw Error(file_label_ + ": " + what + " has type " + type_name(type.get()) +
                ", expected strings");
  }
  try {
    if (H5Tis_variable_str(type.get()) > 0) {
      return read_variable_strings(attribute.get(), type.get(), space.get(), count, heaps_.get(),
                                   file_label_, what);
    }
    return read_fixed_strings(attribute.get(), type.get(), count, file_label_, what);
  } catch (const std::bad_alloc&) {
    fail_too_large(file_label_, what);
  } catch (const std::length_error&) {
    fail_too_large(file_label_, what);
  }
}

void Group::create_attribute(const std::string& name, Id type, Id space, const void* data) {
  const std::string what = "attribute " + quoted(name) + " of " + describe();
  const htri_t exists = H5Aexists(handle_.get(), name.c_str());
  if (exists > 0)
    check(H5Adelete(handle_.get(), name.c_str()), file_label_, "cannot replace " + what);
  Handle attribute =
      checked(H5Acreate2(handle_.get(), name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT),
              file_label_, "cannot create " + what);
  // An empty attribute has nothing to write (and HDF5 rejects a null buffer).
  if (data != nullptr)
    check(H5Awrite(attribute.get(), type, data), file_label_, "cannot write " + what);
}

void Group::write_string_attribute(const std::string& name, const std::string& value,
                                   StringStorage storage) {
  QuietErrors quiet;
  Handle space = checked(H5Screate(H5S_SCALAR), file_label_, "cannot create a dataspace");
  if (storage == StringStorage::kVariableLength) {
    Handle type = variable_string_type(H5T_CSET_UTF8, file_label_);
    const char* text = value.c_str();
    create_attribute(name, type.get(), space.get(), &text);
  } else {
    Handle type = fixed_string_type(value.size(), file_label_);
    // One spare byte so that an empty string still has a buffer as wide as the type.
    std::string padded = value;
    padded.resize(std::max<size_t>(value.size(), 1), '\0');
    create_attribute(name, type.get(), space.get(), padded.data());
  }
}

void Group::write_string_array_attribute(const std::string& name,
                                         const std::vector<std::string>& values,
                                         StringStorage storage) {
  QuietErrors quiet;
  Handle space = dataspace_for({static_cast<int64_t>(values.size())}, file_label_);
  if (storage == StringStorage::kVariableLength) {
    Handle type = variable_string_type(H5T_CSET_UTF8, file_label_);
    std::vector<const char*> texts;
    for (const std::string& value : values) texts.push_back(value.c_str());
    create_attribute(name, type.get(), space.get(), texts.empty() ? nullptr : texts.data());
  } else {
    size_t width = 1;
    for (const std::string& value : values) width = std::max(width, value.size());
    Handle type = fixed_string_type(width, file_label_);
    std::vector<char> buffer(values.size() * width, '\0');
    for (size_t i = 0; i < values.size(); ++i) {
      std::memcpy(&buffer[i * width], values[i].data(), values[i].size());
    }
    create_attribute(name, type.get(), space.get(), buffer.empty() ? nullptr : buffer.data());
  }
}

Tensor Group::read_float_dataset(const std::string& relative_path) const {
  if (reader_) return reader_->ask(Query::kFloatDataset, path_, relative_path).tensor;
  QuietErrors quiet;
  const std::string what = "dataset " + quoted(full_path(relative_path));
  Handle dataset = checked(H5Dopen2(handle_.get(), relative_path.c_str(), H5P_DEFAULT), file_label_,
                           "cannot open " + what);
  Handle type = checked(H5Dget_type(dataset.get()), file_label_, "cannot read the type of " + what);
  if (!is_convertible_float(type.get())) {
    throw Error(file_label_ + ": " + what + " has type " + type_name(type.get()) +
                ", expected a float or integer type");
  }
  Handle space =
      checked(H5Dget_space(dataset.get()), file_label_, "cannot read the shape of " + what);
  const Shape shape = dataset_shape(dataset.get(), type.get(), space.get(), file_label_, what);
  Tensor values;
  try {
    values = Tensor(shape);
  } catch (const std::bad_alloc&) {
    fail_too_large(file_label_, what + " of shape " + to_string(shape));
  }
  if (values.size() > 0) {
    // HDF5 converts float16, float64 and integers to float32 here.
    check(H5Dread(dataset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()),
          file_label_, "cannot read " + what + ", the file may be truncated or corrupt");
  }
  return values;
}

void Group::write_dataset(const std::string& relative_path, const Tensor& values, StoredType type) {
  QuietErrors quiet;
  const std::string what = "dataset " + quoted(full_path(relative_path));
  if (!values.defined()) throw Error(file_label_ + ": " + what + " has no value (empty tensor)");
  Handle file_type = stored_type(type, file_label_);
  Handle space = dataspace_for(values.shape(), file_label_);
  Handle link_properties = intermediate_group_creation(file_label_);
  Handle dataset = checked(H5Dcreate2(handle_.get(), relative_path.c_str(), file_type.get(),
                                      space.get(), link_properties.get(), H5P_DEFAULT, H5P_DEFAULT),
                           file_label_, "cannot create " + what);
  if (values.size() > 0) {
    check(H5Dwrite(dataset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()),
          file_label_, "cannot write " + what);
  }
}

// ---- File ----

namespace {

// The global heap collections of an open file, checked (weights/hdf5_global_heap.h), with the
// superblock's sizes that their layout and the heap IDs depend on. `scan` reads the bytes, given
// the size of lengths (8 in every file h5py writes).
template <typename Scan>
std::shared_ptr<const GlobalHeaps> global_heaps_of(hid_t file, const std::string& label,
                                                   Scan scan) {
  Handle creation = checked(H5Fget_create_plist(file), label, "cannot read the file's properties");
  size_t address_size = 0;
  size_t length_size = 0;
  hsize_t base_address = 0;  // the user block is the part of the file before the base address
  check(H5Pget_sizes(creation.get(), &address_size, &length_size), label,
        "cannot read the file's properties");
  check(H5Pget_userblock(creation.get(), &base_address), label,
        "cannot read the file's properties");
  GlobalHeaps heaps = scan(length_size);
  heaps.address_size = address_size;
  heaps.base_address = base_address;
  return std::make_shared<const GlobalHeaps>(std::move(heaps));
}

}  // namespace

File::File(Handle file, std::string label, std::string path,
           std::shared_ptr<const GlobalHeaps> heaps)
    : file_(std::move(file)),
      label_(std::move(label)),
      path_(std::move(path)),
      root_(checked(H5Gopen2(file_.get(), "/", H5P_DEFAULT), label_, "cannot open the root group"),
            label_, "", std::move(heaps)) {}

File::File(std::string label, std::shared_ptr<ReaderProcess> reader)
    : label_(std::move(label)), root_(Handle(), label_, "", nullptr, std::move(reader)) {}

File File::open_read_only(const std::string& path) {
  return File(path,
              std::make_shared<ReaderProcess>(path, [&] { return open_read_only_here(path); }));
}

File File::open_image(const std::vector<unsigned char>& image, const std::string& label) {
  return File(
      label, std::make_shared<ReaderProcess>(label, [&] { return open_image_here(image, label); }));
}

File File::open_read_only_here(const std::string& path) {
  QuietErrors quiet;
  std::error_code error;
  const std::filesystem::file_status status = std::filesystem::status(path, error);
  if (!std::filesystem::exists(status)) throw Error(path + ": no such file");
  if (std::filesystem::is_directory(status)) throw Error(path + ": is a directory, not a file");
  const htri_t is_hdf5 = H5Fis_hdf5(path.c_str());
  if (is_hdf5 < 0) fail_hdf5(path, "cannot read the file");
  if (is_hdf5 == 0) {
    const bool empty = std::filesystem::file_size(path, error) == 0 && !error;
    throw Error(path + ": not an HDF5 file" + (empty ? " (the file is empty)" : ""));
  }
  Handle access = file_access_properties(path);
  Handle file = checked(H5Fopen(path.c_str(), H5F_ACC_RDONLY, access.get()), path,
                        "cannot open the HDF5 file, it may be truncated or corrupt");
  auto heaps = global_heaps_of(file.get(), path, [&](size_t length_size) {
    return scan_global_heaps(path, path, length_size);
  });
  return File(std::move(file), path, "", std::move(heaps));
}

namespace {

// File-image callbacks that make HDF5's core driver read the caller's bytes in place instead of
// copying them twice (into the property list, then into the driver). `udata` is the caller's
// vector, which outlives the file. This is what H5LTopen_file_image does with
// H5LT_FILE_IMAGE_DONT_COPY (hl/src/H5LT.c), without its bookkeeping, which leaks in HDF5 1.10.
void* image_in_place(size_t size, H5FD_file_image_op_t, void* udata) {
  auto* image = static_cast<std::vector<unsigned char>*>(udata);
  return size == image->size() ? image->data() : nullptr;
}
void* copy_nothing(void* dest, const void* src, size_t, H5FD_file_image_op_t, void*) {
  return dest == src ? dest : nullptr;  // both are the caller's buffer
}
void* no_resize(void*, size_t, H5FD_file_image_op_t, void*) {
  return nullptr;  // opened read-only: HDF5 never grows the image
}
herr_t keep_image(void*, H5FD_file_image_op_t, void*) {
  return 0;  // the caller owns the bytes
}
void* same_udata(void* udata) {
  return udata;
}
herr_t keep_udata(void*) {
  return 0;
}

}  // namespace

File File::open_image_here(const std::vector<unsigned char>& image, const std::string& label) {
  QuietErrors quiet;
  static constexpr unsigned char kSignature[] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  if (image.size() < sizeof kSignature ||
      !std::equal(std::begin(kSignature), std::end(kSignature), image.begin())) {
    throw Error(label + ": not an HDF5 file" + (image.empty() ? " (it is empty)" : ""));
  }
  // The callbacks hand out the bytes as `void*` only because images can be opened for writing;
  // a read-only file never writes to them.
  auto* bytes = const_cast<std::vector<unsigned char>*>(&image);
  H5FD_file_image_callbacks_t callbacks = {&image_in_place, &copy_nothing, &no_resize, &keep_image,
                                           &same_udata,     &keep_udata,   bytes};
  Handle access = checked(H5Pcreate(H5P_FILE_ACCESS), label, "cannot create properties");
  check(H5Pset_fapl_core(access.get(), 64 << 10, 0), label, "cannot set properties");
  check(H5Pset_file_image_callbacks(access.get(), &callbacks), label, "cannot set properties");
  check(H5Pset_file_image(access.get(), bytes->data(), bytes->size()), label,
        "cannot set properties");
  // The core driver refuses a name that exists on disk, and takes two open files of the same
  // name for one: the name is unique to the buffer and can never exist (/dev/null is no folder).
  char name[64];
  std::snprintf(name, sizeof name, "/dev/null/gaze-file-image-%p", static_cast<void*>(bytes));
  Handle file = checked(H5Fopen(name, H5F_ACC_RDONLY, access.get()), label,
                        "cannot open the HDF5 file, it may be truncated or corrupt");
  auto heaps = global_heaps_of(file.get(), label, [&](size_t length_size) {
    return scan_global_heaps(image, label, length_size);
  });
  return File(std::move(file), label, "", std::move(heaps));  // read-only: close() writes nothing
}

File File::create(const std::string& path, const std::string& label) {
  QuietErrors quiet;
  const std::string name = label.empty() ? path : label;
  const std::filesystem::path directory = std::filesystem::path(path).parent_path();
  std::error_code error;
  if (!directory.empty() && !std::filesystem::is_directory(directory, error)) {
    throw Error(name + ": cannot create the file: directory '" + directory.string() +
                "' does not exist");
  }
  // The file is built in memory (the core driver without a backing store) and written out by
  // close(), through a CheckedFile. HDF5's own writes are not used because a failed one (a full
  // disk) leaves the library holding a file it crashes on at exit (HDF5 1.10.8, H5F__close_cb),
  // and its messages name the temporary over several lines.
  Handle access = file_access_properties(name);
  constexpr size_t kGrowth = size_t{4} << 20;
  check(H5Pset_fapl_core(access.get(), kGrowth, /*backing_store=*/0), name,
        "cannot set up an in-memory file");
  Handle file = checked(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, access.get()), name,
                        "cannot create the file");
  return File(std::move(file), name, path);
}

void File::close() {
  QuietErrors quiet;
  if (!file_.valid()) return;
  std::vector<char> image;
  if (!path_.empty()) {
    check(H5Fflush(file_.get(), H5F_SCOPE_GLOBAL), label_, "cannot write the file");
    const ssize_t size = H5Fget_file_image(file_.get(), nullptr, 0);
    if (size < 0) fail_hdf5(label_, "cannot write the file");
    image.resize(static_cast<size_t>(size));
    if (H5Fget_file_image(file_.get(), image.data(), image.size()) != size)
      fail_hdf5(label_, "cannot write the file");
  }
  root_ = Group(Handle(), label_, "");
  const herr_t status = H5Fclose(file_.release());
  if (status < 0) fail_hdf5(label_, "cannot close the file");
  if (path_.empty()) return;
  CheckedFile out(path_, label_);
  out.write(image.data(), image.size());
  out.close();
}

}  // namespace gaze::hdf5
