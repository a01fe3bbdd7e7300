// RUN: bitttt-opt %s --bitttt-vectorize-matmul=target=x86-64-v3 --split-input-file | FileCheck %s --check-prefix=V3
// RUN: bitttt-opt %s --bitttt-vectorize-matmul=target=x86-64-v4 --split-input-file | FileCheck %s --check-prefix=V4
// RUN: not bitttt-opt %s --split-input-file --bitttt-vectorize-matmul=target=sse2 2>&1 | FileCheck %s --check-prefix=BAD

// An odd shape smaller than a register tile is one tile: the K loop carries
// one accumulator per row, starts them at the fill's value (no pass over C)
// and does one FMA per row and step; each row is written once, after it.
// V3-LABEL: func @odd
// V3-DAG:   %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<7xf32>
// V3-DAG:   %[[C40:.*]] = arith.constant 40 : index
// V3-NOT:   linalg.fill
// V3:       scf.for %{{.*}} = %{{.*}} to %[[C40]] step %{{.*}} iter_args(%{{.*}} = %[[ZERO]], {{.*}}) -> (vector<7xf32>, vector<7xf32>, vector<7xf32>, vector<7xf32>, vector<7xf32>)
// V3:         vector.transfer_read {{.*}} : tensor<5x40xf32>, vector<5x1xf32>
// V3:         vector.transfer_read {{.*}} : tensor<40x7xf32>, vector<1x7xf32>
// V3-COUNT-5: vector.fma {{.*}} : vector<7xf32>
// V3-NOT:     vector.contract
// V3:         scf.yield
// V3-COUNT-5: vector.transfer_write {{.*}} : vector<7xf32>, tensor<5x7xf32>
// V4-LABEL: func @odd
// V4-COUNT-5: vector.fma {{.*}} : vector<7xf32>
// BAD: error: bitttt-vectorize-matmul: unknown target 'sse2'
func.func @odd(%a: tensor<5x40xf32>, %b: tensor<40x7xf32>) -> tensor<5x7xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<5x7xf32>
  %c = linalg.fill ins(%z : f32) outs(%e : tensor<5x7xf32>) -> tensor<5x7xf32>
  %y = linalg.matmul ins(%a, %b : tensor<5x40xf32>, tensor<40x7xf32>)
                     outs(%c : tensor<5x7xf32>) -> tensor<5x7xf32>
  return %y : tensor<5x7xf32>
}

// -----

// Register tiles: 6 x 16 on v3 (two ymm per row), 12 x 32 on v4 (two zmm);
// N outside M, K inside; the rows and columns left over are split off into
// their own static tiles. C is read before the K loop, not inside it.
// V3-LABEL: func @tiles
// V3:       scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %c16
// V3:         scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %c6
// V3-COUNT-6:   vector.transfer_read {{.*}} : tensor<24x32xf32>, vector<16xf32>
// V3:           scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// V3-NEXT:        vector.transfer_read {{.*}} : tensor<25x9xf32>, vector<6x1xf32>
// V3-NEXT:        vector.transfer_read {{.*}} : tensor<9x40xf32>, vector<1x16xf32>
// V3-COUNT-6:     vector.fma {{.*}} : vector<16xf32>
// The 8 columns past 32: 6 x 8 tiles; the last row: 1 x 16 and 1 x 8.
// V3:       scf.for {{.*}} step %c6
// V3:         vector.fma {{.*}} : vector<8xf32>
// V3:       vector.fma {{.*}} : vector<16xf32>
// V3:       vector.fma {{.*}} : vector<8xf32>
// V3-NOT:   linalg.matmul
// V3:       return
// V4-LABEL: func @tiles
// V4:       scf.for {{.*}} -> (vector<32xf32>, vector<32xf32>, vector<32xf32>, vector<32xf32>, vector<32xf32>, vector<32xf32>, vector<32xf32>, vector<32xf32>, vector<32xf32>, vector<32xf32>, vector<32xf32>, vector<32xf32>)
// V4:         vector.transfer_read {{.*}} : tensor<25x9xf32>, vector<12x1xf32>
// V4-COUNT-12: vector.fma {{.*}} : vector<32xf32>
// V4-NOT:   linalg.matmul
// V4:       return
func.func @tiles(%a: tensor<25x9xf32>, %b: tensor<9x40xf32>, %c: tensor<25x40xf32>)
    -> tensor<25x40xf32> {
  %y = linalg.matmul ins(%a, %b : tensor<25x9xf32>, tensor<9x40xf32>)
                     outs(%c : tensor<25x40xf32>) -> tensor<25x40xf32>
  return %y : tensor<25x40xf32>
}

// -----

