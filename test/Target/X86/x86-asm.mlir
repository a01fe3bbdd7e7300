// The int8 × ternary dot products come out as real SIMD instructions.
// RUN: bitttt-opt %s --bitttt-cpu-pipeline=target=x86-64-v3 | mlir-translate --mlir-to-llvmir | llc -O2 -mcpu=x86-64-v3 | FileCheck %s --check-prefix=AVX2
// RUN: bitttt-opt %s --bitttt-cpu-pipeline=target=x86-64-v4 | mlir-translate --mlir-to-llvmir | llc -O2 -mcpu=x86-64-v4 -mattr=+avx512vnni | FileCheck %s --check-prefix=VNNI

// AVX2-LABEL: gemv:
// AVX2: vpmaddubsw {{.*}}%ymm
// AVX2: vpmaddwd {{.*}}%ymm
// VNNI-LABEL: gemv:
// VNNI: vpdpbusd {{.*}}%zmm
// VNNI-NOT: vpmaddubsw
func.func @gemv(%x: tensor<1x256xf32>, %p: !bitttt.packed_ternary<64x256>, %g: f32) -> tensor<1x64xf32> {
  %y = bitttt.bitlinear %x, %p scale %g : tensor<1x256xf32>, !bitttt.packed_ternary<64x256> -> tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}
