//===- Options.cpp - bitttt-run's small command-line parser ---------------===//
#include "Options.h"

#include <cerrno>
#include <cstdlib>

namespace bitttt::run {

Command::Command(std::string name, std::string usage, std::string summary,
                 std::vector<Option> options)
    : name_(std::move(name)), usage_(std::move(usage)),
      summary_(std::move(summary)), options_(std::move(options)) {}

const Option *Command::find(const std::string &spelling) const {
  for (const Option &o : options_)
    if (spelling == o.name || (!o.alias.empty() && spelling == o.alias))
      return &o;
  return nullptr;
}

bool Command::parse(const std::vector<std::string> &args, size_t first,
                    std::string &error) {
  bool onlyPositional = false;
  for (size_t i = first; i < args.size(); ++i) {
    const std::string &arg = args[i];
    if (onlyPositional || arg.size() < 2 || arg[0] != '-') {
      positional_.push_back(arg);
      continue;
    }
    if (arg == "--") {
      onlyPositional = true;
      continue;
    }
    if (arg == "--help" || arg == "-h") {
      help_ = true;
      continue;
    }
    std::string spelling = arg, value;
    bool inlineValue = false;
    if (size_t eq = arg.find('=');
        arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      spelling = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      inlineValue = true;
    }
    const Option *option = find(spelling);
    if (!option) {
      error = name_ + ": unknown option '" + spelling + "' (see --help)";
      return false;
    }
    if (option->value.empty()) {
      if (inlineValue) {
        error = name_ + ": option '" + option->name + "' takes no value";
        return false;
      }
    } else if (!inlineValue) {
      if (i + 1 >= args.size()) {
        error = name_ + ": option '" + option->name + "' needs a value (" +
                option->value + ")";
        return false;
      }
      value = args[++i];
    }
    if (!values_.emplace(option->name, value).second) {
      error = name_ + ": option '" + option->name + "' is given twice";
      return false;
    }
  }
  return true;
}

std::string Command::get(const std::string &name,
                         const std::string &fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

std::string Command::helpText() const {
  std::string out = "usage: " + usage_ + "\n\n" + summary_ + "\n\noptions:\n";
  auto add = [&](const std::string &spelling, const std::string &help) {
    out += "  " + spelling + "\n";
    // Wrap the help at ~72 columns, indented under the option.
    std::string line;
    size_t start = 0;
    while (start < help.size()) {
      size_t space = help.find(' ', start);
      std::string word =
          help.substr(start, space == std::string::npos ? std::string::npos
                                                        : space - start);
      if (!line.empty() && line.size() + 1 + word.size() > 68) {
        out += "      " + line + "\n";
        line.clear();
      }
      line += (line.empty() ? "" : " ") + word;
      if (space == std::string::npos)
        break;
      start = space + 1;
    }
    if (!line.empty())
      out += "      " + line + "\n";
  };
  for (const Option &o : options_) {
    std::string spelling = o.name;
    if (!o.alias.empty())
      spelling = o.alias + ", " + spelling;
    if (!o.value.empty())
      spelling += " " + o.value;
    add(spelling, o.help);
  }
  add("-h, --help", "Print this help and exit.");
  return out;
}

bool parseInteger(const std::string &text, int64_t min, int64_t max,
                  int64_t &out) {
  if (text.empty() || text.size() > 20)
    return false;
  size_t i = text[0] == '-' ? 1 : 0;
  if (i == text.size())
    return false;
  for (size_t j = i; j < text.size(); ++j)
    if (text[j] < '0' || text[j] > '9')
      return false;
  errno = 0;
  char *end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno == ERANGE || *end != '\0' || v < min || v > max)
    return false;
  out = v;
  return true;
}

} // namespace bitttt::run
