//===- fuzz_tokens.cpp - token files (bitttt-run train/eval) under libFuzzer ===//
//
// Input: one byte choosing the id width (bit 0: u32) and whether an empty
// file is allowed (bit 1), two bytes of vocabulary size, then the file's
// bytes. bitttt-run's TokenFile must end in a mapping whose every id is
// below the vocabulary, or an Error naming the file.
//
//===----------------------------------------------------------------------===//
#include "../../tools/bitttt-run/Common.h"
#include "FuzzFile.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 3)
    return 0;
  int width = data[0] & 1 ? 4 : 2;
  bool allowEmpty = data[0] & 2;
  size_t vocab = size_t(data[1] | data[2] << 8) + 1;
  const std::string &path = bitttt::fuzz::asFile(data + 3, size - 3);
  try {
    bitttt::run::TokenFile file(path, width, vocab, allowEmpty);
    if (file.count != int64_t((size - 3) / size_t(width)))
      std::abort();
    for (int64_t i = 0; i < file.count; ++i)
      if (file.at(i) >= vocab)
        std::abort();
  } catch (const bitttt::run::Error &) {
  }
  return 0;
}
