//===- PassTarget.h - the target row an x86 pass works for ------*- C++ -*-===//
#ifndef BITTTT_LIB_TARGET_X86_PASSTARGET_H
#define BITTTT_LIB_TARGET_X86_PASSTARGET_H

#include "bitttt/Target/X86/CpuTarget.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/IR/Operation.h"
#include "mlir/IR/PatternMatch.h"

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

/// `op` tiled by `options` and replaced by the tiled loops: the tiling's
/// result, or failure (`op` unchanged).
inline FailureOr<scf::SCFTilingResult>
tileAndReplace(RewriterBase &rewriter, TilingInterface op,
               const scf::SCFTilingOptions &options) {
  rewriter.setInsertionPoint(op);
  FailureOr<scf::SCFTilingResult> tiled =
      scf::tileUsingSCF(rewriter, op, options);
  if (succeeded(tiled))
    rewriter.replaceOp(op, tiled->replacements);
  return tiled;
}

/// `op` tiled by `options` and its tile vectorized (linalg::vectorize):
/// the tiling's loops, outermost first. Where vectorization fails the
/// scalar tile stays (still correct); where tiling fails, `op` does.
inline FailureOr<SmallVector<LoopLikeOpInterface>>
tileAndVectorize(RewriterBase &rewriter, TilingInterface op,
                 const scf::SCFTilingOptions &options) {
  FailureOr<scf::SCFTilingResult> tiled = tileAndReplace(rewriter, op, options);
  if (failed(tiled))
    return failure();
  Operation *tile = tiled->tiledOps.back();
  rewriter.setInsertionPoint(tile);
  FailureOr<linalg::VectorizationResult> vectorized =
      linalg::vectorize(rewriter, tile);
  if (succeeded(vectorized))
    rewriter.replaceOp(tile, vectorized->replacements);
  return tiled->loops;
}

} // namespace mlir::bitttt

#endif // BITTTT_LIB_TARGET_X86_PASSTARGET_H
