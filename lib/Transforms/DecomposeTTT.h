//===- DecomposeTTT.h - TTT layers → token loops ----------------*- C++ -*-===//
#ifndef BITTTT_TRANSFORMS_DECOMPOSETTT_H
#define BITTTT_TRANSFORMS_DECOMPOSETTT_H

#include "mlir/IR/PatternMatch.h"

namespace mlir::bitttt {

/// ttt_linear and ttt_seed → BitLinears, LayerNorms and an scf.for over
/// tokens carrying the fast-weight state (see DecomposeTTT.cpp).
void populateTTTDecompositionPatterns(RewritePatternSet &patterns);

/// swiglu → BitLinears (gate, up, down) and silu_mul (Decompose.cpp).
void populateSwiGLUDecompositionPattern(RewritePatternSet &patterns);

} // namespace mlir::bitttt

#endif // BITTTT_TRANSFORMS_DECOMPOSETTT_H
