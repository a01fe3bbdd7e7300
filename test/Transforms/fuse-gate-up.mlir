// RUN: bitttt-opt %s --bitttt-fuse-gate-up --split-input-file | FileCheck %s

// CHECK-LABEL: func @swiglu
// CHECK-SAME: (%[[XQ:[a-z0-9]+]]: tensor<4x128xi8>, %[[S:[a-z0-9]+]]: tensor<4xf32>, %[[PG:[a-z0-9]+]]: {{.*}}, %[[GG:[a-z0-9]+]]: f32, %[[PU:[a-z0-9]+]]: {{.*}}, %[[GU:[a-z0-9]+]]: f32)
// CHECK-NEXT: %[[H:.*]] = bitttt.gate_up_q %[[XQ]], %[[S]], %[[PG]] scale %[[GG]], %[[PU]] scale %[[GU]]
// CHECK-NEXT: return %[[H]]
func.func @swiglu(%xq: tensor<4x128xi8>, %s: tensor<4xf32>, %pg: !bitttt.packed_ternary<64x128>, %gg: f32,
                  %pu: !bitttt.packed_ternary<64x128>, %gu: f32) -> tensor<4x64xf32> {
  %g = bitttt.bitlinear_q %xq, %s, %pg scale %gg : tensor<4x128xi8>, tensor<4xf32>, !bitttt.packed_ternary<64x128> -> tensor<4x64xf32>
  %u = bitttt.bitlinear_q %xq, %s, %pu scale %gu : tensor<4x128xi8>, tensor<4xf32>, !bitttt.packed_ternary<64x128> -> tensor<4x64xf32>
  %h = bitttt.silu_mul %g, %u : tensor<4x64xf32>
  return %h : tensor<4x64xf32>
}

// -----

// Not fused when a projection has another use, or the inputs differ.
// CHECK-LABEL: func @other_use
// CHECK-NOT: gate_up_q
// CHECK: bitttt.silu_mul
func.func @other_use(%xq: tensor<4x128xi8>, %s: tensor<4xf32>, %pg: !bitttt.packed_ternary<64x128>, %gg: f32,
                     %pu: !bitttt.packed_ternary<64x128>, %gu: f32) -> (tensor<4x64xf32>, tensor<4x64xf32>) {
  %g = bitttt.bitlinear_q %xq, %s, %pg scale %gg : tensor<4x128xi8>, tensor<4xf32>, !bitttt.packed_ternary<64x128> -> tensor<4x64xf32>
  %u = bitttt.bitlinear_q %xq, %s, %pu scale %gu : tensor<4x128xi8>, tensor<4xf32>, !bitttt.packed_ternary<64x128> -> tensor<4x64xf32>
  %h = bitttt.silu_mul %g, %u : tensor<4x64xf32>
  return %h, %g : tensor<4x64xf32>, tensor<4x64xf32>
}

// -----

// CHECK-LABEL: func @different_inputs
// CHECK-NOT: gate_up_q
func.func @different_inputs(%xq: tensor<4x128xi8>, %yq: tensor<4x128xi8>, %s: tensor<4xf32>,
                            %pg: !bitttt.packed_ternary<64x128>, %g: f32) -> tensor<4x64xf32> {
  %a = bitttt.bitlinear_q %xq, %s, %pg scale %g : tensor<4x128xi8>, tensor<4xf32>, !bitttt.packed_ternary<64x128> -> tensor<4x64xf32>
  %b = bitttt.bitlinear_q %yq, %s, %pg scale %g : tensor<4x128xi8>, tensor<4xf32>, !bitttt.packed_ternary<64x128> -> tensor<4x64xf32>
  %h = bitttt.silu_mul %a, %b : tensor<4x64xf32>
  return %h : tensor<4x64xf32>
}
