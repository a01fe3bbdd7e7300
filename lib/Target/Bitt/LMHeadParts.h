//===- LMHeadParts.h - the LM head's tensors of a .bitt ---------*- C++ -*-===//
//
// What the emitter stores for the LM head: the f32 `lm_head.weight` as it
// is, or the parts of a compact head (`bitttt.packed` layout lm_head_bf16 or
// lm_head_int8) derived from it by the container library (LMHead.h), or
// copied from a compact head the input .bitt already holds; and the
// header's `bitttt.lm_head` that says which (docs/lm-head.md).
//
//===----------------------------------------------------------------------===//
#ifndef BITTTT_LIB_TARGET_BITT_LMHEADPARTS_H
#define BITTTT_LIB_TARGET_BITT_LMHEADPARTS_H

#include "bitttt/Format/BittFile.h"
#include "bitttt/Format/LMHead.h"
#include "bitttt/Frontend/ModelBuilder.h"
#include "bitttt/Target/CPU/EntryAbi.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <optional>
#include <string>
#include <vector>

namespace bitttt {

class LMHeadParts {
public:
  LMHeadParts(const format::BittFile &checkpoint, const LMHeadSource *source)
      : checkpoint(checkpoint), source(source) {}

  /// Whether `b` is the LM head or a part of it.
  static bool isHead(const AbiBuffer &b);
  /// Appends the data of `b` (isHead) to `tensors`; `where` names the buffer.
  llvm::Error add(const std::string &where, const AbiBuffer &b,
                  std::vector<format::TensorData> &tensors);
  /// The header's `bitttt.lm_head`: format, rows, cols and its parts.
  llvm::json::Value header() const;

private:
  const format::BittFile &checkpoint;
  const LMHeadSource *source;
  std::optional<format::LMHeadFormat> format;
  int64_t rows = 0, cols = 0;
  llvm::json::Object parts;
  std::vector<uint16_t> bf16;
  format::Int8LMHead int8;
  bool quantized = false;
};

} // namespace bitttt

#endif // BITTTT_LIB_TARGET_BITT_LMHEADPARTS_H
