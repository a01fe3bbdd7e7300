//===- Passes.td - target-independent bitttt passes -------*- tablegen -*-===//

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
    on packed weights are left for the packed-kernel lowering. With
    `layers-only`, only TTT and SwiGLU are rewritten (into BitLinears,
    LayerNorms, `silu_mul` and loops), so that weight packing and the fusion
    passes see the BitLinears and norms.
  }];
  let options = [
    Option<"layersOnly", "layers-only", "bool", /*default=*/"false",
           "Only decompose the layer ops (TTT, SwiGLU)">
  ];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::linalg::LinalgDialect",
    "mlir::math::MathDialect", "mlir::tensor::TensorDialect",
    "mlir::scf::SCFDialect", "mlir::vector::VectorDialect",
    "mlir::bufferization::BufferizationDialect"
  ];
}

def BitTTTPackWeights : Pass<"bitttt-pack-weights", "mlir::ModuleOp"> {
  let summary = "Turn latent BitLinear weight arguments into packed ones";
  let description = [{
    Every argument `{bitttt.tensor = "W"}` used only as BitLinear weights
    becomes `!bitttt.packed_ternary {bitttt.tensor = "W.codes"}` plus
    `tensor<f32> {bitttt.tensor = "W.scale"}` (γ), and those BitLinears take
    the packed form. A use as the operand of a call to a private function
    whose parameter is, in turn, used only as BitLinear weights (the
    per-layer functions) counts as a BitLinear use: that parameter becomes
    the same pair, and every call passes both parts. Run after `bitttt-decompose` has exposed the BitLinears
    inside SwiGLU; the weights themselves are packed by the compiler into
    the `.bitt` file (docs/packing.md), never into code. `layout` picks
    the packed layout: `i2_b128` (2 bits per weight) or `t5_b160` (5
    weights per byte).
  }];
  let options = [
    Option<"layout", "layout", "std::string", /*default=*/"\"i2_b128\"",
           "Packed layout of the codes: i2_b128 or t5_b160">,
  ];
  let dependentDialects = ["mlir::tensor::TensorDialect"];
}

def BitTTTExposeActQuant : Pass<"bitttt-expose-act-quant", "mlir::func::FuncOp"> {
  let summary = "Split packed int8 BitLinears into act_quant + bitlinear_q";
  let description = [{
    `bitlinear %x, %packed scale %γ` (act_bits 8) becomes
    `act_quant %x` + `bitlinear_q`. Followed by CSE, BitLinears of one input
    (TTT's q, k, v; SwiGLU's gate, up) share a single quantization, and the
    fusion passes see the quantizer.
  }];
}

def BitTTTFuseGateUp : Pass<"bitttt-fuse-gate-up", "mlir::func::FuncOp"> {
  let summary = "Fuse SwiGLU's gate and up projections and its silu·mul";
  let description = [{
    `silu_mul(bitlinear_q(xq, s, Wg), bitlinear_q(xq, s, Wu))` with both
    projections used only there becomes `gate_up_q(xq, s, Wg, Wu)`: one
    kernel that loads each activation block once for both weights and
    stores `silu(g)·u` directly.
  }];
}

def BitTTTFuseNormQuant : Pass<"bitttt-fuse-norm-quant", "mlir::func::FuncOp"> {
  let summary = "Fuse RMSNorm with the int8 quantization of its output";
  let description = [{
    `act_quant(rms_norm(x, g))`, where the norm feeds only quantizers, becomes
    `rms_norm_act_quant(x, g)`: the normalized f32 tensor is never stored.
    With the quantized BitLinears behind it this is the RMSNorm +
    activation-quantization + BitLinear fusion.
  }];
}

def BitTTTLowerPackedBitLinear
    : Pass<"bitttt-lower-packed-bitlinear", "mlir::func::FuncOp"> {
  let summary = "Lower the target-independent part of packed BitLinears";
  let description = [{
    `bitttt.bitlinear %x, %packed scale %γ` with int8 activations becomes
    `act_quant` + `bitlinear_q` on the same packed weight, which
    `bitttt-lower-ternary-matmul` (x86, in the target half of the pipeline)
    turns into tiled SIMD kernels. With f32 activations (and for
    `unpack_ternary`) the `i2_b128` codes are unpacked by a `linalg` map
    and contracted in f32; those read the packed arguments through casts to
    `tensor<R x RB x i8>` that the target pass folds when it retypes them.
    Packed values must be function arguments.
  }];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::linalg::LinalgDialect",
    "mlir::scf::SCFDialect", "mlir::tensor::TensorDialect",
    "mlir::vector::VectorDialect"
  ];
}

def BitTTTCheckContract : Pass<"bitttt-check-contract"> {
  let summary = "Fail on any bitttt op a pipeline stage should have lowered";
  let description = [{
    The legality contract between pipeline stages (as torch-mlir's
    `VerifyLinalgOnTensorsBackendContract`): after the target-independent
    half only the ops the target lowering consumes (`allow`) may remain,
    and after the target lowering none. Patterns that do not match (an op
    without a lowering, a dynamic shape a pattern needs static) leave ops
    behind without failing; this pass names each one and where it is, so
    the error is not left for bufferization or LLVM conversion to trip on.
  }];
  let options = [
    ListOption<"allow", "allow", "std::string",
               "bitttt op names (without 'bitttt.') allowed to remain">,
    Option<"stage", "stage", "std::string", /*default=*/"\"this pipeline\"",
           "what should have lowered them, for the message">
  ];
}

