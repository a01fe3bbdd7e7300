//===- CpuArtifact.h - LLVM dialect → x86-64 shared object ------*- C++ -*-===//
#ifndef BITTTT_TARGET_CPUARTIFACT_H
#define BITTTT_TARGET_CPUARTIFACT_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <string>

namespace bitttt {

/// CPU levels a `.bitt` can carry code for (docs/abi.md).
struct CpuTarget {
  const char *name;     ///< "x86-64-v3" | "x86-64-v4"
  const char *cpu;      ///< LLVM CPU name
  const char *features; ///< extra LLVM target features
};

/// The target called `name`, or nullptr.
const CpuTarget *lookupCpuTarget(llvm::StringRef name);
/// Every supported target, best first.
llvm::ArrayRef<CpuTarget> cpuTargets();

/// Translates a module in the LLVM dialect to LLVM IR, optimizes it at -O3
/// for `target`, emits an ELF object and links it (ld.lld) into a shared
/// object. Returns the shared object's bytes.
llvm::Expected<std::string> buildSharedObject(mlir::ModuleOp module,
                                              const CpuTarget &target);

/// The module as LLVM IR text optimized for `target` (for --emit=llvm).
llvm::Expected<std::string> buildLLVMIR(mlir::ModuleOp module,
                                        const CpuTarget &target);

} // namespace bitttt

#endif // BITTTT_TARGET_CPUARTIFACT_H
