//===- SharedObject.h - LLVM dialect → x86-64 shared object -----*- C++ -*-===//
#ifndef BITTTT_TARGET_X86_SHAREDOBJECT_H
#define BITTTT_TARGET_X86_SHAREDOBJECT_H

#include "bitttt/Target/X86/CpuTarget.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <string>

namespace bitttt {

/// Translates a module in the LLVM dialect to LLVM IR, optimizes it at -O3
/// for `target`, emits an ELF object and links it (ld.lld) into a shared
/// object. Returns the shared object's bytes.
llvm::Expected<std::string> buildSharedObject(mlir::ModuleOp module,
                                              const x86::CpuTarget &target);

/// The module as LLVM IR text optimized for `target` (for --emit=llvm).
llvm::Expected<std::string> buildLLVMIR(mlir::ModuleOp module,
                                        const x86::CpuTarget &target);

} // namespace bitttt

#endif // BITTTT_TARGET_X86_SHAREDOBJECT_H
