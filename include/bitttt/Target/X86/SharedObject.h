//===- SharedObject.h - LLVM dialect → x86-64 shared object -----*- C++ -*-===//
#ifndef BITTTT_TARGET_X86_SHAREDOBJECT_H
#define BITTTT_TARGET_X86_SHAREDOBJECT_H

#include "bitttt/Target/X86/CpuTarget.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/Timing.h"
#include "llvm/Support/Error.h"

#include <string>

namespace bitttt {

/// Translates a module in the LLVM dialect to LLVM IR, optimizes it at -O3
/// for `target`, emits an ELF object and links it (ld.lld) into a shared
/// object. Returns the shared object's bytes. With `timing`, each step
/// (translation, every -O3 pass, codegen, link) is timed in a nested scope.
/// Safe to call from several threads at once for different modules (each
/// call has its own LLVMContext and TargetMachine).
llvm::Expected<std::string>
buildSharedObject(mlir::ModuleOp module, const x86::CpuTarget &target,
                  mlir::TimingScope *timing = nullptr);

/// The module as LLVM IR text optimized for `target` (for --emit=llvm).
llvm::Expected<std::string> buildLLVMIR(mlir::ModuleOp module,
                                        const x86::CpuTarget &target,
                                        mlir::TimingScope *timing = nullptr);

} // namespace bitttt

#endif // BITTTT_TARGET_X86_SHAREDOBJECT_H
