//===- Quantize.h - the BitLinear quantizers as linalg on tensors -*- C++ -*-//
//
// DESIGN.md §1's two quantizers, written once: the plain `act_quant` and the
// fused `rms_norm_act_quant` share the activation quantizer (only how an
// element is produced differs), and `weight_quant` / latent BitLinears share
// the weight quantizer.
//
//===----------------------------------------------------------------------===//
#ifndef BITTTT_TRANSFORMS_QUANTIZE_H
#define BITTTT_TRANSFORMS_QUANTIZE_H

#include "bitttt/Transforms/Builders.h"

#include <utility>

namespace mlir::bitttt {

/// Per-row int8 activation quantizer of a [T, K] value x, given as
/// element(inputs...) over `inputs` indexed by `maps` from (t, k):
/// s = 127 / max(max|x|, 1e-5) per row, codes = clamp(roundeven(x·s),
/// -128, 127) as i8. `sizes` are [T, K]. The element is recomputed for the
/// max and for the codes, so a fused producer never stores x. Returns
/// (codes [T, K] i8, s [T] f32).
std::pair<Value, Value>
buildActQuant(TensorBuilder &tb, ArrayRef<OpFoldResult> sizes,
              ValueRange inputs, ArrayRef<AffineMap> maps,
              function_ref<Value(ImplicitLocOpBuilder &, ValueRange)> element);

/// buildActQuant of a plain [T, K] tensor.
std::pair<Value, Value> buildActQuant(TensorBuilder &tb, Value x);

/// γ = max(mean|W|, 1e-5) over a [R, K] weight, the sum in f64 in memory
/// order as format::ternaryScale does it (so compiled and packed γ agree
/// bit for bit); codes = clamp(roundeven(W/γ), -1, 1) as i8. Returns
/// (codes [R, K] i8, γ f32 scalar).
std::pair<Value, Value> buildWeightQuant(TensorBuilder &tb, Value w);

} // namespace mlir::bitttt

#endif // BITTTT_TRANSFORMS_QUANTIZE_H
