//===- Pipelines.cpp - the bitttt pass pipelines --------------------------===//
#include "bitttt/Pipelines/Pipelines.h"
#include "bitttt/Target/CPU/Passes.h"
#include "bitttt/Target/X86/Passes.h"
#include "bitttt/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

namespace {

/// Ops a target's lowering half consumes; any other bitttt op left after
/// the tensor half has no lowering.
constexpr const char *kTargetLoweredOps[] = {
    "lm_head", "lm_head_q", "bitlinear_q", "gate_up_q", "dot_2bit_i8"};

} // namespace

void mlir::bitttt::buildCpuPipeline(OpPassManager &pm,
                                    const CpuPipelineOptions &options) {
  buildCpuTensorPipeline(pm, options);
  buildCpuLoweringPipeline(pm, options);
}

void mlir::bitttt::buildCpuTensorPipeline(OpPassManager &pm,
                                          const CpuPipelineOptions &options) {
  // Decompose the layers first so the BitLinears inside SwiGLU/TTT are
  // exposed, pack their weight arguments, quantize each BitLinear input once
  // (expose + CSE), fuse gate/up and norm/quantization, lower what is left
  // of the packed BitLinears (f32 activations), then decompose everything
  // else. The int8 BitLinears on packed weights stay for the target half
  // (bitttt-lower-ternary-matmul: its tiles depend on the target).
  pm.addNestedPass<func::FuncOp>(createBitTTTDecompose({/*layersOnly=*/true}));
  pm.addPass(createBitTTTPackWeights({options.weightFormat}));
  pm.addNestedPass<func::FuncOp>(createBitTTTExposeActQuant());
  pm.addPass(createCSEPass());
  pm.addNestedPass<func::FuncOp>(createBitTTTFuseGateUp());
  pm.addNestedPass<func::FuncOp>(createBitTTTFuseNormQuant());
  pm.addNestedPass<func::FuncOp>(createBitTTTLowerPackedBitLinear());
  pm.addNestedPass<func::FuncOp>(createBitTTTDecompose());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  BitTTTCheckContractOptions contract;
  contract.stage = "the target-independent half of bitttt-cpu-pipeline";
  for (const char *op : kTargetLoweredOps)
    contract.allow.push_back(op);
  pm.addPass(createBitTTTCheckContract(contract));
}

void mlir::bitttt::buildCpuLoweringPipeline(OpPassManager &pm,
                                            const CpuPipelineOptions &options) {
  pm.addNestedPass<func::FuncOp>(
      createBitTTTLowerTernaryMatmul({options.target}));
  pm.addNestedPass<func::FuncOp>(createBitTTTLowerLMHead({options.target}));
  pm.addNestedPass<func::FuncOp>(
      createBitTTTVectorizeElementwise({options.target}));
  pm.addNestedPass<func::FuncOp>(createBitTTTVectorizeMatmul({options.target}));

  addCpuBufferizeAndLower(pm, options, /*inPlaceResults=*/true);
}

