//===- JsonDepth.h - the nesting limit of every JSON text we read -*- C++
//-*-===//
//
// Both JSON libraries we use recurse per nesting level somewhere: LLVM's
// `llvm::json::parse` while parsing, nlohmann's json when copying, comparing
// or dumping a value. 50,000 `[` overflow an 8 MiB stack. Every JSON text the
// compiler, the runtime and the tools read (config.json, safetensors and .bitt
// headers, tokenizer.json, artifact ABI descriptions, checkpoint metadata,
// session files, JSONL data, --config files) is scanned by this header first
// and refused above kMaxJsonDepth levels, before any library sees it.
// Legitimate files nest at most ~6 levels (tokenizer.json's merges).
//
// Header-only and dependency-free: the tools, the runtime and the compiler
// use it without linking anything new.
//
//===----------------------------------------------------------------------===//
#ifndef BITTTT_FORMAT_JSONDEPTH_H
#define BITTTT_FORMAT_JSONDEPTH_H

#include <cstddef>
#include <string>
#include <string_view>

namespace bitttt::format {

/// Arrays and objects nested deeper than this are refused.
inline constexpr int kMaxJsonDepth = 128;

/// The byte offset of the first `[` or `{` (outside strings) that opens
/// level kMaxJsonDepth + 1 of `text`, or std::string_view::npos when the
/// text nests no deeper than the limit. Not a validator: malformed text is
/// left to the parser.
inline size_t jsonTooDeepAt(std::string_view text,
                            int maxDepth = kMaxJsonDepth) {
  int depth = 0;
  bool inString = false, escaped = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (inString) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        inString = false;
      continue;
    }
    if (c == '"') {
      inString = true;
    } else if (c == '[' || c == '{') {
      if (++depth > maxDepth)
        return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::string_view::npos;
}

/// "nests arrays/objects deeper than 128 levels (at byte N)", or "" when
/// `text` is within the limit; the caller prefixes the file and what it is.
inline std::string jsonDepthError(std::string_view text,
                                  int maxDepth = kMaxJsonDepth) {
  size_t at = jsonTooDeepAt(text, maxDepth);
  if (at == std::string_view::npos)
    return {};
  return "nests arrays/objects deeper than " + std::to_string(maxDepth) +
         " levels (at byte " + std::to_string(at) + ")";
}

} // namespace bitttt::format

#endif // BITTTT_FORMAT_JSONDEPTH_H