//===----------------------------------------------------------------------===//
// Training (docs/autodiff.md, docs/training.md)
//===----------------------------------------------------------------------===//

def BitTTTDecomposeTrain : Pass<"bitttt-decompose-train", "mlir::ModuleOp"> {
  let summary = "Decompose the training forms of the layers into primitives";
  let description = [{
    `ttt_linear_seqs` and `ttt_seed_seqs` become the mini-batch dual form
    over every sequence and head at once, written in the differentiable
    tensor primitives (arith/math on tensors, linalg broadcast / reduce /
    transpose / matmul / batch_matmul, tensor slices and reshapes). Each
    mini-batch is a call of a private function built once per shape
    (`@ttt_linear_chunk_…`), so the mini-batch loop unrolls into calls, not
    into copies of its body, and bitttt-autodiff differentiates the body
    once; `swiglu` becomes
    BitLinears and `silu_mul`. BitLinears, norms, embedding, LM head and
    cross-entropy stay: their VJPs are rules of their own.
  }];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::func::FuncDialect",
    "mlir::linalg::LinalgDialect", "mlir::math::MathDialect",
    "mlir::tensor::TensorDialect"
  ];
}

def BitTTTAutodiff : Pass<"bitttt-autodiff", "mlir::ModuleOp"> {
  let summary = "Reverse-mode autodiff of a loss function";
  let description = [{
    Builds `@<grad-func>(args...) -> (loss, grads...)` from
    `@<func>(args...) -> loss`: one gradient result per parameter (an f32
    argument with `bitttt.tensor`), marked `bitttt.grad = <name>`. Each op
    on a gradient path provides its VJP through `AutodiffOpInterface`; an
    op without one is an error that names it.
  }];
  let options = [
    Option<"funcName", "func", "std::string", /*default=*/"\"train_loss\"",
           "The loss function to differentiate">,
    Option<"gradFuncName", "grad-func", "std::string",
           /*default=*/"\"train_grad\"", "The name of the gradient function">,
    Option<"keepForward", "keep-forward", "bool", /*default=*/"false",
           "Keep the loss function beside its gradient function">
  ];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::linalg::LinalgDialect",
    "mlir::math::MathDialect", "mlir::tensor::TensorDialect",
    "mlir::bufferization::BufferizationDialect", "mlir::bitttt::BitTTTDialect"
  ];
}

def BitTTTOptimizer : Pass<"bitttt-optimizer", "mlir::ModuleOp"> {
  let summary = "Build the optimizer step: global-norm clipping and AdamW";
  let description = [{
    From `@train_grad(params..., data...) -> (loss, grads...)` builds
    `@train_apply(params..., m..., v..., grads..., step, lr) -> (grad_norm,
    params'..., m'..., v'...)`: the global gradient norm, the clip factor
    `min(1, max_norm / (norm + 1e-6))`, and one fused `bitttt.adamw` per
    parameter (weight decay on rank-2 parameters only, docs/training.md);
    and `@train_step(params..., m..., v..., step, lr, data...) -> (loss,
    grad_norm, params'..., m'..., v'...)` that calls both. The updated
    parameters and moments are written into their argument buffers
    (bufferization in place; the results equivalent to arguments are
    dropped): no copy of the model per step.
  }];
  let options = [
    Option<"maxGradNorm", "max-grad-norm", "double", /*default=*/"1.0",
           "Global gradient-norm clip (0: no clipping)">,
    Option<"beta1", "beta1", "double", /*default=*/"0.9", "AdamW β1">,
    Option<"beta2", "beta2", "double", /*default=*/"0.95", "AdamW β2">,
    Option<"eps", "eps", "double", /*default=*/"1e-8", "AdamW ε">,
    Option<"weightDecay", "weight-decay", "double", /*default=*/"0.1",
           "AdamW decoupled weight decay (rank-2 parameters)">
  ];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::linalg::LinalgDialect",
    "mlir::math::MathDialect", "mlir::tensor::TensorDialect",
    "mlir::bitttt::BitTTTDialect"
  ];
}

def BitTTTLowerTrain : Pass<"bitttt-lower-train", "mlir::func::FuncOp"> {
  let summary = "Lower the training-only ops to linalg on tensors";
  let description = [{
    Latent-weight BitLinears become an f32 GEMM of the quantized values
    (`xq · Wqᵀ` is a sum of integers below 2²⁴, exact in f32 in any order,
    so it equals the int32 dot bit for bit, then `· γ / s`), so the GEMM
    kernels serve the forward and the backward; `lm_head` becomes a GEMM;
    `cross_entropy`, `embedding_grad` and `adamw` become linalg.
  }];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::linalg::LinalgDialect",
    "mlir::math::MathDialect", "mlir::tensor::TensorDialect",
    "mlir::scf::SCFDialect"
  ];
}

#endif // BITTTT_TRANSFORMS_PASSES_TD
