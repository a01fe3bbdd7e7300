//===- Regex.h - PCRE2 patterns and UTF-8 helpers (internal) ----*- C++ -*-===//
//
// The pre-tokenizers' regexes run on PCRE2 (UTF + UCP, JIT when available)
// with PCRE2_MATCH_INVALID_UTF: invalid bytes never match, so they fall in
// the gaps between matches and still reach the byte-level model.
//
//===----------------------------------------------------------------------===//
#ifndef BITTTT_RUNTIME_REGEX_H
#define BITTTT_RUNTIME_REGEX_H

#include "bitttt/Format/BittFile.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace bitttt::rt {

/// Match state of one thread (PCRE2 match data); reused across patterns.
class MatchData {
public:
  MatchData();
  ~MatchData();
  MatchData(const MatchData &) = delete;
  MatchData &operator=(const MatchData &) = delete;
  void *data() const { return data_; }

private:
  void *data_;
};

/// A compiled pattern; matching is const and thread-safe.
class Regex {
public:
  /// Compiles `pattern` (a literal string when `literal`); the error
  /// message says what PCRE2 rejects and where.
  static format::Status compile(const std::string &pattern, bool literal,
                                std::unique_ptr<Regex> &out);
  ~Regex();
  Regex(const Regex &) = delete;
  Regex &operator=(const Regex &) = delete;

  /// The first match at or after byte `start`; false when there is none.
  /// Throws std::runtime_error when PCRE2 gives up (a resource limit).
  bool find(std::string_view text, size_t start, MatchData &md, size_t &begin,
            size_t &end) const;

  /// Calls f(begin, end, isMatch) for every match and every gap between
  /// matches, in order, covering `text` (empty matches are reported too;
  /// the search then moves on by one character, as Oniguruma's does).
  template <typename F>
  void forEachSplit(std::string_view text, MatchData &md, F &&f) const;

private:
  Regex() = default;
  void *code_ = nullptr;
  bool jit_ = false;
};

/// Length of the UTF-8 character at `at` (1 for an invalid byte).
size_t utf8Length(std::string_view text, size_t at);
/// The code point at `at` and its length; -1 (length 1) for an invalid byte.
int32_t utf8At(std::string_view text, size_t at, size_t &length);
/// The code point of the character that ends at `end`, -1 if the bytes
/// before `end` are not a valid character (or end is 0); its length.
int32_t utf8Before(std::string_view text, size_t end, size_t &length);
/// Unicode White_Space (Rust's char::is_whitespace, regex `\s`).
bool isWhiteSpace(int32_t cp);
/// Rust regex `\w`: Alphabetic, Mark, Decimal_Number, Connector_Punctuation
/// or Join_Control.
bool isWordChar(int32_t cp);

template <typename F>
void Regex::forEachSplit(std::string_view text, MatchData &md, F &&f) const {
  size_t prev = 0, at = 0, begin = 0, end = 0;
  while (at <= text.size() && find(text, at, md, begin, end)) {
    if (begin > prev)
      f(prev, begin, false);
    f(begin, end, true);
    prev = end;
    if (end > begin)
      at = end;
    else if (begin < text.size())
      at = begin + utf8Length(text, begin);
    else
      break;
  }
  if (prev < text.size())
    f(prev, text.size(), false);
}

} // namespace bitttt::rt

#endif // BITTTT_RUNTIME_REGEX_H
