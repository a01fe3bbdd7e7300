// RUN: bitttt-opt %s --bitttt-lower-x86-dot=target=x86-64-v3 | FileCheck %s --check-prefix=AVX2
// RUN: bitttt-opt %s --bitttt-lower-x86-dot=target=x86-64-v4 | FileCheck %s --check-prefix=VNNI
// RUN: not bitttt-opt %s --bitttt-lower-x86-dot=target=armv8 2>&1 | FileCheck %s --check-prefix=BAD

// AVX2-LABEL: func @dot
// AVX2-COUNT-2: llvm.call_intrinsic "llvm.x86.avx2.pmadd.ub.sw"
// AVX2: arith.addi {{.*}} : vector<16xi16>
// AVX2: llvm.call_intrinsic "llvm.x86.avx2.pmadd.wd"
// AVX2: arith.addi {{.*}} : vector<8xi32>
// VNNI-LABEL: func @dot
// Two pairs: one chain from zero, added to the accumulator once.
// VNNI: %[[Z:.*]] = arith.constant dense<0> : vector<8xi32>
// VNNI: %[[A:.*]] = llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.256"(%[[Z]], %arg1, %arg3)
// VNNI: %[[B:.*]] = llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.256"(%[[A]], %arg2, %arg4)
// VNNI: arith.addi %arg0, %[[B]] : vector<8xi32>
// VNNI-NOT: pmadd
// BAD: error: bitttt-lower-x86-dot: unknown target 'armv8' (known: x86-64-v4, x86-64-v3)
func.func @dot(%acc: vector<8xi32>, %q0: vector<32xi8>, %q1: vector<32xi8>,
               %x0: vector<32xi8>, %x1: vector<32xi8>) -> vector<8xi32> {
  %r = bitttt.dot_2bit_i8 %acc, [%q0, %q1], [%x0, %x1] : vector<8xi32>, [vector<32xi8>, vector<32xi8>], [vector<32xi8>, vector<32xi8>]
  return %r : vector<8xi32>
}

// The int8 LM head's dots. dot_i8_i8: |lhs| and rhs·sign(lhs) by vpsignb,
// then vpmaddubsw + vpmaddwd (AVX2) or vpdpbusd (VNNI). dot_u8_i8: vpdpbusd.
// AVX2-LABEL: func @dot_i8_i8
// AVX2: %[[U:.*]] = llvm.call_intrinsic "llvm.x86.avx2.psign.b"(%arg1, %arg1)
// AVX2: %[[S:.*]] = llvm.call_intrinsic "llvm.x86.avx2.psign.b"(%arg2, %arg1)
// AVX2: %[[P:.*]] = llvm.call_intrinsic "llvm.x86.avx2.pmadd.ub.sw"(%[[U]], %[[S]])
// AVX2: llvm.call_intrinsic "llvm.x86.avx2.pmadd.wd"(%[[P]],
// AVX2: arith.addi %arg0
// VNNI-LABEL: func @dot_i8_i8
// VNNI: %[[U:.*]] = llvm.call_intrinsic "llvm.x86.avx2.psign.b"(%arg1, %arg1)
// VNNI: %[[S:.*]] = llvm.call_intrinsic "llvm.x86.avx2.psign.b"(%arg2, %arg1)
// VNNI: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.256"(%arg0, %[[U]], %[[S]])
func.func @dot_i8_i8(%acc: vector<8xi32>, %a: vector<32xi8>, %b: vector<32xi8>) -> vector<8xi32> {
  %r = bitttt.dot_i8_i8 %acc, %a, %b
  return %r : vector<8xi32>
}
