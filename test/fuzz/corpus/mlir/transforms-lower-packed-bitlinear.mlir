// RUN: bitttt-opt %s --bitttt-lower-packed-bitlinear --split-input-file --verify-diagnostics | FileCheck %s
// Bit-exactness against the PyTorch reference: python/tests/test_lowering_numerics.py.
// The int8 kernels themselves: test/Target/X86/lower-ternary-matmul.mlir.

// int8 activations: act_quant + bitlinear_q on the same packed weight (its
// tiled kernel depends on the target: bitttt-lower-ternary-matmul).
// CHECK-LABEL: func @int8
// CHECK-SAME: %[[P:[a-z0-9]+]]: !bitttt.packed_ternary<48x300>
// CHECK: %[[C:.*]], %[[S:.*]] = bitttt.act_quant %arg0
// CHECK: bitttt.bitlinear_q %[[C]], %[[S]], %[[P]] scale %arg2
// CHECK-NOT: scf.forall
func.func @int8(%x: tensor<5x300xf32>, %p: !bitttt.packed_ternary<48x300>, %g: f32) -> tensor<5x48xf32> {
  %y = bitttt.bitlinear %x, %p scale %g : tensor<5x300xf32>, !bitttt.packed_ternary<48x300> -> tensor<5x48xf32>
  return %y : tensor<5x48xf32>
}

// -----

// f32 activations: unpack the codes, f32 contraction, times γ.
// CHECK-LABEL: func @f32_activations
// CHECK: builtin.unrealized_conversion_cast %arg1 : !bitttt.packed_ternary<8x130> to tensor<8x64xi8>
// CHECK: linalg.index 1
// CHECK: arith.shrui
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]
func.func @f32_activations(%x: tensor<4x130xf32>, %p: !bitttt.packed_ternary<8x130>, %g: f32) -> tensor<4x8xf32> {
  %y = bitttt.bitlinear %x, %p scale %g {act_bits = 0} : tensor<4x130xf32>, !bitttt.packed_ternary<8x130> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----
// Pre-quantized activations and gate/up stay for the target half.
// CHECK-LABEL: func @bitlinear_q
// CHECK-NOT: bitttt.act_quant
// CHECK: bitttt.bitlinear_q
// CHECK-NOT: scf.forall
func.func @bitlinear_q(%xq: tensor<2x128xi8>, %s: tensor<2xf32>, %p: !bitttt.packed_ternary<16x128>, %g: f32) -> tensor<2x16xf32> {
  %y = bitttt.bitlinear_q %xq, %s, %p scale %g : tensor<2x128xi8>, tensor<2xf32>, !bitttt.packed_ternary<16x128> -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

func.func @not_an_argument(%x: tensor<4x32xf32>, %c: tensor<8x32xi8>, %g: f32) -> tensor<4x8xf32> {
  %p = bitttt.pack_ternary %c : tensor<8x32xi8> -> !bitttt.packed_ternary<8x32>
  // expected-error @+1 {{packed_ternary operand must be a function argument when lowering to kernels}}
  %y = bitttt.bitlinear %x, %p scale %g : tensor<4x32xf32>, !bitttt.packed_ternary<8x32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
