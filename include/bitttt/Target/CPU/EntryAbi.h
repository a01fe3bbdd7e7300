//===- EntryAbi.h - what a CPU artifact's entry points take -----*- C++ -*-===//
//
// What `bitttt-emit-entry-points` knows of every entry function and writes
// into the artifact as the JSON string `bitttt_abi` (docs/abi.md): per
// function its symbol and, for each buffer in call order, the direction,
// role, name, dtype, shape, the valid range of a state value and, for the
// parts of a packed weight, which weight and part. bitttt-compile reads it
// back from the lowered module to write the .bitt header's functions, so
// the header and the code come from one description, and the runtime
// compares the two at load.
//
//===----------------------------------------------------------------------===//
#ifndef BITTTT_TARGET_CPU_ENTRYABI_H
#define BITTTT_TARGET_CPU_ENTRYABI_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <optional>
#include <string>
#include <vector>

namespace bitttt {

struct AbiBuffer {
  std::string role;  ///< "io" | "tensor" | "state"
  std::string name;  ///< the bitttt.io / bitttt.tensor / bitttt.state name
  std::string dtype; ///< safetensors dtype name
  std::vector<int64_t> shape;
  /// bitttt.range: valid values [first, second) of a state.
  std::optional<std::pair<int64_t, int64_t>> range;
  /// bitttt.packed: the latent weight this is a part of, the part ("codes"
  /// or "scale") and the layout; empty for other buffers.
  std::string packedWeight, packedPart, packedLayout;
};

struct AbiFunction {
  std::string name;   ///< the model function ("prefill", "decode")
  std::string symbol; ///< its entry point, "bitttt_entry_<name>"
  std::vector<AbiBuffer> inputs, outputs;
};

struct EntryAbi {
  int version = 0; ///< BITTTT_ARTIFACT_ABI_VERSION it was compiled for
  std::vector<AbiFunction> functions;
  const AbiFunction *function(llvm::StringRef name) const;
};

/// The symbol of the artifact's description (BITTTT_ARTIFACT_ABI_SYMBOL).
llvm::StringRef entryAbiSymbol();

llvm::json::Value toJson(const AbiBuffer &buffer);
llvm::json::Value toJson(const EntryAbi &abi);
/// Parses the JSON `toJson(EntryAbi)` writes; messages name the field.
llvm::Expected<EntryAbi> parseEntryAbi(llvm::StringRef text);

/// The description a lowered module carries: the `bitttt_abi` global of
/// `bitttt-emit-entry-points`, parsed.
llvm::Expected<EntryAbi> readEntryAbi(mlir::ModuleOp module);

} // namespace bitttt

#endif // BITTTT_TARGET_CPU_ENTRYABI_H
