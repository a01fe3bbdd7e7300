//===- Pipelines.h - named bitttt pass pipelines ----------------*- C++ -*-===//
#ifndef BITTTT_TRANSFORMS_PIPELINES_H
#define BITTTT_TRANSFORMS_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::bitttt {

struct CpuPipelineOptions : public PassPipelineOptions<CpuPipelineOptions> {
  Option<std::string> target{
      *this, "target",
      llvm::cl::desc("x86-64 level the code is for: x86-64-v3 (AVX2) or "
                     "x86-64-v4 (AVX-512 with VNNI)"),
      llvm::cl::init("x86-64-v3")};
  Option<bool> openmp{
      *this, "openmp",
      llvm::cl::desc("Run parallel loops (the rows of packed BitLinears) on "
                     "the OpenMP runtime (libomp); off: sequential code"),
      llvm::cl::init(true)};
};

/// bitttt ops on tensors → LLVM dialect for x86-64 CPUs: the two halves
/// below in sequence.
void buildCpuPipeline(OpPassManager &pm, const CpuPipelineOptions &options);

/// First half, target independent and still on tensors: decompose, pack
/// BitLinear weight arguments, lower packed BitLinears to SIMD loops. After
/// it the function signatures are the final entry ABI (docs/abi.md).
void buildCpuTensorPipeline(OpPassManager &pm);

/// Second half: bufferize, entry points, x86 dot intrinsics for
/// `options.target`, LLVM dialect.
void buildCpuLoweringPipeline(OpPassManager &pm,
                              const CpuPipelineOptions &options);

/// Registers `bitttt-cpu-pipeline` with its options.
void registerPipelines();

} // namespace mlir::bitttt

#endif // BITTTT_TRANSFORMS_PIPELINES_H
