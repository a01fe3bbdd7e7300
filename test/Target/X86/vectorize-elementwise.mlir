// RUN: bitttt-opt %s --bitttt-vectorize-elementwise=target=x86-64-v3 --split-input-file | FileCheck %s --check-prefix=V3
// RUN: bitttt-opt %s --bitttt-vectorize-elementwise=target=x86-64-v4 --split-input-file | FileCheck %s --check-prefix=V4
// RUN: not bitttt-opt %s --split-input-file --bitttt-vectorize-elementwise=target=sse2 2>&1 | FileCheck %s --check-prefix=BAD

// An elementwise generic becomes loops over [1, lanes] tiles of vector ops.
// V3-LABEL: func @scale_rows
// V3: scf.for
// V3: scf.for {{.*}} step %c8
// V3: vector.transfer_read {{.*}} vector<1x8xf32>
// V3: arith.mulf {{.*}} : vector<1x8xf32>
// V3: vector.transfer_write {{.*}} vector<1x8xf32>
// V4-LABEL: func @scale_rows
// V4: scf.for {{.*}} step %c16
// V4: arith.mulf {{.*}} : vector<1x16xf32>
// BAD: error: bitttt-vectorize-elementwise: unknown target 'sse2'
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @scale_rows(%x: tensor<4x64xf32>, %s: tensor<4xf32>) -> tensor<4x64xf32> {
  %e = tensor.empty() : tensor<4x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %s : tensor<4x64xf32>, tensor<4xf32>) outs(%e : tensor<4x64xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----

// Reductions, ragged rows and gathers are left alone.
// V3-LABEL: func @left_alone
// V3-NOT: vector.
// V3: return
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @left_alone(%x: tensor<4x64xf32>, %r: tensor<4x30xf32>, %acc: tensor<4xf32>)
    -> (tensor<4xf32>, tensor<4x30xf32>) {
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x64xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %o : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  %e = tensor.empty() : tensor<4x30xf32>
  %y = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%r : tensor<4x30xf32>) outs(%e : tensor<4x30xf32>) {
  ^bb0(%a: f32, %o: f32):
    %n = arith.negf %a : f32
    linalg.yield %n : f32
  } -> tensor<4x30xf32>
  return %sum, %y : tensor<4xf32>, tensor<4x30xf32>
}