// A big GEMM whose B fits in L2 (256 KiB here) runs its row blocks in an
// scf.forall (the runtime's threads): 2046 rows in tasks of one 6-row tile
// on v3 (341 = 11 x 31 tiles, at least 16 tasks), 2040 in tasks of 60 rows
// on v4; the remainder rows after the forall.
// V3-LABEL: func @rows
// V3:       scf.forall (%{{.*}}) = (0) to (2046) step (6)
// V3:         scf.for {{.*}} step %c16
// V3:           vector.fma {{.*}} : vector<16xf32>
// V3:       scf.forall.in_parallel
// V3:       vector.transfer_read {{.*}} vector<2x1xf32>
// V3:       vector.fma {{.*}} : vector<16xf32>
// V4-LABEL: func @rows
// V4:       scf.forall (%{{.*}}) = (0) to (2040) step (60)
// V4:         scf.for {{.*}} step %c32
// V4:           scf.for {{.*}} step %c12
// V4:             vector.fma {{.*}} : vector<32xf32>
// V4:       scf.forall.in_parallel
// V4:       vector.transfer_read {{.*}} vector<8x1xf32>
func.func @rows(%a: tensor<2048x256xf32>, %b: tensor<256x256xf32>) -> tensor<2048x256xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2048x256xf32>
  %c = linalg.fill ins(%z : f32) outs(%e : tensor<2048x256xf32>) -> tensor<2048x256xf32>
  %y = linalg.matmul ins(%a, %b : tensor<2048x256xf32>, tensor<256x256xf32>)
                     outs(%c : tensor<2048x256xf32>) -> tensor<2048x256xf32>
  return %y : tensor<2048x256xf32>
}

// -----

// The weight-gradient shape: B (8 MiB) does not fit in L2, so the tasks
// split N (64 columns each: 512 KiB of B) and keep all rows; K runs in
// blocks of 256 (C is re-read per block, so the fill stays).
// V3-LABEL: func @cols
// V3:       linalg.fill
// V3:       scf.forall (%{{.*}}) = (0) to (1024) step (64)
// V3:         scf.for {{.*}} = %c0 to %c2048 step %c256
// V3:           scf.for {{.*}} step %c16
// V3:             scf.for {{.*}} step %c6
// V3:               scf.for {{.*}} = %c0 to %c256 step %c1
// V3:                 vector.fma {{.*}} : vector<16xf32>
// V4-LABEL: func @cols
// V4:       scf.forall (%{{.*}}) = (0) to (1024) step (64)
// V4:         scf.for {{.*}} = %c0 to %c2048 step %c256
// V4:               vector.fma {{.*}} : vector<32xf32>
func.func @cols(%a: tensor<256x2048xf32>, %b: tensor<2048x1024xf32>) -> tensor<256x1024xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<256x1024xf32>
  %c = linalg.fill ins(%z : f32) outs(%e : tensor<256x1024xf32>) -> tensor<256x1024xf32>
  %y = linalg.matmul ins(%a, %b : tensor<256x2048xf32>, tensor<2048x1024xf32>)
                     outs(%c : tensor<256x1024xf32>) -> tensor<256x1024xf32>
  return %y : tensor<256x1024xf32>
}

// -----

// batch_matmul: a loop over the batch, register tiles inside (16 rows: 12 +
// 4 on v4, 12 + 4 as two 6-row tiles and a 4-row one on v3). Too small for
// threads: scf.for, not scf.forall.
// V3-LABEL: func @batch
// V3-NOT:   scf.forall
// V3:       scf.for %{{.*}} = %c0 to %c64 step %c1
// V3:         vector.transfer_read {{.*}} : tensor<64x16x16xf32>, vector<1x6x1xf32>
// V3:         vector.fma {{.*}} : vector<16xf32>
// V3:       vector.transfer_read {{.*}} : tensor<64x16x16xf32>, vector<1x4x1xf32>
// V4-LABEL: func @batch
// V4:       vector.transfer_read {{.*}} : tensor<64x16x16xf32>, vector<1x12x1xf32>
// V4-COUNT-12: vector.fma {{.*}} : vector<16xf32>
func.func @batch(%a: tensor<64x16x16xf32>, %b: tensor<64x16x16xf32>) -> tensor<64x16x16xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x16x16xf32>
  %c = linalg.fill ins(%z : f32) outs(%e : tensor<64x16x16xf32>) -> tensor<64x16x16xf32>
  %y = linalg.batch_matmul ins(%a, %b : tensor<64x16x16xf32>, tensor<64x16x16xf32>)
                           outs(%c : tensor<64x16x16xf32>) -> tensor<64x16x16xf32>
  return %y : tensor<64x16x16xf32>
}

// -----

// A big batch runs one batch element per task.
// V4-LABEL: func @big_batch
// V4:       scf.forall (%{{.*}}) in (40)
// V4:         vector.fma {{.*}} : vector<32xf32>
func.func @big_batch(%a: tensor<40x32x64xf32>, %b: tensor<40x64x48xf32>,
                     %c: tensor<40x32x48xf32>) -> tensor<40x32x48xf32> {
  %y = linalg.batch_matmul ins(%a, %b : tensor<40x32x64xf32>, tensor<40x64x48xf32>)
                           outs(%c : tensor<40x32x48xf32>) -> tensor<40x32x48xf32>
  return %y : tensor<40x32x48xf32>
}

