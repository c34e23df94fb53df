// A guard before libhdf5 reads a variable-length string: the global heap collections that hold
// such strings are checked in the file's bytes first.
//
// Why: Debian 12's libhdf5 (1.10.8) decodes a collection's objects in a loop that advances by each
// object's stored size (H5HG__cache_heap_deserialize in src/H5HGcache.c). A collection whose
// free-space object claims 0 bytes, or whose object size wraps the 64-bit arithmetic, never
// advances: H5Aread spins forever (found by fuzz/hdf5_fuzz.cpp, docs/fuzzing.md). A size that runs
// past the collection makes the library copy bytes beyond its buffer. Every collection starts with
// the signature "GCOL", so scanning the file for it finds them all, wherever the file's addresses
// put them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>

namespace gaze::hdf5 {

// The objects of every global heap collection that passed the check, by the byte of the file where
// the collection starts: object index -> the object's size. The free-space object (index 0) is not
// one of them. A variable-length string in the file refers to one of these objects by a heap ID
// (the collection's address and the object's index), which libhdf5 1.10.8 does not check: an index
// that names no object makes H5Aread read far outside the collection's table (H5HG_read in
// src/H5HG.c checks it with an HDassert only; later versions check it, HDFGroup/hdf5 March 2024).
struct GlobalHeaps {
  std::map<uint64_t, std::map<unsigned, uint64_t>> collections;
  uint64_t base_address = 0;  // the superblock's base: file addresses count from it
  size_t address_size = 8;    // the superblock's size of offsets
};

// Returns "" when every global heap collection in `bytes` (a whole HDF5 file) decodes as libhdf5
// decodes it, each object advancing within its collection; otherwise what is wrong, e.g.
// "global heap collection at byte 2048: object 0 at byte 4728 has size 0". `length_size` is the
// file's size of lengths (the superblock's, 8 in every file h5py writes). The collections found are
// added to `heaps` when it is given.
std::string find_malformed_global_heap(std::span<const unsigned char> bytes, size_t length_size,
                                       GlobalHeaps* heaps = nullptr);

// The same for a file on disk (read in blocks, not all at once). Throws Error("<label>: ...")
// naming the problem; returns the collections found.
GlobalHeaps scan_global_heaps(const std::string& path, const std::string& label,
                              size_t length_size);
// The same for a file image in memory.
GlobalHeaps scan_global_heaps(std::span<const unsigned char> bytes, const std::string& label,
                              size_t length_size);

// Checks the raw elements of a variable-length string attribute, as they are stored (file format
// specification 2.0, III.E and IV.B: the string's length (4 bytes), its collection's address
// (`address_size` bytes) and the object's index (4 bytes)), against the collections: every string
// must be nil (address 0) or name an object of a collection found, of exactly the string's length,
// which is what libhdf5 then copies. Returns "" or what is wrong, e.g. "string 0 refers to object 9
// of the global heap collection at byte 2048, which has no such object".
std::string find_bad_heap_reference(const GlobalHeaps& heaps, std::span<const unsigned char> raw,
                                    size_t count);

// The size of one stored variable-length element in a file whose offsets take `address_size`
// bytes.
constexpr size_t stored_vlen_size(size_t address_size) {
  return 4 + address_size + 4;
}

}  // namespace gaze::hdf5
