// RUN: bitttt-opt %s --bitttt-pack-weights --split-input-file | FileCheck %s

// A named weight used only by BitLinears becomes packed codes + a scale.
// CHECK-LABEL: func @two_uses
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<4x32xf32>
// The parts say what they are: which weight, which part, which layout.
// CHECK-SAME: %[[P:[a-z0-9]+]]: !bitttt.packed_ternary<16x32> {bitttt.packed = {layout = "i2_b128", part = "codes", weight = "w"}, bitttt.tensor = "w.codes"}
// CHECK-SAME: %[[S:[a-z0-9]+]]: tensor<f32> {bitttt.packed = {layout = "i2_b128", part = "scale", weight = "w"}, bitttt.tensor = "w.scale"}
// CHECK-NOT: tensor<16x32xf32>
// CHECK: %[[G:.*]] = tensor.extract %[[S]][]
// CHECK: bitttt.bitlinear %[[X]], %[[P]] scale %[[G]] : tensor<4x32xf32>, !bitttt.packed_ternary<16x32>
// CHECK: bitttt.bitlinear %{{.*}}, %[[P]] scale %{{.*}} {act_bits = 0 : i64}
func.func @two_uses(%x: tensor<4x32xf32>, %w: tensor<16x32xf32> {bitttt.tensor = "w"})
    -> (tensor<4x16xf32>, tensor<4x16xf32>) {
  %a = bitttt.bitlinear %x, %w : tensor<4x32xf32>, tensor<16x32xf32> -> tensor<4x16xf32>
  %b = bitttt.bitlinear %x, %w {act_bits = 0} : tensor<4x32xf32>, tensor<16x32xf32> -> tensor<4x16xf32>
  return %a, %b : tensor<4x16xf32>, tensor<4x16xf32>
}

// -----

// Weights with other uses, or without a name, are left alone.
// CHECK-LABEL: func @left_alone
// CHECK-SAME: tensor<16x32xf32> {bitttt.tensor = "w"}
// CHECK-SAME: %{{.*}}: tensor<16x32xf32>)
// CHECK-NOT: packed_ternary
func.func @left_alone(%x: tensor<4x32xf32>, %w: tensor<16x32xf32> {bitttt.tensor = "w"},
                      %v: tensor<16x32xf32>) -> (tensor<4x16xf32>, tensor<16x32xf32>, tensor<4x16xf32>) {
  %a = bitttt.bitlinear %x, %w : tensor<4x32xf32>, tensor<16x32xf32> -> tensor<4x16xf32>
  %b = bitttt.bitlinear %x, %v : tensor<4x32xf32>, tensor<16x32xf32> -> tensor<4x16xf32>
  return %a, %w, %b : tensor<4x16xf32>, tensor<16x32xf32>, tensor<4x16xf32>
}
