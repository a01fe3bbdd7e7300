//===- fuzz_json_depth.cpp - the nesting scan against nlohmann's parser ----===//
//
// Input: any text. The scan of bitttt/Format/JsonDepth.h runs before every
// JSON parse; here it must never read out of bounds, and any text it passes
// must parse (or fail to parse) without nlohmann recursing past the limit:
// a passed text is parsed, copied and dumped, the recursive operations.
//
//===----------------------------------------------------------------------===//
#include "bitttt/Format/JsonDepth.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view text(reinterpret_cast<const char *>(data), size);
  if (!bitttt::format::jsonDepthError(text).empty())
    return 0;
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_discarded()) {
    nlohmann::json copy = j;
    (void)copy.dump();
  }
  return 0;
}
