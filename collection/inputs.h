// The INPUT arguments of a batch command, expanded into the files to run: a file stays itself; a
// folder is walked recursively in sorted order for image and .npy files; @LIST reads one INPUT per
// line from a file (@- from standard input).
#pragma once

#include <istream>
#include <string>
#include <vector>

namespace gaze {

struct InputEntry {
  // The path to open, as the user spelled it (a folder's files are the folder joined with their
  // path inside it). Also the "input" of its results, and what --resume matches.
  std::string path;
  // The path relative to the INPUT argument: inside the folder for a folder's files; the path as
  // given for a relative file argument without "..", else its file name. It names the outputs
  // under --out-dir and decides the shard, so neither changes when other inputs are added.
  std::string relative;
  // Why the entry cannot be run (an unreadable folder, a missing @LIST file), else empty. Such an
  // entry is reported as a failed input and the others still go through.
  std::string error;
};

// Whether a folder walk takes the file: by extension, case-insensitively (.jpg, .jpeg, .png,
// .bmp, .gif, .tga, .psd, .pnm, .ppm, .pgm, .webp, .npy).
bool is_collection_file(const std::string& name);

// Expands the INPUT arguments in order. Folders: hidden entries (names starting with '.') are
// skipped; symbolic links are followed, each folder walked once (so a link loop ends); an
// unreadable folder or entry becomes an entry with its error. `standard_input` is read for @-.
std::vector<InputEntry> expand_inputs(const std::vector<std::string>& arguments,
                                      std::istream& standard_input);

// Whether the arguments name a collection rather than one file: several, a folder, or a list.
bool names_a_collection(const std::vector<std::string>& arguments);

}  // namespace gaze
