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
#include <span>
#include <string>

namespace gaze::hdf5 {

// Returns "" when every global heap collection in `bytes` (a whole HDF5 file) decodes as libhdf5
// decodes it, each object advancing within its collection; otherwise what is wrong, e.g.
// "global heap collection at byte 2048: object 0 at byte 4728 has size 0". `length_size` is the
// file's size of lengths (the superblock's, 8 in every file h5py writes).
std::string find_malformed_global_heap(std::span<const unsigned char> bytes, size_t length_size);

// The same for a file on disk (mapped, not read into memory). Throws Error("<label>: ...") naming
// the problem.
void check_global_heaps(const std::string& path, const std::string& label, size_t length_size);
// The same for a file image in memory.
void check_global_heaps(std::span<const unsigned char> bytes, const std::string& label,
                        size_t length_size);

}  // namespace gaze::hdf5
