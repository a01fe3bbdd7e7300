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
};

/// bitttt ops on tensors → LLVM dialect for x86-64 CPUs: the two halves
/// below in sequence.
void buildCpuPipeline(OpPassManager &pm, const CpuPipelineOptions &options);

/// First half, target independent and still on tensors: decompose, pack
/// BitLinear weight arguments, fuse, lower packed BitLinears to SIMD loops,
/// decompose the rest; then check that only ops the target lowering takes
/// are left. After it the function signatures are the final entry ABI
/// (docs/abi.md).
void buildCpuTensorPipeline(OpPassManager &pm);

/// Second half, for `options.target`: the LM-head kernel, vectorization,
/// bufferization (inputs read-only), parallel loops, x86 dot intrinsics,
/// entry points, LLVM dialect; a contract check that no bitttt op is left.
void buildCpuLoweringPipeline(OpPassManager &pm,
                              const CpuPipelineOptions &options);

/// Registers `bitttt-cpu-pipeline` with its options.
void registerPipelines();

} // namespace mlir::bitttt

#endif // BITTTT_PIPELINES_PIPELINES_H
