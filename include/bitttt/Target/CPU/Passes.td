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

#endif // BITTTT_TARGET_CPU_PASSES_TD
