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

// -----

// A per-layer function: its weight parameter becomes the pair too (no names:
// the caller's arguments carry them), and each call passes both parts of the
// caller's packed argument.
// CHECK-LABEL: func @calls_layer
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<4x32xf32>
// CHECK-SAME: %[[P0:[a-z0-9]+]]: !bitttt.packed_ternary<16x32> {bitttt.packed = {layout = "i2_b128", part = "codes", weight = "l0.w"}, bitttt.tensor = "l0.w.codes"}
// CHECK-SAME: %[[S0:[a-z0-9]+]]: tensor<f32> {bitttt.packed = {layout = "i2_b128", part = "scale", weight = "l0.w"}, bitttt.tensor = "l0.w.scale"}
// CHECK-SAME: %[[P1:[a-z0-9]+]]: !bitttt.packed_ternary<16x32> {bitttt.packed = {layout = "i2_b128", part = "codes", weight = "l1.w"}, bitttt.tensor = "l1.w.codes"}
// CHECK-SAME: %[[S1:[a-z0-9]+]]: tensor<f32> {bitttt.packed = {layout = "i2_b128", part = "scale", weight = "l1.w"}, bitttt.tensor = "l1.w.scale"}
// CHECK: call @layer(%[[X]], %[[P0]], %[[S0]])
// CHECK: call @layer(%[[X]], %[[P1]], %[[S1]])
// CHECK-LABEL: func private @layer
// CHECK-SAME: %[[LX:[a-z0-9]+]]: tensor<4x32xf32>, %[[LP:[a-z0-9]+]]: !bitttt.packed_ternary<16x32>, %[[LS:[a-z0-9]+]]: tensor<f32>)
// CHECK: %[[G:.*]] = tensor.extract %[[LS]][]
// CHECK: bitttt.bitlinear %[[LX]], %[[LP]] scale %[[G]]
func.func @calls_layer(%x: tensor<4x32xf32>,
                       %w0: tensor<16x32xf32> {bitttt.tensor = "l0.w"},
                       %w1: tensor<16x32xf32> {bitttt.tensor = "l1.w"})
    -> (tensor<4x16xf32>, tensor<4x16xf32>) {
  %a = call @layer(%x, %w0) : (tensor<4x32xf32>, tensor<16x32xf32>) -> tensor<4x16xf32>
  %b = call @layer(%x, %w1) : (tensor<4x32xf32>, tensor<16x32xf32>) -> tensor<4x16xf32>
  return %a, %b : tensor<4x16xf32>, tensor<4x16xf32>
}
func.func private @layer(%x: tensor<4x32xf32>, %w: tensor<16x32xf32>) -> tensor<4x16xf32> {
  %a = bitttt.bitlinear %x, %w : tensor<4x32xf32>, tensor<16x32xf32> -> tensor<4x16xf32>
  return %a : tensor<4x16xf32>
}

// -----

// A call that passes a weight with another use keeps the parameter latent.
// CHECK-LABEL: func @mixed_caller
// CHECK-NOT: packed_ternary
// CHECK-LABEL: func private @mixed_layer
// CHECK-SAME: tensor<16x32xf32>
// CHECK-NOT: packed_ternary
func.func @mixed_caller(%x: tensor<4x32xf32>,
                        %w: tensor<16x32xf32> {bitttt.tensor = "w"})
    -> (tensor<4x16xf32>, tensor<16x32xf32>) {
  %a = call @mixed_layer(%x, %w) : (tensor<4x32xf32>, tensor<16x32xf32>) -> tensor<4x16xf32>
  return %a, %w : tensor<4x16xf32>, tensor<16x32xf32>
}
func.func private @mixed_layer(%x: tensor<4x32xf32>, %w: tensor<16x32xf32>) -> tensor<4x16xf32> {
  %a = bitttt.bitlinear %x, %w : tensor<4x32xf32>, tensor<16x32xf32> -> tensor<4x16xf32>
  return %a : tensor<4x16xf32>
}
