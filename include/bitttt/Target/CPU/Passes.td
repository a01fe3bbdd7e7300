//===- Passes.td - bitttt passes for CPU artifacts ---------*- tablegen -*-===//

#ifndef BITTTT_TARGET_CPU_PASSES_TD
#define BITTTT_TARGET_CPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def BitTTTEmitEntryPoints : Pass<"bitttt-emit-entry-points", "mlir::ModuleOp"> {
  let summary = "Add `void bitttt_entry_<f>(void **buffers)` wrappers";
  let description = [{
    For every public function whose arguments are all statically shaped
    memrefs and which returns nothing (run after bufferization and
    `buffer-results-to-out-params`), adds `bitttt_entry_<name>` taking one
    `!llvm.ptr` to an array of buffer base pointers, builds an identity-layout
    memref descriptor for each and calls the function (docs/abi.md). Other
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

#endif // BITTTT_TARGET_CPU_PASSES_TD
