//===- Passes.td - bitttt passes for x86-64 ----------------*- tablegen -*-===//
//
// Every pass takes the target by name; what it needs of it (f32 lanes, how
// the int8 dot product lowers) comes from CpuTargets.def.
//
//===----------------------------------------------------------------------===//

#ifndef BITTTT_TARGET_X86_PASSES_TD
#define BITTTT_TARGET_X86_PASSES_TD

include "mlir/Pass/PassBase.td"

def BitTTTLowerLMHead : Pass<"bitttt-lower-lm-head", "mlir::func::FuncOp"> {
  let summary = "Lower bitttt.lm_head(_q) to a row-parallel vector kernel";
  let description = [{
    `logits = x · Wᵀ` (f32 or bf16 `W [V, D]`) becomes an `scf.forall` over
    the V rows (the runtime's thread pool runs it) with, per row and token,
    a loop of FMAs on vectors of the target's f32 lanes into four
    independent accumulators and a masked tail. The summation order differs
    from a sequential sum (tests compare with a tolerance). This is the
    decode-time GEMV over the largest weight of a model.

    `bitttt.lm_head_q` (the int8 head) becomes the same row loop over 32-byte
    chunks of int8 weights and activation codes: on Vnni targets the
    activation is biased by +128 once (xor 0x80) and each chunk is one
    `bitttt.dot_u8_i8` (vpdpbusd), `128·row_sum[r]` subtracted at the end;
    on Madd targets `bitttt.dot_i8_i8` (sign trick, vpmaddubsw). The i32 sum
    is exact; `f32(dot) · row_scale[r] / scales[t]` follows.
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"x86-64-v3\"",
           "x86-64 target (CpuTargets.def) whose f32 lanes the kernel uses">
  ];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::scf::SCFDialect",
    "mlir::tensor::TensorDialect", "mlir::vector::VectorDialect"
  ];
}

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
           "x86-64 target (CpuTargets.def) whose f32 lanes tile the loops">
  ];
  let dependentDialects = [
    "mlir::scf::SCFDialect", "mlir::tensor::TensorDialect",
    "mlir::vector::VectorDialect"
  ];
}

def BitTTTVectorizeMatmul
    : Pass<"bitttt-vectorize-matmul", "mlir::func::FuncOp"> {
  let summary = "Tile and vectorize f32 matmuls and batch matmuls for x86";
  let description = [{
    Every `linalg.matmul` / `linalg.batch_matmul` on static f32 tensors is
    tiled into register tiles of R rows × 2 vectors of the target's f32 lanes
    (6 × 16 on x86-64-v3, 12 × 32 on x86-64-v4) with `scf.for` over N, then
    M, then K, and each tile vectorized (`linalg::vectorize`); the K loop
    carries one accumulator per row and `vector.contract` is lowered through
    outer products to FMAs. Remainder rows and columns are split off into
    their own, smaller static tiles (no masks). Above 4 Mflop the work runs
    in an `scf.forall` over whole tiles: the batch, else blocks of rows
    while B fits in L2 beside them (512 KiB), else blocks of columns. K
    above 256 runs in blocks. A `linalg.fill` init becomes the
    accumulators' initial value (when K is not blocked). Per-head
    vector-matrix generics ((h, a, j) = parallel, reduction, parallel, every
    init indexed (h, j): TTT's k·W and q·W) become [1, 1, 4 vectors] tiles
    over (h, j, a) whose outputs the a loop carries in registers.
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"x86-64-v3\"",
           "x86-64 target (CpuTargets.def) whose f32 lanes size the tiles">
  ];
  let dependentDialects = [
    "mlir::affine::AffineDialect", "mlir::arith::ArithDialect",
    "mlir::scf::SCFDialect", "mlir::tensor::TensorDialect",
    "mlir::vector::VectorDialect"
  ];
}

def BitTTTLowerTernaryMatmul
    : Pass<"bitttt-lower-ternary-matmul", "mlir::func::FuncOp"> {
  let summary = "Lower int8 BitLinears on packed ternary weights to tiled "
                "SIMD kernels";
  let description = [{
    `bitttt.bitlinear_q` and `bitttt.gate_up_q` on `!bitttt.packed_ternary`
    function arguments (layout `i2_b128`) become register-tiled loop nests:
    an `scf.forall` over tiles of MM_ROWS rows, inside it tiles of
    MM_TOKENS tokens, inside them a loop over steps of DOT_BYTES code bytes
    (one 128-weight block per ymm, two per zmm) in which every row's codes
    are unpacked once (shift/and) and every token's activations loaded once,
    and one `bitttt.dot_2bit_i8` per (row, token, weight) accumulates into
    its own vector; the last partial step reads with masks. Then per
    (row, token) `(Σ q·x − Σ x) · γ / s` (and silu(g)·u for gate/up).
    Remainder rows and tokens get smaller static tiles. Tile sizes and the
    vector width are the target's CpuTargets.def columns. Packed arguments
    become `tensor<R x RB x i8>`.
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"x86-64-v3\"",
           "x86-64 target (CpuTargets.def) whose tile and dot width the "
           "kernel uses">
  ];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::linalg::LinalgDialect",
    "mlir::scf::SCFDialect", "mlir::tensor::TensorDialect",
    "mlir::vector::VectorDialect", "mlir::LLVM::LLVMDialect"
  ];
}

def BitTTTLowerX86Dot : Pass<"bitttt-lower-x86-dot"> {
  let summary = "Lower bitttt.dot_2bit_i8 to x86 int8 dot-product intrinsics";
  let description = [{
    Targets whose dot kind is `Vnni` (x86-64-v4): chains of
    `llvm.x86.avx512.vpdpbusd.256` / `.512` (VNNI on ymm / zmm): two from
    zero joined by adds, or one through the accumulator for `chained` dots. `Madd` (x86-64-v3): one
    `llvm.x86.avx2.pmadd.ub.sw` per pair, their 16-bit sums added, one
    `llvm.x86.avx2.pmadd.wd` against ones, added to the accumulator. Runs
    after bufferization (intrinsic calls have unknown side effects for
    one-shot-bufferize). The int8 LM head's `bitttt.dot_u8_i8` becomes
    `vpdpbusd` (Vnni only; an error on Madd) and `bitttt.dot_i8_i8` `vpsignb`
    twice (|lhs|, rhs·sign(lhs)) then `vpdpbusd` or `vpmaddubsw` + `vpmaddwd`.
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"x86-64-v3\"",
           "x86-64 target (CpuTargets.def) whose dot kind selects the intrinsics">
  ];
  let dependentDialects = ["mlir::LLVM::LLVMDialect", "mlir::arith::ArithDialect"];
}

#endif // BITTTT_TARGET_X86_PASSES_TD
