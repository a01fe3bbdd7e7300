//===- Passes.td - bitttt passes for x86-64 ----------------*- tablegen -*-===//

#ifndef BITTTT_TARGET_X86_PASSES_TD
#define BITTTT_TARGET_X86_PASSES_TD

include "mlir/Pass/PassBase.td"

def BitTTTVectorizeElementwise
    : Pass<"bitttt-vectorize-elementwise", "mlir::func::FuncOp"> {
  let summary = "Tile and vectorize elementwise linalg generics for x86";
  let description = [{
    Every all-parallel `linalg.generic` on static tensors whose innermost
    dimension is a multiple of the target's f32 lane count (8 for
    x86-64-v3, 16 for x86-64-v4) is tiled to `[1, …, 1, lanes]` with
    `scf.for` and each tile turned into vector ops (`linalg::vectorize`).
    Reductions, gathers and ragged shapes stay for the loop lowering.
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"x86-64-v3\"",
           "x86-64-v3 (8 f32 lanes) or x86-64-v4 (16 f32 lanes)">
  ];
  let dependentDialects = [
    "mlir::scf::SCFDialect", "mlir::tensor::TensorDialect",
    "mlir::vector::VectorDialect"
  ];
}

def BitTTTLowerX86Dot : Pass<"bitttt-lower-x86-dot"> {
  let summary = "Lower bitttt.dot_2bit_i8 to x86 int8 dot-product intrinsics";
  let description = [{
    `x86-64-v4`: a chain of `llvm.x86.avx512.vpdpbusd.256` (AVX-512 VNNI on
    ymm). `x86-64-v3`: one `llvm.x86.avx2.pmadd.ub.sw` per pair, their 16-bit
    sums added, one `llvm.x86.avx2.pmadd.wd` against ones, added to the
    accumulator. Runs after bufferization (intrinsic calls have unknown
    side effects for one-shot-bufferize).
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"x86-64-v3\"",
           "x86-64-v3 (AVX2: vpmaddubsw/vpmaddwd) or x86-64-v4 (AVX-512 VNNI: vpdpbusd)">
  ];
  let dependentDialects = ["mlir::LLVM::LLVMDialect", "mlir::arith::ArithDialect"];
}

#endif // BITTTT_TARGET_X86_PASSES_TD
