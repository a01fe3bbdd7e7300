//===- fuzz_config.cpp - config.json (the compiler's reader) under libFuzzer ===//
//
// Input: a config.json text (the nested bitttt form or the original engine's
// flat form). parseModelConfig must end in a config or a named error.
//
//===----------------------------------------------------------------------===//
#include "bitttt/Frontend/ModelConfig.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  llvm::Expected<bitttt::ModelConfig> config =
      bitttt::parseModelConfig(text, "fuzz/config.json");
  if (!config)
    llvm::consumeError(config.takeError());
  return 0;
}
