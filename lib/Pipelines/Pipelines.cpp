//===- Pipelines.cpp - named bitttt pass pipelines ------------------------===//
#include "bitttt/Pipelines/Pipelines.h"
#include "bitttt/Target/CPU/Passes.h"
#include "bitttt/Target/X86/Passes.h"
#include "bitttt/Transforms/Passes.h"

#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::bitttt::buildCpuPipeline(OpPassManager &pm,
                                    const CpuPipelineOptions &options) {
  buildCpuTensorPipeline(pm);
  buildCpuLoweringPipeline(pm, options);
}

void mlir::bitttt::buildCpuTensorPipeline(OpPassManager &pm) {
  // Decompose the layers first so the BitLinears inside SwiGLU/TTT are
  // exposed, pack their weight arguments, quantize each BitLinear input once
  // (expose + CSE), fuse gate/up and norm/quantization, lower the packed
  // BitLinears to SIMD kernels, then decompose everything that is left.
  pm.addNestedPass<func::FuncOp>(createBitTTTDecompose({/*layersOnly=*/true}));
  pm.addNestedPass<func::FuncOp>(createBitTTTPackWeights());
  pm.addNestedPass<func::FuncOp>(createBitTTTExposeActQuant());
  pm.addPass(createCSEPass());
  pm.addNestedPass<func::FuncOp>(createBitTTTFuseGateUp());
  pm.addNestedPass<func::FuncOp>(createBitTTTFuseNormQuant());
  pm.addNestedPass<func::FuncOp>(createBitTTTLowerPackedBitLinear());
  pm.addNestedPass<func::FuncOp>(createBitTTTDecompose());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void mlir::bitttt::buildCpuLoweringPipeline(OpPassManager &pm,
                                            const CpuPipelineOptions &options) {
  pm.addNestedPass<func::FuncOp>(
      createBitTTTVectorizeElementwise({options.target}));
  // Upstream lowering known to work with LLVM 22 (../shared/MLIR22.md).
  constexpr const char *kLowering =
      "func.func(convert-elementwise-to-linalg),"
      "one-shot-bufferize{bufferize-function-boundaries "
      "allow-return-allocs-from-loops "
      "function-boundary-type-conversion=identity-layout-map},"
      "buffer-results-to-out-params{modify-public-functions "
      "hoist-static-allocs},"
      "buffer-deallocation-pipeline,"
      "convert-bufferization-to-memref,func.func(convert-linalg-to-loops)";
  constexpr const char *kParallel =
      "func.func(scf-forall-to-parallel),convert-scf-to-openmp,canonicalize";
  constexpr const char *kSequential = "func.func(scf-forall-to-for)";
  constexpr const char *kToLLVM =
      "func.func(convert-vector-to-scf{full-unroll=true}),"
      "expand-strided-metadata,lower-affine,convert-scf-to-cf,"
      "convert-vector-to-llvm,convert-openmp-to-llvm,convert-to-llvm,"
      "reconcile-unrealized-casts";
  if (failed(parsePassPipeline(kLowering, pm)) ||
      failed(parsePassPipeline(options.openmp ? kParallel : kSequential, pm)))
    llvm::report_fatal_error("bitttt-cpu-pipeline: bad upstream pipeline text");
  pm.addPass(createBitTTTLowerX86Dot({options.target}));
  pm.addPass(createBitTTTEmitEntryPoints());
  if (failed(parsePassPipeline(kToLLVM, pm)))
    llvm::report_fatal_error("bitttt-cpu-pipeline: bad upstream pipeline text");
}

void mlir::bitttt::registerPipelines() {
  PassPipelineRegistration<CpuPipelineOptions>(
      "bitttt-cpu-pipeline",
      "Lower a bitttt module on tensors to the LLVM dialect for x86-64 CPUs",
      buildCpuPipeline);
}
