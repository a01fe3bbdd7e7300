// RUN: bitttt-opt %s --split-input-file --bitttt-lower-ternary-matmul=target=x86-64-v4 | FileCheck %s --check-prefix=V4
// RUN: bitttt-opt %s --split-input-file --bitttt-lower-ternary-matmul=target=x86-64-v3 | FileCheck %s --check-prefix=V3
// RUN: not bitttt-opt %s --split-input-file --bitttt-lower-ternary-matmul=target=armv8 2>&1 | FileCheck %s --check-prefix=BAD
// Bit-exactness against the PyTorch reference: python/tests/test_lowering_numerics.py.
// The tiles are CpuTargets.def's MM_ROWS x MM_TOKENS: x86-64-v4 3 x 6 with
// two 128-weight blocks per zmm, x86-64-v3 1 x 6 with one block per ymm.

// 20 tokens, 5 rows, 300 columns (two whole blocks and a ragged one).
// V4-LABEL: func @tiles
// V4-SAME: %[[BYTES:[a-z0-9]+]]: tensor<5x96xi8>
// The activations are copied once into the two-block order (K up to 512),
// 32 bytes at a time: each sub-vector of blocks 0 and 1 side by side,
// then the step past K with masked reads.
// V4: scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}) -> (tensor<20x512xi8>)
// V4: scf.for {{.*}} to %c1{{.*}} iter_args(%{{.*}} = %{{.*}}) -> (tensor<20x512xi8>)
// V4: vector.transfer_read %arg0{{.*}} {in_bounds = [true]} : tensor<20x300xi8>, vector<32xi8>
// V4-NEXT: vector.transfer_write {{.*}} {in_bounds = [true]} : vector<32xi8>, tensor<20x512xi8>
// V4-COUNT-7: vector.transfer_read %arg0{{.*}} {in_bounds = [true]} : tensor<20x300xi8>, vector<32xi8>
// V4-NOT: in_bounds = [true]} : tensor<20x300xi8>
// V4-COUNT-8: vector.transfer_read %arg0{{[^{]*}} : tensor<20x300xi8>, vector<32xi8>
// One whole tile of 3 rows, then the 2 remainder rows.
// V4: scf.forall (%{{.*}}) in (1) shared_outs(%{{.*}} = %{{.*}}) -> (tensor<20x5xf32>)
// V4: tensor.extract_slice {{.*}} [20, 3] [1, 1] : tensor<20x5xf32> to tensor<20x3xf32>
// Whole tiles of 6 tokens (18 of the 20).
// V4: scf.for %{{.*}} = %c0{{.*}} to %c18{{.*}} step %c6{{.*}} iter_args(%{{.*}}) -> (tensor<20x3xf32>)
// One in-bounds step (blocks 0 and 1), 18 accumulators.
// V4: scf.for {{.*}} to %c1{{.*}} -> (vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>)
// V4: vector.transfer_read {{.*}} {in_bounds = [true]} : tensor<20x512xi8>, vector<64xi8>
// V4: vector.transfer_read %[[BYTES]]{{.*}} {in_bounds = [true]} : tensor<5x96xi8>, vector<64xi8>
// V4-COUNT-3: arith.shrui
// V4: bitttt.dot_2bit_i8 {{.*}} {chained} : vector<16xi32>, [vector<64xi8>, vector<64xi8>, vector<64xi8>, vector<64xi8>]
// The last step (the ragged block) reads the codes with masks.
// V4: vector.transfer_read %[[BYTES]]{{[^{]*}}: tensor<5x96xi8>, vector<64xi8>
// V4: vector.reduction <add>
// V4: arith.subi
// V4: arith.sitofp
// V4-NEXT: arith.mulf
// V4-NEXT: arith.divf
// V4: tensor.insert
// The 2 remaining tokens: a smaller static tile after the loop.
// V4: scf.for {{.*}} -> (vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>)
// V4: scf.forall.in_parallel
// V4: scf.forall (%{{.*}}) in (1) shared_outs
// V4: tensor.extract_slice {{.*}} [20, 2] [1, 1] : tensor<20x5xf32> to tensor<20x2xf32>

// V3-LABEL: func @tiles
// No copy of the activations: one block per ymm.
// V3-NOT: tensor<20x512xi8>
// V3: scf.forall (%{{.*}}) in (5) shared_outs
// V3: scf.for %{{.*}} = %c0{{.*}} to %c18{{.*}} step %c6
// V3: scf.for {{.*}} to %c2{{.*}} -> (vector<8xi32>, vector<8xi32>, vector<8xi32>, vector<8xi32>, vector<8xi32>, vector<8xi32>)
// V3-COUNT-4: vector.transfer_read {{.*}} {in_bounds = [true]} : tensor<20x300xi8>, vector<32xi8>
// V3: bitttt.dot_2bit_i8 {{.*}} : vector<8xi32>, [vector<32xi8>, vector<32xi8>, vector<32xi8>, vector<32xi8>]
// The ragged block reads the activations with masks.
// V3: vector.transfer_read {{[^{]*}}: tensor<20x300xi8>, vector<32xi8>
// BAD: bitttt-lower-ternary-matmul: unknown target 'armv8'
func.func @tiles(%xq: tensor<20x300xi8>, %s: tensor<20xf32>, %p: !bitttt.packed_ternary<5x300>, %g: f32) -> tensor<20x5xf32> {
  %y = bitttt.bitlinear_q %xq, %s, %p scale %g : tensor<20x300xi8>, tensor<20xf32>, !bitttt.packed_ternary<5x300> -> tensor<20x5xf32>
  return %y : tensor<20x5xf32>
}

// -----

// Gate and up share every activation load; half the rows per tile; the
// epilogue is silu(g)·u.
// V4-LABEL: func @gate_up_q
// V4-SAME: %[[G:[a-z0-9]+]]: tensor<16x32xi8>
// V4-SAME: %[[U:[a-z0-9]+]]: tensor<16x32xi8>
// V4: scf.forall (%{{.*}}) in (16) shared_outs
// V4: vector.transfer_read %[[G]]
// V4: bitttt.dot_2bit_i8
// V4: vector.transfer_read %[[U]]
// V4: bitttt.dot_2bit_i8
// V4: math.exp
// V4: tensor.insert
func.func @gate_up_q(%xq: tensor<2x128xi8>, %s: tensor<2xf32>, %pg: !bitttt.packed_ternary<16x128>, %gg: f32,
                     %pu: !bitttt.packed_ternary<16x128>, %gu: f32) -> tensor<2x16xf32> {
  %h = bitttt.gate_up_q %xq, %s, %pg scale %gg, %pu scale %gu : tensor<2x128xi8>, tensor<2xf32>, !bitttt.packed_ternary<16x128>, !bitttt.packed_ternary<16x128> -> tensor<2x16xf32>
  return %h : tensor<2x16xf32>
}

// -----

// Packed arguments become their bytes; casts left by the tensor half fold.
// V4-LABEL: func @casts
// V4-SAME: (%[[A:.*]]: tensor<8x32xi8>) -> tensor<8x32xi8>
// V4-NEXT: return %[[A]]
func.func @casts(%p: !bitttt.packed_ternary<8x100>) -> tensor<8x32xi8> {
  %b = builtin.unrealized_conversion_cast %p : !bitttt.packed_ternary<8x100> to tensor<8x32xi8>
  return %b : tensor<8x32xi8>
}
