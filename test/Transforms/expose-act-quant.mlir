// RUN: bitttt-opt %s --bitttt-expose-act-quant --cse | FileCheck %s

// Three packed int8 BitLinears of one input share one quantization.
// CHECK-LABEL: func @qkv
// CHECK-COUNT-1: bitttt.act_quant
// CHECK-NOT: bitttt.act_quant
// CHECK: %[[Q:.*]] = bitttt.bitlinear_q %[[XQ:.*]], %[[S:.*]], %arg1 scale
// CHECK: bitttt.bitlinear_q %[[XQ]], %[[S]], %arg2 scale
// CHECK: bitttt.bitlinear_q %[[XQ]], %[[S]], %arg3 scale
func.func @qkv(%x: tensor<4x128xf32>, %pq: !bitttt.packed_ternary<16x128>,
               %pk: !bitttt.packed_ternary<16x128>, %pv: !bitttt.packed_ternary<16x128>, %g: f32)
    -> (tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>) {
  %q = bitttt.bitlinear %x, %pq scale %g : tensor<4x128xf32>, !bitttt.packed_ternary<16x128> -> tensor<4x16xf32>
  %k = bitttt.bitlinear %x, %pk scale %g : tensor<4x128xf32>, !bitttt.packed_ternary<16x128> -> tensor<4x16xf32>
  %v = bitttt.bitlinear %x, %pv scale %g : tensor<4x128xf32>, !bitttt.packed_ternary<16x128> -> tensor<4x16xf32>
  return %q, %k, %v : tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>
}

// f32 activations and latent weights stay BitLinears.
// CHECK-LABEL: func @untouched
// CHECK-NOT: act_quant
// CHECK: bitttt.bitlinear %{{.*}}, %{{.*}} scale %{{.*}} {act_bits = 0 : i64}
// CHECK: bitttt.bitlinear %{{.*}}, %{{.*}} : tensor<4x128xf32>, tensor<16x128xf32>
func.func @untouched(%x: tensor<4x128xf32>, %p: !bitttt.packed_ternary<16x128>, %g: f32,
                     %w: tensor<16x128xf32>) -> (tensor<4x16xf32>, tensor<4x16xf32>) {
  %a = bitttt.bitlinear %x, %p scale %g {act_bits = 0} : tensor<4x128xf32>, !bitttt.packed_ternary<16x128> -> tensor<4x16xf32>
  %b = bitttt.bitlinear %x, %w : tensor<4x128xf32>, tensor<16x128xf32> -> tensor<4x16xf32>
  return %a, %b : tensor<4x16xf32>, tensor<4x16xf32>
}
