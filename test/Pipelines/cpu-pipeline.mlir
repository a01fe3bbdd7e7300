// RUN: bitttt-opt %s --bitttt-cpu-pipeline | FileCheck %s
// RUN: bitttt-opt %s --bitttt-cpu-pipeline | mlir-translate --mlir-to-llvmir | FileCheck %s --check-prefix=LLVMIR

// The pipeline leaves only the LLVM dialect.
// CHECK: llvm.func @block
// CHECK-NOT: bitttt.
// CHECK-NOT: linalg.
// CHECK-NOT: tensor.
// RUN: bitttt-opt %s --bitttt-cpu-pipeline | FileCheck %s --check-prefix=OMP
// RUN: bitttt-opt %s --bitttt-cpu-pipeline=parallel=false | FileCheck %s --check-prefix=SEQ
// LLVMIR: define {{.*}} @block(
// Elementwise work is vectorized to the target's 8 f32 lanes (x86-64-v3).
// LLVMIR-DAG: call <8 x float> @llvm.sqrt.v8f32
// LLVMIR-DAG: call <8 x float> @llvm.roundeven.v8f32
// Packed BitLinear rows run on the OpenMP pool unless parallel=false.
// OMP: omp.parallel
// OMP: omp.wsloop
// SEQ-NOT: omp.
// SEQ: llvm.func @packed
func.func @packed(%x: tensor<2x128xf32>, %p: !bitttt.packed_ternary<16x128>, %g: f32) -> tensor<2x16xf32> {
  %y = bitttt.bitlinear %x, %p scale %g : tensor<2x128xf32>, !bitttt.packed_ternary<16x128> -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

func.func @block(%x: tensor<4x32xf32>, %g: tensor<32xf32>, %w: tensor<16x32xf32>) -> tensor<4x16xf32> {
  %n = bitttt.rms_norm %x, %g : tensor<4x32xf32>, tensor<32xf32>
  %y = bitttt.bitlinear %n, %w : tensor<4x32xf32>, tensor<16x32xf32> -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}
