#include "tools/cli.h"

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "tensor/error.h"

namespace gaze::cli {

Parser::Parser(std::string command, std::string usage, std::string description)
    : command_(std::move(command)), usage_(std::move(usage)), description_(std::move(description)) {
  flag("help", "show this help and exit");
}

Parser& Parser::option(std::string name, std::string value, std::string help) {
  specs_.push_back({std::move(name), std::move(value), std::move(help), false});
  return *this;
}

Parser& Parser::repeated(std::string name, std::string value, std::string help) {
  specs_.push_back({std::move(name), std::move(value), std::move(help), true});
  return *this;
}

Parser& Parser::flag(std::string name, std::string help) {
  specs_.push_back({std::move(name), "", std::move(help), false});
  return *this;
}

Parser& Parser::epilog(std::string text) {
  epilog_ = std::move(text);
  return *this;
}

const OptionSpec* Parser::find(const std::string& name) const {
  for (const OptionSpec& s : specs_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

bool Parser::parse(const std::vector<std::string>& args) {
  bool options_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (options_done || a.size() < 2 || a.rfind("--", 0) != 0) {
      if (a == "--") {
        options_done = true;
        continue;
      }
      if (!options_done && a.size() > 1 && a[0] == '-' && a != "-") {
        throw Error(command_ + ": unknown option '" + a + "' (see 'gaze " + command_ + " --help')");
      }
      positional_.push_back(a);
      continue;
    }
    std::string name = a.substr(2), value;
    const size_t eq = name.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const OptionSpec* spec = find(name);
    if (!spec)
      throw Error(command_ + ": unknown option '--" + name + "' (see 'gaze " + command_ +
                  " --help')");
    if (spec->value.empty()) {
      if (inline_value) throw Error(command_ + ": --" + name + " takes no value");
      values_[name].push_back("");
    } else {
      if (!inline_value) {
        if (i + 1 >= args.size())
          throw Error(command_ + ": --" + name + " needs a value (" + spec->value + ")");
        value = args[++i];
      }
      auto& v = values_[name];
      if (!spec->repeatable) v.clear();  // the last one wins
      v.push_back(value);
    }
  }
  if (has("help")) {
    std::cout << help();
    return false;
  }
  return true;
}

bool Parser::has(const std::string& name) const {
  return values_.count(name) > 0;
}

std::string Parser::get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() || it->second.empty() ? fallback : it->second.back();
}

std::vector<std::string> Parser::all(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

long Parser::get_int(const std::string& name, long fallback) const {
  if (!has(name)) return fallback;
  const std::string v = get(name);
  try {
    size_t used = 0;
    const long r = std::stol(v, &used);
    if (used == v.size()) return r;
  } catch (const std::exception&) {
  }
  throw Error(command_ + ": --" + name + " expects an integer, got '" + v + "'");
}

double Parser::get_double(const std::string& name, double fallback) const {
  if (!has(name)) return fallback;
  const std::string v = get(name);
  try {
    size_t used = 0;
    const double r = std::stod(v, &used);
    if (used == v.size()) return r;
  } catch (const std::exception&) {
  }
  throw Error(command_ + ": --" + name + " expects a number, got '" + v + "'");
}

std::string Parser::help() const {
  constexpr size_t kColumn = 26;  // where option descriptions start
  const std::string indent(kColumn, ' ');
  std::string s =
      "usage: gaze " + command_ + " " + usage_ + "\n\n" + description_ + "\n\noptions:\n";
  for (const OptionSpec& o : specs_) {
    std::string left = "  --" + o.name + (o.value.empty() ? "" : " " + o.value);
    if (left.size() < kColumn)
      left.resize(kColumn, ' ');
    else
      left += "\n" + indent;
    // A description's own line breaks continue in the description column.
    std::string help = o.help;
    for (size_t at = help.find('\n'); at != std::string::npos; at = help.find('\n', at + 1)) {
      help.insert(at + 1, indent);
    }
    s += left + help + (o.repeatable ? " (repeatable)" : "") + "\n";
  }
  if (!epilog_.empty()) s += "\n" + epilog_ + "\n";
  return s;
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> items;
  for (size_t start = 0; start <= text.size();) {
    const size_t comma = std::min(text.find(',', start), text.size());
    items.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return items;
}

std::string join_wrapped(const std::vector<std::string>& items, size_t width) {
  std::string text;
  size_t column = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string item = items[i] + (i + 1 < items.size() ? "," : "");
    if (i > 0 && column + 1 + item.size() > width) {
      text += "\n";
      column = 0;
    } else if (i > 0) {
      text += " ";
      ++column;
    }
    text += item;
    column += item.size();
  }
  return text;
}

int report_error(const std::string& message) {
  std::fprintf(stderr, "gaze: error: %s\n", message.c_str());
  return 1;
}

}  // namespace gaze::cli
