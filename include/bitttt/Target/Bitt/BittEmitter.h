//===- BittEmitter.h - compiled model → .bitt v2 ----------------*- C++ -*-===//
#ifndef BITTTT_TARGET_BITTEMITTER_H
#define BITTTT_TARGET_BITTEMITTER_H

#include "bitttt/Format/BittFile.h"
#include "bitttt/Frontend/ModelConfig.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <map>
#include <string>
#include <vector>

namespace bitttt {

/// One buffer of a compiled entry point (docs/abi.md).
struct AbiValue {
  std::string role; ///< "io" | "tensor" | "state"
  std::string name;
  std::string dtype; ///< safetensors dtype name
  std::vector<int64_t> shape;
};

struct FunctionAbi {
  std::string name;
  std::string symbol;
  int64_t tokens = 0;
  std::vector<AbiValue> inputs, outputs;
};

/// Reads the entry ABI of @prefill and @decode from a module at the tensor
/// level after weight packing (argument attributes name every value).
llvm::Expected<std::vector<FunctionAbi>> collectAbi(mlir::ModuleOp module);

struct BittContents {
  std::string configJson;    ///< config.json as read
  std::string tokenizerJson; ///< tokenizer.json, or empty
  const ModelConfig *config = nullptr;
  const format::BittFile *checkpoint = nullptr;
  std::vector<FunctionAbi> functions;
  std::map<std::string, std::string> artifacts; ///< target → shared object
};

/// Packs the checkpoint's BitLinear weights (i2_b128 + γ), gathers every
/// tensor the entry points read and writes a `.bitt` v2 atomically.
llvm::Error writeBitt(llvm::StringRef path, const BittContents &contents);

} // namespace bitttt

#endif // BITTTT_TARGET_BITTEMITTER_H
