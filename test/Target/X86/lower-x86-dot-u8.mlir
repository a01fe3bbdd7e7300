// RUN: bitttt-opt %s --bitttt-lower-x86-dot=target=x86-64-v4 | FileCheck %s
// RUN: not bitttt-opt %s --bitttt-lower-x86-dot=target=x86-64-v3 2>&1 | FileCheck %s --check-prefix=AVX2

// dot_u8_i8 is vpdpbusd itself; AVX2 has no exact equivalent (vpmaddubsw
// saturates), so it is refused there.
// CHECK-LABEL: func @dot_u8_i8
// CHECK: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.256"(%arg0, %arg1, %arg2)
// AVX2: error: 'bitttt.dot_u8_i8' op needs a VNNI target (vpdpbusd); x86-64-v3 has none
func.func @dot_u8_i8(%acc: vector<8xi32>, %u: vector<32xi8>, %s: vector<32xi8>) -> vector<8xi32> {
  %r = bitttt.dot_u8_i8 %acc, %u, %s
  return %r : vector<8xi32>
}