void mlir::bitttt::addCpuBufferizeAndLower(OpPassManager &pm,
                                           const CpuPipelineOptions &options,
                                           bool inPlaceResults) {
  // Bufferize: weights are read-only (they point into the runtime's
  // read-only mapping), results become caller-provided out-params.
  pm.addPass(createBitTTTMarkWeightsReadOnly());
  pm.addNestedPass<func::FuncOp>(createConvertElementwiseToLinalgPass());
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.allowReturnAllocsFromLoops = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  // Results that bufferized into their argument's buffer (the TTT state a
  // call updates, the parameters and moments AdamW updates) are dropped.
  // A state carried through a token loop and an scf.if commit comes back
  // as loop results that canonicalization folds to the argument itself.
  if (inPlaceResults) {
    pm.addPass(createCanonicalizerPass());
    pm.addPass(createBitTTTDropInPlaceResults());
  }
  bufferization::BufferResultsToOutParamsPassOptions outParams;
  outParams.modifyPublicFunctions = true;
  outParams.hoistStaticAllocs = true;
  outParams.addResultAttribute = true; // marks outputs for the entry ABI
  pm.addPass(bufferization::createBufferResultsToOutParamsPass(outParams));
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createConvertBufferizationToMemRefPass());
  pm.addNestedPass<func::FuncOp>(createBitTTTStridedCopiesToLoops());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());

  // Row loops run on the runtime's threads (parallel_for of the call's
  // exec, docs/abi.md), or sequentially.
  if (options.parallel) {
    pm.addNestedPass<func::FuncOp>(createForallToParallelLoopPass());
    pm.addPass(createBitTTTOutlineParallelLoops());
  } else {
    pm.addNestedPass<func::FuncOp>(createForallToForLoopPass());
  }
  // After bufferization: intrinsic calls have unknown side effects for
  // one-shot-bufferize.
  pm.addPass(createBitTTTLowerX86Dot({options.target}));
  BitTTTCheckContractOptions contract;
  contract.stage = "bitttt-cpu-pipeline{target=" + options.target + "}";
  pm.addPass(createBitTTTCheckContract(contract));
  pm.addPass(createBitTTTEmitEntryPoints());

  VectorTransferToSCFOptions vectorToSCF;
  vectorToSCF.enableFullUnroll();
  pm.addNestedPass<func::FuncOp>(createConvertVectorToSCFPass(vectorToSCF));
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void mlir::bitttt::buildTrainPipeline(OpPassManager &pm,
                                      const TrainPipelineOptions &options) {
  // Differentiate the layer-level ops and the TTT primitives, then build
  // the optimizer step, then lower what only training has, then the rest.
  pm.addPass(createBitTTTDecomposeTrain());
  pm.addPass(createBitTTTAutodiff());
  BitTTTOptimizerOptions opt;
  opt.maxGradNorm = options.maxGradNorm;
  opt.beta1 = options.beta1;
  opt.beta2 = options.beta2;
  opt.eps = options.eps;
  opt.weightDecay = options.weightDecay;
  pm.addPass(createBitTTTOptimizer(opt));
  pm.addNestedPass<func::FuncOp>(createBitTTTLowerTrain());
  pm.addNestedPass<func::FuncOp>(createBitTTTDecompose());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  BitTTTCheckContractOptions contract;
  contract.stage = "the target-independent half of bitttt-train-pipeline";
  pm.addPass(createBitTTTCheckContract(contract));

  // Lowering: elementwise ops on tensors into linalg, fused (splat
  // constants fold into the loop bodies), GEMMs and elementwise loops
  // vectorized for the target, bufferized with in-place updates.
  pm.addNestedPass<func::FuncOp>(createConvertElementwiseToLinalgPass());
  pm.addNestedPass<func::FuncOp>(createLinalgElementwiseOpFusionPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  CpuPipelineOptions cpu;
  cpu.target = options.target.getValue();
  cpu.parallel = options.parallel.getValue();
  pm.addNestedPass<func::FuncOp>(createBitTTTVectorizeMatmul({options.target}));
  pm.addNestedPass<func::FuncOp>(
      createBitTTTVectorizeElementwise({options.target}));
  addCpuBufferizeAndLower(pm, cpu, /*inPlaceResults=*/true);
}

void mlir::bitttt::registerPipelines() {
  PassPipelineRegistration<TrainPipelineOptions>(
      "bitttt-train-pipeline",
      "Build train_step (autodiff, clipping, AdamW) from a train_loss "
      "function and lower it to the LLVM dialect for x86-64 CPUs",
      buildTrainPipeline);
  PassPipelineRegistration<CpuPipelineOptions>(
      "bitttt-cpu-pipeline",
      "Lower a bitttt module on tensors to the LLVM dialect for x86-64 CPUs",
      buildCpuPipeline);
}
