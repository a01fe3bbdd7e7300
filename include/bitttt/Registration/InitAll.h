//===- InitAll.h - one registration point for every bitttt tool -*- C++ -*-===//
//
// Every tool (bitttt-opt, bitttt-compile, ...) registers the same world
// through these functions, so a pipeline that works in one works in all.
//
//===----------------------------------------------------------------------===//
#ifndef BITTTT_REGISTRATION_INITALL_H
#define BITTTT_REGISTRATION_INITALL_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace bitttt {

/// Upstream dialects, extensions and LLVM IR translations, plus ours.
void registerAllDialects(mlir::DialectRegistry &registry);

/// Upstream passes plus the bitttt passes and pipelines.
void registerAllPasses();

} // namespace bitttt

#endif // BITTTT_REGISTRATION_INITALL_H
