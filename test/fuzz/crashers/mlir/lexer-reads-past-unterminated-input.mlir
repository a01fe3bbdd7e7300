// RUN: bitttt-opt %s | FileCheck %s
// Round trip through the generic form must give the same module:
// RUN: bitttt-opt %s --mlir-print-op-generic | bitttt-opt | FileCheck %s
// The generic form re-parses to itself:
// RUN: bitttt-opt %s --mlir-print-op-generic > %t.generic.mlir
// RUN: bitttt-opt %t.generic.mlir --mlir-print-op-generic | diff %t.generic.mlir -
// RUN: bitttt-opt %s --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

// CHECK-LABEL: func @quant
// GENERIC-LABEL: sym_name = "quant"
func.func @quant(%w: tensor<64x32xf32>, %x: tensor<8x32xf32>)
    -> (tensor<64x32xi8>, f32, tensor<8x32xi8>, tensor<8xf32>) {
  // CHECK: %[[CODES:.*]], %[[GAMMA:.*]] = bitttt.weight_quant %{{.*}} : tensor<64x32xf32> -> tensor<64x32xi8>
  // GENERIC: "bitttt.weight_quant"(%{{.*}}) : (tensor<64x32xf32>) -> (tensor<64x32xi8>, f32)
  %codes, %gamma = bitttt.weight_quant %w : tensor<64x32xf32> -> tensor<64x32xi8>
  // CHECK: bitttt.act_quant %{{.*}} : tensor<8x32xf32> -> tensor<8x32xi8>, tensor<8xf32>
  // GENERIC: "bitttt.act_quant"(%{{.*}}) : (tensor<8x32xf32>) -> (tensor<8x32xi8>, tensor<8xf32>)
  %xq, %s = bitttt.act_quant %x : tensor<8x32xf32> -> tensor<8x32xi8>, tensor<8xf32>
  return %codes, %gamma, %xq, %s : tensor<64x32xi8>, f32, tensor<8x32xi8>, tensor<8xf32>
}

// CHECK-LABEL: func @packing
func.func @packing(%codes: tensor<64x30xi8>, %p: !bitttt.packed_ternary<16x16>)
    -> (!bitttt.packed_ternary<64x30>, tensor<16x16xi8>) {
  // CHECK: bitttt.pack_ternary %{{.*}} : tensor<64x30xi8> -> !bitttt.packed_ternary<64x30>
  // GENERIC: "bitttt.pack_ternary"(%{{.*}}) : (tensor<64x30xi8>) -> !bitttt.packed_ternary<64x30>
  %0 = bitttt.pack_ternary %codes : tensor<64x30xi8> -> !bitttt.packed_ternary<64x30>
  // CHECK: bitttt.unpack_ternary %{{.*}} : !bitttt.packed_ternary<16x16> -> tensor<16x16xi8>
  // GENERIC: "bitttt.unpack_ternary"(%{{.*}}) : (!bitttt.packed_ternary<16x16>) -> tensor<16x16xi8>
  %1 = bitttt.unpack_ternary %p : !bitttt.packed_ternary<16x16> -> tensor<16x16xi8>
  return %0, %1 : !bitttt.packed_ternary<64x30>, tensor<16x16xi8>
}

// The layout prints only when it is not the default i2_b128.
// CHECK-LABEL: func @layouts
// CHECK-SAME: !bitttt.packed_ternary<8x200, t5_b160>
// CHECK-SAME: !bitttt.packed_ternary<8x200>
// CHECK: bitttt.unpack_ternary %{{.*}} : !bitttt.packed_ternary<8x200, t5_b160> -> tensor<8x200xi8>
func.func @layouts(%a: !bitttt.packed_ternary<8x200, t5_b160>,
                   %b: !bitttt.packed_ternary<8x200, i2_b128>) -> tensor<8x200xi8> {
  %0 = bitttt.unpack_ternary %a : !bitttt.packed_ternary<8x200, t5_b160> -> tensor<8x200xi8>
  return %0 : tensor<8x200xi8>
}

// CHECK-LABEL: func @norms
func.func @norms(%x: tensor<8x32xf32>, %g: tensor<32xf32>, %xh: tensor<8x2x16xf32>,
                 %hg: tensor<2x16xf32>, %hb: tensor<2x16xf32>)
    -> (tensor<8x32xf32>, tensor<8x32xf32>, tensor<8x32xf32>, tensor<8x2x16xf32>) {
  // CHECK: bitttt.rms_norm %{{.*}}, %{{.*}} : tensor<8x32xf32>, tensor<32xf32>
  // GENERIC: "bitttt.rms_norm"(%{{.*}}, %{{.*}}) <{eps = 9.99999974E-6 : f32}>
  %0 = bitttt.rms_norm %x, %g : tensor<8x32xf32>, tensor<32xf32>
  // CHECK: bitttt.rms_norm %{{.*}}, %{{.*}} {eps = 9.99999997E-7 : f32} : tensor<8x32xf32>, tensor<32xf32>
  %1 = bitttt.rms_norm %x, %g {eps = 1.0e-6 : f32} : tensor<8x32xf32>, tensor<32xf32>
  // CHECK: bitttt.layer_norm %{{.*}}, %{{.*}}, %{{.*}} : tensor<8x32xf32>, tensor<32xf32>
  // GENERIC: "bitttt.layer_norm"(%{{.*}}, %{{.*}}, %{{.*}}) <{eps = 9.99999997E-7 : f32}>
  %2 = bitttt.layer_norm %x, %g, %g : tensor<8x32xf32>, tensor<32xf32>
  // CHECK: bitttt.layer_norm %{{.*}}, %{{.*}}// RUN: bitttt-opt %s | FileCh, %{{.*}} : tensor<8x2x16xf32>, tensoeck %s
// Round trip through the generic form must give the same module:
//r<2x16xf 32>
  %RUN: 3 = bitttt.labyier