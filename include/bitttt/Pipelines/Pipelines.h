//===- Pipelines.h - the bitttt pass pipelines ------------------*- C++ -*-===//
//
// Pipelines are built in C++ from pass constructors and option structs (as
// IREE and torch-mlir build theirs): a misspelled pass is a compile error,
// not a run-time parse failure. docs/pipeline.md lists the passes and says
// why they run in this order.
//
//===----------------------------------------------------------------------===//
#ifndef BITTTT_PIPELINES_PIPELINES_H
#define BITTTT_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::bitttt {

struct CpuPipelineOptions : public PassPipelineOptions<CpuPipelineOptions> {
  Option<std::string> target{
      *this, "target",
      llvm::cl::desc("x86-64 target the code is for, a row of "
                     "CpuTargets.def: x86-64-v3 (AVX2) or x86-64-v4 "
                     "(AVX-512 with VNNI)"),
      llvm::cl::init("x86-64-v3")};
  Option<bool> parallel{
      *this, "parallel",
      llvm::cl::desc("Run parallel loops (the rows of packed BitLinears and "
                     "of the LM head) on the thread pool the runtime hands "
                     "each call (docs/abi.md); off: sequential code"),
      llvm::cl::init(true)};
  Option<std::string> weightFormat{
      *this, "weight-format",
      llvm::cl::desc("Packed layout of the BitLinear weights: i2_b128 (2 "
                     "bits per weight) or t5_b160 (5 per byte, 1.6 bits); "
                     "docs/packing.md"),
      llvm::cl::init("i2_b128")};
};

/// bitttt ops on tensors → LLVM dialect for x86-64 CPUs: the two halves
/// below in sequence.
void buildCpuPipeline(OpPassManager &pm, const CpuPipelineOptions &options);

/// First half, target independent and still on tensors: decompose, pack
/// BitLinear weight arguments, fuse, lower packed BitLinears to SIMD loops,
/// decompose the rest; then check that only ops the target lowering takes
/// are left. After it the function signatures are the final entry ABI
/// (docs/abi.md). Of `options`, only `weightFormat` matters here.
void buildCpuTensorPipeline(OpPassManager &pm,
                            const CpuPipelineOptions &options);

/// Second half, for `options.target`: the LM-head kernel, vectorization,
/// bufferization (inputs read-only), parallel loops, x86 dot intrinsics,
/// entry points, LLVM dialect; a contract check that no bitttt op is left.
void buildCpuLoweringPipeline(OpPassManager &pm,
                              const CpuPipelineOptions &options);

/// Bufferization (weights read-only; with `inPlaceResults`, results that
/// bufferize into an argument's buffer are dropped: in-place updates),
/// out-params, parallel loops, x86 dot intrinsics, entry points, LLVM
/// dialect. The common tail of the CPU and training pipelines.
void addCpuBufferizeAndLower(OpPassManager &pm,
                             const CpuPipelineOptions &options,
                             bool inPlaceResults);

struct TrainPipelineOptions : public PassPipelineOptions<TrainPipelineOptions> {
  Option<std::string> target{
      *this, "target", llvm::cl::desc("x86-64 target, a row of CpuTargets.def"),
      llvm::cl::init("x86-64-v3")};
  Option<bool> parallel{*this, "parallel",
                        llvm::cl::desc("Run parallel loops on the runtime's "
                                       "thread pool"),
                        llvm::cl::init(true)};
  Option<double> maxGradNorm{
      *this, "max-grad-norm",
      llvm::cl::desc("Global gradient-norm clip (0: none)"),
      llvm::cl::init(1.0)};
  Option<double> beta1{*this, "beta1", llvm::cl::desc("AdamW beta1"),
                       llvm::cl::init(0.9)};
  Option<double> beta2{*this, "beta2", llvm::cl::desc("AdamW beta2"),
                       llvm::cl::init(0.95)};
  Option<double> eps{*this, "eps", llvm::cl::desc("AdamW epsilon"),
                     llvm::cl::init(1e-8)};
  Option<double> weightDecay{
      *this, "weight-decay",
      llvm::cl::desc("AdamW decoupled weight decay on rank-2 parameters"),
      llvm::cl::init(0.1)};
};

/// `@train_loss(params..., tokens) -> loss` → `@train_grad`, `@train_apply`
/// and `@train_step` (docs/training.md) in the LLVM dialect for x86-64.
void buildTrainPipeline(OpPassManager &pm, const TrainPipelineOptions &options);

/// Registers `bitttt-cpu-pipeline` and `bitttt-train-pipeline`.
void registerPipelines();

} // namespace mlir::bitttt

#endif // BITTTT_PIPELINES_PIPELINES_H
