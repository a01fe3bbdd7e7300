// RUN: bitttt-opt %s --bitttt-lower-x86-dot=target=x86-64-v4 | FileCheck %s --check-prefix=VNNI
// RUN: not bitttt-opt %s --bitttt-lower-x86-dot=target=x86-64-v3 2>&1 | FileCheck %s --check-prefix=ZMM-AVX2
// Chained zmm dots (tiled kernels): every pair into the accumulator.
// VNNI-LABEL: func @chained_zmm
// VNNI: %[[A:.*]] = llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"(%arg0, %arg1, %arg3)
// VNNI-NEXT: %[[B:.*]] = llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"(%[[A]], %arg2, %arg4)
// VNNI-NEXT: return %[[B]]
// ZMM-AVX2: error: 'bitttt.dot_2bit_i8' op has 512-bit vectors, which target 'x86-64-v3' (AVX2) has no instruction for
func.func @chained_zmm(%acc: vector<16xi32>, %q0: vector<64xi8>, %q1: vector<64xi8>,
                       %x0: vector<64xi8>, %x1: vector<64xi8>) -> vector<16xi32> {
  %r = bitttt.dot_2bit_i8 %acc, [%q0, %q1], [%x0, %x1] {chained} : vector<16xi32>, [vector<64xi8>, vector<64xi8>], [vector<64xi8>, vector<64xi8>]
  return %r : vector<16xi32>
}
