//===- Passes.td - bitttt passes ---------------------------*- tablegen -*-===//

#ifndef BITTTT_TRANSFORMS_PASSES_TD
#define BITTTT_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def BitTTTDecompose : Pass<"bitttt-decompose", "mlir::func::FuncOp"> {
  let summary = "Decompose high-level bitttt ops into linalg, tensor, arith and math";
  let description = [{
    Rewrites the norm, quantization, BitLinear (latent f32 weights), SwiGLU,
    embedding and LM-head ops into `linalg.generic`s on tensors with the
    exact numerics of DESIGN.md §1: round-half-to-even quantizers, int32
    dot products for int8 activations, `(dot · γ) / s` scaling. BitLinear ops
    on packed weights are left for the packed-kernel lowering.
  }];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::linalg::LinalgDialect",
    "mlir::math::MathDialect", "mlir::tensor::TensorDialect",
    "mlir::scf::SCFDialect"
  ];
}

#endif // BITTTT_TRANSFORMS_PASSES_TD
