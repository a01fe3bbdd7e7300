//===- MlirDepth.h - the nesting limit of the MLIR text we read -*- C++ -*-===//
//
// MLIR's parser recurses per nesting level (a parenthesis, a type's `<`, a
// region's `{`): 19,000 `(` in a function signature overflow an 8 MiB
// stack inside libMLIR (fuzz_mlir found it). The readers of MLIR text —
// bitttt-opt and fuzz_mlir — scan it with this header first and refuse more
// than kMaxMlirDepth levels before the parser sees it, as JsonDepth.h does
// for JSON. Real modules nest a few dozen levels at most (regions of loops
// in functions, types inside types).
//
// Counted: ( [ { < and their closers outside strings ("…", with escapes)
// and // comments; `->`, `<=` and `>=` are not brackets. A stray `<` can
// only raise the count, so nothing deeper than the limit gets through.
//
//===----------------------------------------------------------------------===//
#ifndef BITTTT_REGISTRATION_MLIRDEPTH_H
#define BITTTT_REGISTRATION_MLIRDEPTH_H

#include <cstddef>
#include <string>
#include <string_view>

namespace bitttt {

/// Brackets nested deeper than this are refused.
inline constexpr int kMaxMlirDepth = 256;

/// "nests brackets deeper than 256 levels (line L, column C)" for the first
/// bracket that opens level maxDepth + 1 of `text`, or "" when the text
/// nests no deeper. Not a validator: malformed text is left to the parser.
inline std::string mlirDepthError(std::string_view text,
                                  int maxDepth = kMaxMlirDepth) {
  int depth = 0;
  size_t line = 1, lineStart = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    char next = i + 1 < text.size() ? text[i + 1] : '\0';
    if (c == '\n') {
      ++line;
      lineStart = i + 1;
    } else if (c == '"') {
      for (++i; i < text.size() && text[i] != '"' && text[i] != '\n'; ++i)
        if (text[i] == '\\')
          ++i;
      if (i < text.size() && text[i] == '\n')
        --i; // the newline is counted above
    } else if (c == '/' && next == '/') {
      while (i + 1 < text.size() && text[i + 1] != '\n')
        ++i;
    } else if (c == '-' && next == '>') {
      ++i;
    } else if ((c == '<' || c == '>') && next == '=') {
      ++i;
    } else if (c == '(' || c == '[' || c == '{' || c == '<') {
      if (++depth > maxDepth)
        return "nests brackets deeper than " + std::to_string(maxDepth) +
               " levels (line " + std::to_string(line) + ", column " +
               std::to_string(i - lineStart + 1) + ")";
    } else if ((c == ')' || c == ']' || c == '}' || c == '>') && depth > 0) {
      --depth;
    }
  }
  return {};
}

} // namespace bitttt

#endif // BITTTT_REGISTRATION_MLIRDEPTH_H
