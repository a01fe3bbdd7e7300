//===- Options.h - bitttt-run's small command-line parser ------*- C++ -*-===//
//
// bitttt-run links no LLVM, so instead of llvm::cl it has this: per
// subcommand a list of options ("--name VALUE", "--name=VALUE", an optional
// short alias, flags without a value), positional arguments, and a --help
// text generated from the same list.
//
//===----------------------------------------------------------------------===//
#ifndef BITTTT_RUN_OPTIONS_H
#define BITTTT_RUN_OPTIONS_H

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace bitttt::run {

struct Option {
  std::string name;  ///< "--ids"
  std::string alias; ///< "-n", or empty
  std::string value; ///< "LIST" for an option with a value, empty for a flag
  std::string help;
};

class Command {
public:
  Command(std::string name, std::string usage, std::string summary,
          std::vector<Option> options);

  /// Parses args[first..]; false with `error` set on an unknown option, a
  /// missing value or a repeated option. --help/-h set wantsHelp().
  bool parse(const std::vector<std::string> &args, size_t first,
             std::string &error);

  bool wantsHelp() const { return help_; }
  bool has(const std::string &name) const { return values_.count(name) != 0; }
  /// The value of option `name` ("--ids"), or `fallback`.
  std::string get(const std::string &name,
                  const std::string &fallback = "") const;
  const std::vector<std::string> &positional() const { return positional_; }
  /// Usage line, summary and one paragraph per option.
  std::string helpText() const;

private:
  const Option *find(const std::string &spelling) const;

  std::string name_, usage_, summary_;
  std::vector<Option> options_;
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
  bool help_ = false;
};

/// Parses a decimal integer in [min, max]; false on anything else.
bool parseInteger(const std::string &text, int64_t min, int64_t max,
                  int64_t &out);

} // namespace bitttt::run

#endif // BITTTT_RUN_OPTIONS_H
