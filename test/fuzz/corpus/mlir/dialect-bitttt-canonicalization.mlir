// RUN: bitttt-opt %s -canonicalize -split-input-file | FileCheck %s

// unpack(pack(c)) folds to c.
// CHECK-LABEL: func @unpack_of_pack
// CHECK-SAME: (%[[C:.*]]: tensor<64x30xi8>)
// CHECK-NEXT: return %[[C]]
func.func @unpack_of_pack(%c: tensor<64x30xi8>) -> tensor<64x30xi8> {
  %p = bitttt.pack_ternary %c : tensor<64x30xi8> -> !bitttt.packed_ternary<64x30>
  %u = bitttt.unpack_ternary %p : !bitttt.packed_ternary<64x30> -> tensor<64x30xi8>
  return %u : tensor<64x30xi8>
}

// -----

// pack(unpack(p)) folds to p.
// CHECK-LABEL: func @pack_of_unpack
// CHECK-SAME: (%[[P:.*]]: !bitttt.packed_ternary<16x16>)
// CHECK-NEXT: return %[[P]]
func.func @pack_of_unpack(%p: !bitttt.packed_ternary<16x16>) -> !bitttt.packed_ternary<16x16> {
  %u = bitttt.unpack_ternary %p : !bitttt.packed_ternary<16x16> -> tensor<16x16xi8>
  %q = bitttt.pack_ternary %u : tensor<16x16xi8> -> !bitttt.packed_ternary<16x16>
  return %q : !bitttt.packed_ternary<16x16>
}

// -----

// A fold that would change the type is not done: the packed codes have a
// dynamic shape and the unpacked ones a static one.
// CHECK-LABEL: func @no_fold_across_types
// CHECK: bitttt.pack_ternary
// CHECK: bitttt.unpack_ternary
func.func @no_fold_across_types(%c: tensor<?x16xi8>) -> tensor<16x16xi8> {
  %p = bitttt.pack_ternary %c : tensor<?x16xi8> -> !bitttt.packed_ternary<16x16>
  %u = bitttt.unpack_ternary %p : !bitttt.packed_ternary<16x16> -> tensor<16x16xi8>
  return %u : tensor<16x16xi8>
}

// -----

// Every op is pure: unused results are erased.
// CHECK-LABEL: func @dead_ops
// CHECK-NOT: bitttt.
// CHECK: return
func.func @dead_ops(%x: tensor<8x32xf32>, %w: tensor<64x32xf32>, %g: tensor<32xf32>) {
  %0 = bitttt.rms_norm %x, %g : tensor<8x32xf32>, tensor<32xf32>
  %1 = bitttt.bitlinear %0, %w : tensor<8x32xf32>, tensor<64x32xf32> -> tensor<8x64xf32>
  %c, %s = bitttt.weight_quant %w : tensor<64x32xf32> -> tensor<64x32xi8>
  return
}