// -----

// MLIR 22 spells matmul_transpose_a as linalg.matmul with indexing maps:
// the tile reads a row of Aᵀ (6 contiguous elements) per step.
// V3-LABEL: func @transpose_a
// V3:       scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// V3:         vector.transfer_read {{.*}} : tensor<9x24xf32>, vector<1x6xf32>
// V3-COUNT-6: vector.fma {{.*}} : vector<16xf32>
// V3-NOT:   linalg.matmul
func.func @transpose_a(%a: tensor<9x24xf32>, %b: tensor<9x32xf32>, %c: tensor<24x32xf32>)
    -> tensor<24x32xf32> {
  %y = linalg.matmul
      indexing_maps = [affine_map<(m, n, k) -> (k, m)>, affine_map<(m, n, k) -> (k, n)>,
                       affine_map<(m, n, k) -> (m, n)>]
      ins(%a, %b : tensor<9x24xf32>, tensor<9x32xf32>)
      outs(%c : tensor<24x32xf32>) -> tensor<24x32xf32>
  return %y : tensor<24x32xf32>
}

// -----

// Dynamic shapes and other element types stay for the loop lowering.
// V3-LABEL: func @left_alone
// V3:       linalg.matmul {{.*}} tensor<?x8xf32>
// V3:       linalg.matmul {{.*}} tensor<4x8xf64>
// V3-NOT:   vector.
// V3:       return
func.func @left_alone(%a: tensor<?x8xf32>, %b: tensor<8x8xf32>, %c: tensor<?x8xf32>,
                      %d: tensor<4x8xf64>, %e: tensor<8x8xf64>, %f: tensor<4x8xf64>)
    -> (tensor<?x8xf32>, tensor<4x8xf64>) {
  %y = linalg.matmul ins(%a, %b : tensor<?x8xf32>, tensor<8x8xf32>)
                     outs(%c : tensor<?x8xf32>) -> tensor<?x8xf32>
  %z = linalg.matmul ins(%d, %e : tensor<4x8xf64>, tensor<8x8xf64>)
                     outs(%f : tensor<4x8xf64>) -> tensor<4x8xf64>
  return %y, %z : tensor<?x8xf32>, tensor<4x8xf64>
}

// -----

// Per-head vector-matrix products (TTT decode's k·W and q·W in one generic):
// tiles of 4 vectors of columns (v3: 32, v4: 64) over (h, j), the row loop
// innermost carrying both outputs' tiles in registers; W read once per
// vector, each output written once per tile.
// V3-LABEL: func @vecmat
// V3:       scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c1
// V3:         scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c32
// V3-COUNT-2:   vector.transfer_read {{.*}} : tensor<2x64xf32>, vector<1x32xf32>
// V3:           scf.for {{.*}} -> (vector<1x32xf32>, vector<1x32xf32>)
// V3:             vector.transfer_read {{.*}} : tensor<2x16x64xf32>, vector<1x1x32xf32>
// V3-COUNT-2:     arith.addf {{.*}} : vector<1x32xf32>
// V3:             scf.yield
// V3-COUNT-2:   vector.transfer_write {{.*}} : vector<1x32xf32>, tensor<2x64xf32>
// V4-LABEL: func @vecmat
// V4:           scf.for {{.*}} -> (vector<1x64xf32>, vector<1x64xf32>)
#vec = affine_map<(h, a, j) -> (h, a)>
#mat = affine_map<(h, a, j) -> (h, a, j)>
#out = affine_map<(h, a, j) -> (h, j)>
func.func @vecmat(%k: tensor<2x16xf32>, %q: tensor<2x16xf32>,
                  %w: tensor<2x16x64xf32>, %zk: tensor<2x64xf32>,
                  %zq: tensor<2x64xf32>) -> (tensor<2x64xf32>, tensor<2x64xf32>) {
  %r:2 = linalg.generic {indexing_maps = [#vec, #vec, #mat, #out, #out],
                         iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%k, %q, %w : tensor<2x16xf32>, tensor<2x16xf32>, tensor<2x16x64xf32>)
      outs(%zk, %zq : tensor<2x64xf32>, tensor<2x64xf32>) {
  ^bb0(%a: f32, %b: f32, %m: f32, %x: f32, %y: f32):
    %p = arith.mulf %a, %m : f32
    %s = arith.addf %x, %p : f32
    %p2 = arith.mulf %b, %m : f32
    %s2 = arith.addf %y, %p2 : f32
    linalg.yield %s, %s2 : f32, f32
  } -> (tensor<2x64xf32>, tensor<2x64xf32>)
  return %r#0, %r#1 : tensor<2x64xf32>, tensor<2x64xf32>
}
