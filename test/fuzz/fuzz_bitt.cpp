//===- fuzz_bitt.cpp - the .bitt / .safetensors reader under libFuzzer ----===//
//
// Input: the bytes of a file. Runs what bitttt_model_load runs before any
// compiled code is mapped: the container reader (prefix, BITT header,
// safetensors header, every tensor entry, the "bitttt" section) and, for a
// v2 file, the model description the runtime derives from it (functions,
// buffers, states, LM head, artifacts) and the header tokenizer. Every input
// must end in ok or a Status; a crash, a leak or undefined behaviour is a
// finding.
//
//===----------------------------------------------------------------------===//
#include "ModelSpec.h"
#include "Tokenizer.h"
#include "bitttt/Format/BittFile.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace bitttt;
  std::unique_ptr<format::BittFile> file;
  std::string bytes(reinterpret_cast<const char *>(data), size);
  if (!format::BittFile::openBytes("fuzz.bitt", std::move(bytes), file))
    return 0;
  for (const format::TensorInfo &t : file->tensors())
    if (t.dtype == "F32")
      (void)format::checkFinite(*file, t);
  if (file->version() == 2) {
    rt::ModelSpec spec;
    (void)rt::parseModelSpec(*file, spec);
  }
  // The header tokenizer, as the model loader reads it.
  nlohmann::json header = nlohmann::json::parse(file->headerJson(), nullptr,
                                                /*allow_exceptions=*/false);
  if (header.is_object())
    if (auto tok = header.find("tokenizer");
        tok != header.end() && tok->is_object()) {
      std::unique_ptr<bitttt_tokenizer> tokenizer;
      (void)rt::loadTokenizer(*tok, "fuzz.bitt", "tokenizer.", tokenizer);
    }
  return 0;
}
