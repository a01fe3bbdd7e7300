// RUN: bitttt-opt %s --bitttt-decompose --split-input-file | FileCheck %s
// Numerics of every decomposition are checked against PyTorch in
// python/tests/test_lowering_numerics.py; here, the structure.

// CHECK-LABEL: func @rms_norm
// CHECK-NOT: bitttt.
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]
// CHECK: math.sqrt
// CHECK: arith.divf
// CHECK: arith.mulf
func.func @rms_norm(%x: tensor<?x32xf32>, %g: tensor<32xf32>) -> tensor<?x32xf32> {
  %y = bitttt.rms_norm %x, %g : tensor<?x32xf32>, tensor<32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// act_bits = 8: per-row absmax, round half to even, int32 dot, (dot·γ)/s.
// γ's sum runs in f64 (as the packer's, format::ternaryScale), then f32.
// CHECK-LABEL: func @bitlinear_int8
// CHECK-NOT: bitttt.
// CHECK: linalg.generic {{.*}}iterator_types = ["reduction", "reduction"]
// CHECK: arith.extf {{.*}} f32 to f64
// CHECK: arith.addf {{.*}} : f64
// CHECK: arith.truncf {{.*}} f64 to f32
// CHECK: math.roundeven
// CHECK: arith.fptosi {{.*}} to i8
// CHECK: math.absf
// CHECK: math.roundeven
// CHECK: arith.fptosi {{.*}} to i8
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: arith.extsi {{.*}} i8 to i32
// CHECK: arith.extsi {{.*}} i8 to i32
// CHECK: arith.muli
// CHECK: arith.addi
// CHECK: arith.sitofp
// CHECK-NEXT: arith.mulf
// CHECK-NEXT: arith.divf
func.func @bitlinear_int8(%x: tensor<4x32xf32>, %w: tensor<16x32xf32>) -> tensor<4x16xf32> {
  %y = bitttt.bitlinear %x, %w : tensor<4x32xf32>, tensor<16x32xf32> -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

// act_bits = 0 keeps activations in f32: no activation quantizer.
// CHECK-LABEL: func @bitlinear_f32
// CHECK: math.roundeven
// CHECK-NOT: math.roundeven
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: arith.sitofp
// CHECK: arith.mulf
// CHECK: arith.addf
func.func @bitlinear_f32(%x: tensor<4x32xf32>, %w: tensor<16x32xf32>) -> tensor<4x16xf32> {
  %y = bitttt.bitlinear %x, %w {act_bits = 0} : tensor<4x32xf32>, tensor<16x32xf32> -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

// Packed weights are left for the packed-kernel lowering.
// CHECK-LABEL: func @bitlinear_packed
// CHECK: bitttt.bitlinear
func.func @bitlinear_packed(%x: tensor<4x32xf32>, %p: !bitttt.packed_ternary<16x32>, %g: f32) -> tensor<4x16xf32> {
  %y = bitttt.bitlinear %x, %p scale %g : tensor<4x32xf32>, !bitttt.packed_ternary<16x32> -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

// SwiGLU becomes three BitLinears (themselves decomposed) around silu·up.
// CHECK-LABEL: func @swiglu
// CHECK-NOT: bitttt.
// CHECK: math.exp
// CHECK-NOT: bitttt.
// CHECK: return
func.func @swiglu(%x: tensor<4x32xf32>, %g: tensor<64x32xf32>, %u: tensor<64x32xf32>,
                  %d: tensor<32x64xf32>) -> tensor<4x32xf32> {
  %y = bitttt.swiglu %x, %g, %u, %d : tensor<4x32xf32>, tensor<64x32xf32>, tensor<32x64xf32>
  return %y : tensor<4x32xf32>
}

// -----

// Per-head weights [H, f] index the trailing two dims of [T, H, f].
// CHECK: #[[WMAP:.+]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-LABEL: func @layer_norm_per_head
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: linalg.generic
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}, #[[WMAP]], #[[WMAP]], #{{.*}}]
func.func @layer_norm_per_head(%x: tensor<4x2x16xf32>, %g: tensor<2x16xf32>, %b: tensor<2x16xf32>) -> tensor<4x2x16xf32> {
  %y = bitttt.layer_norm %x, %g, %b : tensor<4x2x16xf32>, tensor<2x16xf32>
  return %y : tensor<4x2x16xf32>
}

// -----

// CHECK-LABEL: func @embedding
// CHECK: linalg.generic
// CHECK: arith.index_cast
// CHECK: linalg.index 1
// CHECK: tensor.extract
func.func @embedding(%t: tensor<64x32xf32>, %ids: tensor<8xi32>) -> tensor<8x32xf32> {
  %h = bitttt.embedding %t[%ids] : tensor<64x32xf32>, tensor<8xi32> -> tensor<8x32xf32>
  return %h : tensor<8x32xf32>
}

// -----

// TTT-Linear: projections for all tokens, then one loop over tokens carrying
// (W, c, keys, eta_grads, pos) with a commit when the mini-batch fills. Per
// token: one generic reads W once for both k·W and q·W; k and η·G are
// written straight into row pos of the buffers; the correction runs over
// the pos + 1 rows seen (dynamic slices); no f×f tensor is formed except
// the in-place commit of W. Numerics: python/tests/test_lowering_ttt.py.
// CHECK-LABEL: func @ttt_linear
// CHECK-NOT: bitttt.ttt_linear
// CHECK: tensor.expand_shape {{.*}} into tensor<8x2x16xf32>
// CHECK: math.exp
// CHECK: %[[LOOP:.*]]:6 = scf.for {{.*}} iter_args(%[[W:[a-z0-9_]+]] = %{{.*}}, %[[C:[a-z0-9_]+]] = %{{.*}}, %[[K:[a-z0-9_]+]] = %{{.*}}, %[[E:[a-z0-9_]+]] = %{{.*}}, %[[POS:[a-z0-9_]+]] = %{{.*}}, %{{.*}} = %{{.*}}) -> (tensor<2x16x16xf32>, tensor<2x16xf32>, tensor<2x4x16xf32>, tensor<2x4x16xf32>, index, tensor<8x2x16xf32>)
// CHECK: tensor.extract_slice {{.*}} to tensor<2x16xf32>
// CHECK: %[[KW:.*]]:2 = linalg.generic {{.*}}iterator_types = ["parallel", "reduction", "parallel"]{{.*}} ins(%{{.*}}, %{{.*}}, %[[W]] : tensor<2x16xf32>, tensor<2x16xf32>, tensor<2x16x16xf32>) outs(%{{.*}}, %{{.*}} : tensor<2x16xf32>, tensor<2x16xf32>)
// CHECK-NOT: tensor<2x16x16xf32>
// CHECK: math.sqrt
// CHECK: tensor.extract_slice %[[K]][0, %[[POS]], 0] [2, 1, 16] [1, 1, 1] : tensor<2x4x16xf32> to tensor<2x16xf32>
// CHECK: %[[K1:.*]] = tensor.insert_slice {{.*}} into %[[K]][0, %[[POS]], 0] [2, 1, 16]
// CHECK: tensor.extract_slice %[[E]][0, %[[POS]], 0] [2, 1, 16]
// CHECK: %[[E1:.*]] = tensor.insert_slice {{.*}} into %[[E]][0, %[[POS]], 0] [2, 1, 16]
// CHECK: %[[N:.*]] = arith.addi %[[POS]], %c1
// CHECK: tensor.extract_slice %[[K1]][0, 0, 0] [2, %[[N]], 16] [1, 1, 1] : tensor<2x4x16xf32> to tensor<2x?x16xf32>
// CHECK: tensor.extract_slice %[[E1]][0, 0, 0] [2, %[[N]], 16] [1, 1, 1] : tensor<2x4x16xf32> to tensor<2x?x16xf32>
// CHECK-NOT: tensor<2x16x16xf32>
// CHECK: arith.cmpi eq, %{{.*}}, %c4
// CHECK: scf.if
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction", "parallel"]{{.*}} ins(%[[K1]], %[[E1]] : tensor<2x4x16xf32>, tensor<2x4x16xf32>) outs(%[[W]] : tensor<2x16x16xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[E1]] : tensor<2x4x16xf32>) outs(%[[C]] : tensor<2x16xf32>)
// CHECK: } else {
// CHECK: scf.yield %[[W]], %[[C]], %[[K1]], %[[E1]]
// CHECK: tensor.collapse_shape %[[LOOP]]#5
// CHECK: return {{.*}}, %[[LOOP]]#0, %[[LOOP]]#1, %[[LOOP]]#2, %[[LOOP]]#3, %[[LOOP]]#4
func.func @ttt_linear(%x: tensor<8x32xf32>, %p: tensor<32x32xf32>, %lrw: tensor<2x32xf32>,
    %lrb: tensor<2xf32>, %n: tensor<2x16xf32>, %pn: tensor<32xf32>, %w: tensor<2x16x16xf32>,
    %c: tensor<2x16xf32>, %kb: tensor<2x4x16xf32>, %eg: tensor<2x4x16xf32>, %pos: index)
    -> (tensor<8x32xf32>, tensor<2x16x16xf32>, tensor<2x16xf32>, tensor<2x4x16xf32>, tensor<2x4x16xf32>, index) {
  %y:6 = bitttt.ttt_linear %x proj(%p, %p, %p, %p) lr(%lrw, %lrb) ttt_norm(%n, %n)
      post_norm(%pn, %pn) state(%w, %c, %kb, %eg, %pos)
      {num_heads = 2, mini_batch = 4, base_lr = 1.0 : f32}
      : tensor<8x32xf32>, tensor<32x32xf32>, tensor<2x32xf32>, tensor<2xf32>,
        tensor<2x16xf32>, tensor<32xf32>, tensor<2x16x16xf32>, tensor<2x16xf32>, tensor<2x4x16xf32>
  return %y#0, %y#1, %y#2, %y#3, %y#4, %y#5 : tensor<8x32xf32>, tensor<2x16x16xf32>, tensor<2x16xf32>, tensor<2x4x16xf32>, tensor<2x4x16xf32>, index
}

// -----

// Seed TTT: k̂ for all tokens, a loop with the start-of-batch W that
// buffers k̂ and z − k̂ in row pos and commits W −= inner_lr · Eᵀ K̂.
// CHECK-LABEL: func @ttt_seed
// CHECK-NOT: bitttt.ttt_seed
// CHECK: math.sqrt
// CHECK: scf.for {{.*}} -> (tensor<8x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, index, tensor<4x8xf32>)
// CHECK-NOT: tensor<8x8xf32> = tensor.empty
// CHECK: tensor.insert_slice {{.*}} : tensor<8xf32> into tensor<2x8xf32>
// CHECK: tensor.insert_slice {{.*}} : tensor<8xf32> into tensor<2x8xf32>
// CHECK: arith.cmpi eq, %{{.*}}, %c2
// CHECK: scf.if
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction", "parallel"]{{.*}} ins(%{{.*}}, %{{.*}} : tensor<2x8xf32>, tensor<2x8xf32>) outs(%{{.*}} : tensor<8x8xf32>)
func.func @ttt_seed(%x: tensor<4x32xf32>, %d: tensor<8x32xf32>, %u: tensor<32x8xf32>,
    %w: tensor<8x8xf32>, %kb: tensor<2x8xf32>, %pos: index) -> (tensor<4x32xf32>, tensor<8x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, index) {
  %y:5 = bitttt.ttt_seed %x proj(%d, %u) state(%w, %kb, %kb, %pos)
      {mini_batch = 2, inner_lr = 0.1 : f32}
      : tensor<4x32xf32>, tensor<8x32xf32>, tensor<32x8xf32>, tensor<8x8xf32>, tensor<2x8xf32>
  return %y#0, %y#1, %y#2, %y#3, %y#4 : tensor<4x32xf32>, tensor<8x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, index
}

// -----

// The fused norm + quantizer recomputes the normalized value in both of its
// passes (row max, codes) instead of storing it.
// CHECK-LABEL: func @rms_norm_act_quant
// CHECK-NOT: bitttt.
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK: math.sqrt
// CHECK: math.absf
// CHECK: arith.maximumf
// CHECK: linalg.generic
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]
// CHECK: math.sqrt
// CHECK: math.roundeven
// CHECK: arith.fptosi {{.*}} to i8
func.func @rms_norm_act_quant(%x: tensor<4x64xf32>, %g: tensor<64xf32>) -> (tensor<4x64xi8>, tensor<4xf32>) {
  %q, %s = bitttt.rms_norm_act_quant %x, %g : tensor<4x64xf32>, tensor<64xf32> -> tensor<4x64xi8>, tensor<4xf32>
  return %q, %s : tensor<4x64xi8>, tensor<4xf32>
}

// -----

// layers-only keeps BitLinear and norms for packing and fusion.
// RUN: bitttt-opt %s --bitttt-decompose=layers-only --split-input-file | FileCheck %s --check-prefix=LAYERS
// LAYERS-LABEL: func @swiglu_layers_only
// LAYERS: bitttt.rms_norm
// LAYERS: bitttt.bitlinear
// LAYERS: bitttt.bitlinear
// LAYERS: bitttt.silu_mul
// LAYERS: bitttt.bitlinear
func.func @swiglu_layers_only(%x: tensor<4x32xf32>, %n: tensor<32xf32>, %g: tensor<64x32xf32>,
                              %u: tensor<64x32xf32>, %d: tensor<32x64xf32>) -> tensor<4x32xf32> {
  %h = bitttt.rms_norm %x, %n : tensor<4x32xf32>, tensor<32xf32>
  %y = bitttt.swiglu %h, %g, %u, %d : tensor<4x32xf32>, tensor<64x32xf32>, tensor<32x64xf32>
  return %y : tensor<4x32xf32>
}
