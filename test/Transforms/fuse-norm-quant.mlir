// RUN: bitttt-opt %s --bitttt-fuse-norm-quant --split-input-file | FileCheck %s

// CHECK-LABEL: func @fused
// CHECK-NOT: bitttt.rms_norm %
// CHECK: %[[Q:.*]], %[[S:.*]] = bitttt.rms_norm_act_quant %arg0, %arg1 {eps = 9.99999997E-7 : f32} : tensor<4x64xf32>, tensor<64xf32> -> tensor<4x64xi8>, tensor<4xf32>
// CHECK-NOT: bitttt.act_quant
// CHECK: return %[[Q]], %[[S]]
func.func @fused(%x: tensor<4x64xf32>, %g: tensor<64xf32>) -> (tensor<4x64xi8>, tensor<4xf32>) {
  %n = bitttt.rms_norm %x, %g {eps = 1.0e-6 : f32} : tensor<4x64xf32>, tensor<64xf32>
  %q, %s = bitttt.act_quant %n : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<4xf32>
  return %q, %s : tensor<4x64xi8>, tensor<4xf32>
}

// -----

// The norm's f32 output is needed elsewhere: no fusion.
// CHECK-LABEL: func @needed
// CHECK: bitttt.rms_norm %
// CHECK: bitttt.act_quant
// CHECK-NOT: rms_norm_act_quant
func.func @needed(%x: tensor<4x64xf32>, %g: tensor<64xf32>) -> (tensor<4x64xi8>, tensor<4x64xf32>) {
  %n = bitttt.rms_norm %x, %g : tensor<4x64xf32>, tensor<64xf32>
  %q, %s = bitttt.act_quant %n : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<4xf32>
  return %q, %n : tensor<4x64xi8>, tensor<4x64xf32>
}
