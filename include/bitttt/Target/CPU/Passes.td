//===- Passes.td - bitttt passes for CPU artifacts ---------*- tablegen -*-===//

#ifndef BITTTT_TARGET_CPU_PASSES_TD
#define BITTTT_TARGET_CPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def BitTTTEmitEntryPoints : Pass<"bitttt-emit-entry-points", "mlir::ModuleOp"> {
  let summary = "Add `void bitttt_entry_<f>(void **buffers, exec)` wrappers";
  let description = [{
    For every public function whose arguments are all statically shaped
    memrefs (plus possibly the `bitttt.exec` pointer of
    `bitttt-outline-parallel-loops`) and which returns nothing (run after
    bufferization and `buffer-results-to-out-params`), adds
    `bitttt_entry_<name>(!llvm.ptr buffers, !llvm.ptr exec)`: it builds an
    identity-layout memref descriptor for each buffer of the array, passes
    `exec` on and calls the function (docs/abi.md). Other
    functions get no entry point; `bitttt-compile` checks that the ones it
    needs exist.
  }];
  let dependentDialects = ["mlir::LLVM::LLVMDialect", "mlir::func::FuncDialect"];
}

def BitTTTMarkWeightsReadOnly
    : Pass<"bitttt-mark-weights-read-only", "mlir::ModuleOp"> {
  let summary = "Mark weight arguments `bufferization.writable = false`";
  let description = [{
    Weights (`bitttt.tensor` arguments of public functions) point straight
    into the runtime's `PROT_READ` mapping of the `.bitt` (docs/abi.md).
    Each gets `bufferization.writable = false`, so one-shot bufferization
    copies instead of writing in place should a lowering ever try; without
    the mark a write would only crash under libbitttt, never in a harness
    that copies the weights. State and io inputs are the caller's scratch
    for the call (the TTT token loop updates the state in its input buffer
    before writing the output) and stay writable.
  }];
  let dependentDialects = ["mlir::bufferization::BufferizationDialect"];
}

def BitTTTOutlineParallelLoops
    : Pass<"bitttt-outline-parallel-loops", "mlir::ModuleOp"> {
  let summary = "Run parallel loops on the runtime's parallel_for";
  let description = [{
    Each outermost 1-D `scf.parallel` (no reductions) of a public function
    without callers, or of a private function called from one (the
    per-layer functions, whose calls pass the caller's exec on), is outlined into a private function over an iteration
    range, its uses from the function packed into a closure on the stack,
    and replaced by a call to `exec->parallel_for(ctx, n, body, closure)`,
    where `exec` is a new trailing `!llvm.ptr {bitttt.exec}` argument (the
    `const bitttt_exec *` of include/bitttt/Target/CPU/ArtifactAbi.h). A
    NULL exec or parallel_for runs the body on the caller over [0, n).
    Static memrefs cross as pointers + offset and get constant sizes and
    strides back in the body. Run after bufferization and
    `scf-forall-to-parallel`; `bitttt-emit-entry-points` passes the entry's
    exec pointer on.
  }];
  let dependentDialects = [
    "mlir::LLVM::LLVMDialect", "mlir::arith::ArithDialect",
    "mlir::func::FuncDialect", "mlir::scf::SCFDialect"
  ];
}

def BitTTTDropInPlaceResults
    : Pass<"bitttt-drop-in-place-results", "mlir::ModuleOp"> {
  let summary = "Drop memref results that are the function's own arguments";
  let description = [{
    After one-shot bufferization, prefill/decode return the TTT state
    (`bitttt.state`) and the training functions the parameters and AdamW
    moments they updated in place: the returned memref is the argument
    itself. Such results (in public functions too, unlike
    upstream's drop-equivalent-buffer-results) are removed and call sites
    use the call's operand instead, callees first, so that the entry ABI
    says "updated in place" by listing the buffer only as an input
    (docs/abi.md). Such a result that is not its argument (a copy crept
    in) is an error: the call would copy the state or not update the
    model.
  }];
  let dependentDialects = ["mlir::func::FuncDialect"];
}

def BitTTTStridedCopiesToLoops
    : Pass<"bitttt-strided-copies-to-loops", "mlir::func::FuncOp"> {
  let summary = "memref.copy between strided views → linalg.copy (loops)";
  let description = [{
    A `memref.copy` whose source or target is not contiguous (a subview of
    a mini-batch slice in the training code) would lower to a call of
    MLIR's `memrefCopy` runtime function, which the artifact cannot link
    (its only dependencies are libc and libm, docs/abi.md). It becomes a
    `linalg.copy`, lowered to loops with the rest; contiguous copies stay
    (they become `memcpy`).
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

#endif // BITTTT_TARGET_CPU_PASSES_TD
