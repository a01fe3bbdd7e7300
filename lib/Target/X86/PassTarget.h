//===- PassTarget.h - the target row an x86 pass works for ------*- C++ -*-===//
#ifndef BITTTT_LIB_TARGET_X86_PASSTARGET_H
#define BITTTT_LIB_TARGET_X86_PASSTARGET_H

#include "bitttt/Target/X86/CpuTarget.h"

#include "mlir/IR/Operation.h"

namespace mlir::bitttt {

/// The CpuTargets.def row called `name` for the pass `pass`; nullptr after
/// an error on `op` that lists the known targets.
inline const ::bitttt::x86::CpuTarget *
targetForPass(Operation *op, StringRef pass, const std::string &name) {
  const ::bitttt::x86::CpuTarget *cpu = ::bitttt::x86::lookupCpuTarget(name);
  if (!cpu)
    op->emitError() << pass << ": unknown target '" << name
                    << "' (known: " << ::bitttt::x86::cpuTargetNames() << ")";
  return cpu;
}

} // namespace mlir::bitttt

#endif // BITTTT_LIB_TARGET_X86_PASSTARGET_H
