//===- fuzz_tokenizer.cpp - tokenizer.json under libFuzzer ----------------===//
//
// Input: a tokenizer.json text. Parses it (bitttt_tokenizer_load's path);
// a tokenizer that loads then encodes a fixed text and its own spelling of
// the input's first bytes, and decodes the ids back.
//
//===----------------------------------------------------------------------===//
#include "Tokenizer.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace bitttt;
  std::string_view text(reinterpret_cast<const char *>(data), size);
  std::unique_ptr<bitttt_tokenizer> t;
  if (!rt::parseTokenizer(text, "fuzz/tokenizer.json", t))
    return 0;
  std::vector<int32_t> ids;
  t->encode("Hello, world! 123 \xc3\xa9\xe2\x82\xac <|endoftext|>", true, ids);
  t->encode(text.substr(0, 64), false, ids);
  std::string back;
  size_t bad = 0;
  (void)t->decode(ids.data(), ids.size(), false, back, bad);
  return 0;
}
