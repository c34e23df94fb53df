// A plain-text table for stdout: columns as wide as their widest cell, counted in characters
// (UTF-8 code points, so "±" is one), left-aligned unless asked otherwise, two spaces apart.
#pragma once

#include <string>
#include <vector>

namespace gaze {

struct TextTable {
  std::vector<std::string> header;
  std::vector<bool> right_aligned;  // per column; missing entries are left-aligned
  std::vector<std::vector<std::string>> rows;

  // One line per row, header first, each ended by '\n'; no trailing spaces.
  std::string str() const;
};

}  // namespace gaze
