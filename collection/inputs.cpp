#include "collection/inputs.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <utility>

namespace gaze {
namespace {

namespace fs = std::filesystem;

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool is_hidden(const std::string& name) {
  return !name.empty() && name[0] == '.';
}

// The relative name of a file given directly: as spelled when that is a plain relative path, so
// that a/x.jpg and b/x.jpg stay apart under --out-dir; else (absolute, or climbing with "..") the
// file name.
std::string relative_of_file(const std::string& argument) {
  fs::path p = fs::path(argument).lexically_normal();
  if (p.is_absolute()) return p.filename().string();
  for (const fs::path& part : p) {
    if (part == "..") return fs::path(argument).filename().string();
  }
  return p.string();
}

// A folder's identity, so that a symbolic link back up the tree is walked only once.
using FolderId = std::pair<dev_t, ino_t>;

class FolderWalk {
 public:
  explicit FolderWalk(std::vector<InputEntry>& out) : out_(out) {}

  void walk(const std::string& shown, const std::string& relative) {
    struct stat st {};
    if (::stat(shown.c_str(), &st) != 0) return fail(shown, relative, "cannot read the folder");
    if (!visited_.insert({st.st_dev, st.st_ino}).second) return;  // a link loop, or seen already
    std::error_code ec;
    std::vector<std::string> names;
    for (fs::directory_iterator it(shown, ec), end; !ec && it != end; it.increment(ec)) {
      names.push_back(it->path().filename().string());
    }
    if (ec) return fail(shown, relative, "cannot read the folder (" + ec.message() + ")");
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      if (is_hidden(name)) continue;
      const std::string path = (fs::path(shown) / name).string();
      const std::string inside = relative.empty() ? name : relative + "/" + name;
      std::error_code status_error;
      const fs::file_status status = fs::status(path, status_error);  // follows links
      if (status.type() == fs::file_type::not_found) {  // a broken link, or gone since listed
        if (is_collection_file(name)) fail(path, inside, "no such file (a broken link?)");
        continue;
      }
      if (status_error) {
        fail(path, inside, "cannot read (" + status_error.message() + ")");
      } else if (fs::is_directory(status)) {
        walk(path, inside);
      } else if (is_collection_file(name)) {
        out_.push_back({path, inside, ""});
      }
    }
  }

 private:
  void fail(const std::string& path, const std::string& relative, const std::string& why) {
    out_.push_back({path, relative, why});
  }

  std::vector<InputEntry>& out_;
  std::set<FolderId> visited_;
};

void expand_one(const std::string& argument, std::vector<InputEntry>& out) {
  std::error_code ec;
  if (fs::is_directory(argument, ec)) {
    FolderWalk(out).walk(argument, "");
  } else {
    out.push_back({argument, relative_of_file(argument), ""});
  }
}

// One INPUT per line; blank lines and a '\r' before the '\n' are ignored.
std::vector<std::string> read_list(std::istream& in) {
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

}  // namespace

bool is_collection_file(const std::string& name) {
  static const std::set<std::string> kExtensions = {".jpg", ".jpeg", ".png",  ".bmp",
                                                    ".gif", ".tga",  ".psd",  ".pnm",
                                                    ".ppm", ".pgm",  ".webp", ".npy"};
  return kExtensions.count(lower(fs::path(name).extension().string())) > 0;
}

std::vector<InputEntry> expand_inputs(const std::vector<std::string>& arguments,
                                      std::istream& standard_input) {
  std::vector<InputEntry> out;
  for (const std::string& argument : arguments) {
    if (argument.size() < 2 || argument[0] != '@') {
      expand_one(argument, out);
      continue;
    }
    const std::string list = argument.substr(1);
    if (list == "-") {
      for (const std::string& line : read_list(standard_input)) expand_one(line, out);
      continue;
    }
    std::ifstream in(list);
    std::error_code ec;
    if (!in || fs::is_directory(list, ec)) {
      out.push_back({list, list, "cannot read the list of inputs (@" + list + ")"});
      continue;
    }
    const std::vector<std::string> lines = read_list(in);
    if (in.bad()) out.push_back({list, list, "cannot read the list of inputs (@" + list + ")"});
    for (const std::string& line : lines) expand_one(line, out);
  }
  return out;
}

bool names_a_collection(const std::vector<std::string>& arguments) {
  if (arguments.size() != 1) return true;
  std::error_code ec;
  return arguments[0].rfind('@', 0) == 0 || fs::is_directory(arguments[0], ec);
}

}  // namespace gaze
