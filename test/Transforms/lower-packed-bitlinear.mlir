// RUN: bitttt-opt %s --bitttt-lower-packed-bitlinear --split-input-file --verify-diagnostics | FileCheck %s
// Bit-exactness against the PyTorch reference: python/tests/test_lowering_numerics.py.

// 300 columns: two full 128-blocks in-bounds, a tail block masked.
// CHECK-LABEL: func @int8
// CHECK-SAME: %[[BYTES:[a-z0-9]+]]: tensor<48x96xi8>
// CHECK: bitttt.act_quant
// Rows in parallel, each writing its own column of the output in place.
// CHECK: scf.forall (%[[R:.*]]) in (48) shared_outs(%[[Y:.*]] = %{{.*}}) -> (tensor<5x48xf32>)
// CHECK: tensor.extract_slice %[[Y]][0, %[[R]]] [5, 1] [1, 1]
// CHECK: scf.for %[[T:.*]] = %{{.*}} to %{{.*}}
// CHECK: scf.for %[[B:.*]] = %{{.*}} to %{{.*}}
// Four activation vectors, then the block's 32 code bytes, unpacked by shifts.
// CHECK-COUNT-4: vector.transfer_read {{.*}} {in_bounds = [true]} : tensor<5x300xi8>, vector<32xi8>
// CHECK: vector.transfer_read %[[BYTES]]{{.*}} {in_bounds = [true]} : tensor<48x96xi8>, vector<32xi8>
// CHECK-COUNT-3: arith.shrui
// CHECK: bitttt.dot_2bit_i8 %{{.*}}, [%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}], [%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}]
// CHECK: scf.yield
// The tail block reads activations with bounds checks (no in_bounds).
// CHECK: vector.transfer_read {{[^{]*}}: tensor<5x300xi8>, vector<32xi8>
// CHECK: bitttt.dot_2bit_i8
// CHECK: vector.reduction <add>
// CHECK: arith.subi
// CHECK: arith.sitofp
// CHECK-NEXT: arith.mulf
// CHECK-NEXT: arith.divf
// CHECK: tensor.insert
// CHECK: scf.forall.in_parallel
// CHECK: tensor.parallel_insert_slice %{{.*}} into %[[Y]][0, %[[R]]] [5, 1] [1, 1]
func.func @int8(%x: tensor<5x300xf32>, %p: !bitttt.packed_ternary<48x300>, %g: f32) -> tensor<5x48xf32> {
  %y = bitttt.bitlinear %x, %p scale %g : tensor<5x300xf32>, !bitttt.packed_ternary<48x300> -> tensor<5x48xf32>
  return %y : tensor<5x48xf32>
}

// -----

// f32 activations: unpack the codes, f32 contraction, times γ.
// CHECK-LABEL: func @f32_activations
// CHECK-SAME: tensor<8x64xi8>
// CHECK: linalg.index 1
// CHECK: arith.shrui
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]
func.func @f32_activations(%x: tensor<4x130xf32>, %p: !bitttt.packed_ternary<8x130>, %g: f32) -> tensor<4x8xf32> {
  %y = bitttt.bitlinear %x, %p scale %g {act_bits = 0} : tensor<4x130xf32>, !bitttt.packed_ternary<8x130> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// Pre-quantized activations: no activation quantizer of its own.
// CHECK-LABEL: func @bitlinear_q
// CHECK-NOT: bitttt.act_quant
// CHECK: scf.forall
// CHECK: bitttt.dot_2bit_i8
func.func @bitlinear_q(%xq: tensor<2x128xi8>, %s: tensor<2xf32>, %p: !bitttt.packed_ternary<16x128>, %g: f32) -> tensor<2x16xf32> {
  %y = bitttt.bitlinear_q %xq, %s, %p scale %g : tensor<2x128xi8>, tensor<2xf32>, !bitttt.packed_ternary<16x128> -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

// Gate and up share each activation load; silu(g)·u is applied in the loop.
// CHECK-LABEL: func @gate_up_q
// CHECK-SAME: %[[G:[a-z0-9]+]]: tensor<16x32xi8>
// CHECK-SAME: %[[U:[a-z0-9]+]]: tensor<16x32xi8>
// CHECK: scf.forall
// CHECK: scf.for {{.*}} -> (vector<8xi32>, vector<8xi32>)
// CHECK-COUNT-4: vector.transfer_read {{.*}} : tensor<2x128xi8>, vector<32xi8>
// CHECK: vector.transfer_read %[[G]]
// CHECK: bitttt.dot_2bit_i8
// CHECK: vector.transfer_read %[[U]]
// CHECK: bitttt.dot_2bit_i8
// CHECK: math.exp
// CHECK: tensor.insert
func.func @gate_up_q(%xq: tensor<2x128xi8>, %s: tensor<2xf32>, %pg: !bitttt.packed_ternary<16x128>, %gg: f32,
                     %pu: !bitttt.packed_ternary<16x128>, %gu: f32) -> tensor<2x16xf32> {
  %h = bitttt.gate_up_q %xq, %s, %pg scale %gg, %pu scale %gu : tensor<2x128xi8>, tensor<2xf32>, !bitttt.packed_ternary<16x128>, !bitttt.packed_ternary<16x128> -> tensor<2x16xf32>
  return %h : tensor<2x16xf32>
}

// -----

func.func @not_an_argument(%x: tensor<4x32xf32>, %c: tensor<8x32xi8>, %g: f32) -> tensor<4x8xf32> {
  %p = bitttt.pack_ternary %c : tensor<8x32xi8> -> !bitttt.packed_ternary<8x32>
  // expected-error @+1 {{packed_ternary operand must be a function argument when lowering to kernels}}
  %y = bitttt.bitlinear %x, %p scale %g : tensor<4x32xf32>, !bitttt.packed_ternary<8x32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
