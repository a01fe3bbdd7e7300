//===- Regex.cpp - PCRE2 patterns and UTF-8 helpers -----------------------===//
#include "Regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdexcept>

using bitttt::format::ErrorCode;
using bitttt::format::Status;
using namespace bitttt::rt;

namespace {

std::string pcre2Message(int code) {
  PCRE2_UCHAR buffer[256];
  if (pcre2_get_error_message(code, buffer, sizeof buffer) < 0)
    return "PCRE2 error " + std::to_string(code);
  return reinterpret_cast<const char *>(buffer);
}

pcre2_code *code(void *p) { return static_cast<pcre2_code *>(p); }
pcre2_match_data *matchData(const MatchData &md) {
  return static_cast<pcre2_match_data *>(md.data());
}

} // namespace

MatchData::MatchData() : data_(pcre2_match_data_create(1, nullptr)) {
  if (!data_)
    throw std::bad_alloc();
}

MatchData::~MatchData() { pcre2_match_data_free(matchData(*this)); }

Status Regex::compile(const std::string &pattern, bool literal,
                      std::unique_ptr<Regex> &out) {
  uint32_t options = PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF;
  if (literal)
    options |= PCRE2_LITERAL;
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code *c =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()),
                    pattern.size(), options, &error, &offset, nullptr);
  if (!c)
    return Status::error(ErrorCode::Format,
                         "the regex does not compile at offset " +
                             std::to_string(offset) + ": " +
                             pcre2Message(error));
  std::unique_ptr<Regex> re(new Regex());
  re->code_ = c;
  re->jit_ = pcre2_jit_compile(c, PCRE2_JIT_COMPLETE) == 0;
  out = std::move(re);
  return Status::ok();
}

Regex::~Regex() { pcre2_code_free(code(code_)); }

bool Regex::find(std::string_view text, size_t start, MatchData &md,
                 size_t &begin, size_t &end) const {
  auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  pcre2_match_data *data = matchData(md);
  int rc = PCRE2_ERROR_JIT_STACKLIMIT;
  if (jit_)
    rc = pcre2_jit_match(code(code_), subject, text.size(), start, 0, data,
                         nullptr);
  // The JIT's default stack is small; the interpreter keeps its
  // backtracking state on the heap.
  if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
    rc =
        pcre2_match(code(code_), subject, text.size(), start, 0, data, nullptr);
  if (rc == PCRE2_ERROR_NOMATCH)
    return false;
  if (rc < 0)
    throw std::runtime_error("pre-tokenizer regex: " + pcre2Message(rc));
  const PCRE2_SIZE *ovector = pcre2_get_ovector_pointer(data);
  begin = ovector[0];
  end = ovector[1];
  return true;
}

int32_t bitttt::rt::utf8At(std::string_view text, size_t at, size_t &length) {
  length = 1;
  auto byte = [&](size_t i) { return uint8_t(text[i]); };
  uint8_t b0 = byte(at);
  if (b0 < 0x80)
    return b0;
  size_t n = b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : b0 >= 0xC2 ? 2 : 0;
  if (n == 0 || b0 > 0xF4 || at + n > text.size())
    return -1;
  int32_t cp = b0 & (0x7F >> n);
  for (size_t i = 1; i < n; ++i) {
    uint8_t b = byte(at + i);
    if ((b & 0xC0) != 0x80)
      return -1;
    cp = cp << 6 | (b & 0x3F);
  }
  // Overlong forms, surrogates and code points past U+10FFFF are invalid.
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return -1;
  length = n;
  return cp;
}

size_t bitttt::rt::utf8Length(std::string_view text, size_t at) {
  size_t length = 1;
  utf8At(text, at, length);
  return length;
}

int32_t bitttt::rt::utf8Before(std::string_view text, size_t end,
                               size_t &length) {
  length = 0;
  if (end == 0)
    return -1;
  size_t start = end - 1;
  while (start > 0 && end - start < 4 && (uint8_t(text[start]) & 0xC0) == 0x80)
    --start;
  size_t n = 0;
  int32_t cp = utf8At(text, start, n);
  if (cp < 0 || start + n != end)
    return -1;
  length = n;
  return cp;
}

bool bitttt::rt::isWhiteSpace(int32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 ||
         cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
         cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

bool bitttt::rt::isWordChar(int32_t cp) {
  if (cp < 0)
    return false;
  if (cp < 0x80)
    return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') ||
           (cp >= 'A' && cp <= 'Z') || cp == '_';
  static const std::unique_ptr<Regex> word = [] {
    std::unique_ptr<Regex> re;
    Status s = Regex::compile(
        "\\A[\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\x{200C}\\x{200D}]", false,
        re);
    if (!s)
      throw std::runtime_error(s.message());
    return re;
  }();
  char utf8[4];
  size_t n = 0;
  if (cp < 0x800) {
    utf8[n++] = char(0xC0 | cp >> 6);
  } else if (cp < 0x10000) {
    utf8[n++] = char(0xE0 | cp >> 12);
    utf8[n++] = char(0x80 | (cp >> 6 & 0x3F));
  } else {
    utf8[n++] = char(0xF0 | cp >> 18);
    utf8[n++] = char(0x80 | (cp >> 12 & 0x3F));
    utf8[n++] = char(0x80 | (cp >> 6 & 0x3F));
  }
  utf8[n++] = char(0x80 | (cp & 0x3F));
  MatchData md;
  size_t begin = 0, end = 0;
  return word->find(std::string_view(utf8, n), 0, md, begin, end);
}
