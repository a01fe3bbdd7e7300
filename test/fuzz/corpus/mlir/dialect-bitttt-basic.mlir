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
  // CHECK: bitttt.layer_norm %{{.*}}, %{{.*}}, %{{.*}} : tensor<8x2x16xf32>, tensor<2x16xf32>
  %3 = bitttt.layer_norm %xh, %hg, %hb : tensor<8x2x16xf32>, tensor<2x16xf32>
  return %0, %1, %2, %3 : tensor<8x32xf32>, tensor<8x32xf32>, tensor<8x32xf32>, tensor<8x2x16xf32>
}

// CHECK-LABEL: func @bitlinear
func.func @bitlinear(%x: tensor<?x32xf32>, %w: tensor<64x32xf32>,
                     %p: !bitttt.packed_ternary<64x32>, %gamma: f32)
    -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  // CHECK: bitttt.bitlinear %{{.*}}, %{{.*}} : tensor<?x32xf32>, tensor<64x32xf32> -> tensor<?x64xf32>
  // GENERIC: "bitttt.bitlinear"(%{{.*}}, %{{.*}}) <{act_bits = 8 : i64}> : (tensor<?x32xf32>, tensor<64x32xf32>) -> tensor<?x64xf32>
  %0 = bitttt.bitlinear %x, %w : tensor<?x32xf32>, tensor<64x32xf32> -> tensor<?x64xf32>
  // CHECK: bitttt.bitlinear %{{.*}}, %{{.*}} scale %{{.*}} {act_bits = 0 : i64} : tensor<?x32xf32>, !bitttt.packed_ternary<64x32> -> tensor<?x64xf32>
  // GENERIC: "bitttt.bitlinear"(%{{.*}}, %{{.*}}, %{{.*}}) <{act_bits = 0 : i64}>
  %1 = bitttt.bitlinear %x, %p scale %gamma {act_bits = 0}
      : tensor<?x32xf32>, !bitttt.packed_ternary<64x32> -> tensor<?x64xf32>
  return %0, %1 : tensor<?x64xf32>, tensor<?x64xf32>
}

// CHECK-LABEL: func @swiglu
func.func @swiglu(%x: tensor<8x32xf32>, %gate: tensor<128x32xf32>, %up: tensor<128x32xf32>,
                  %down: tensor<32x128xf32>) -> tensor<8x32xf32> {
  // CHECK: bitttt.swiglu %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<8x32xf32>, tensor<128x32xf32>, tensor<32x128xf32>
  // GENERIC: "bitttt.swiglu"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) <{act_bits = 8 : i64}>
  %0 = bitttt.swiglu %x, %gate, %up, %down : tensor<8x32xf32>, tensor<128x32xf32>, tensor<32x128xf32>
  return %0 : tensor<8x32xf32>
}

// CHECK-LABEL: func @ttt_linear
func.func @ttt_linear(%x: tensor<8x32xf32>, %q: tensor<32x32xf32>, %k: tensor<32x32xf32>,
                      %v: tensor<32x32xf32>, %o: tensor<32x32xf32>,
                      %lrw: tensor<2x32xf32>, %lrb: tensor<2xf32>,
                      %ng: tensor<2x16xf32>, %nb: tensor<2x16xf32>,
                      %pg: tensor<32xf32>, %pb: tensor<32xf32>,
                      %w: tensor<2x16x16xf32>, %c: tensor<2x16xf32>,
                      %kb: tensor<2x4x16xf32>, %eg: tensor<2x4x16xf32>, %pos: index)
    -> (tensor<8x32xf32>, tensor<2x16x16xf32>, tensor<2x16xf32>, tensor<2x4x16xf32>,
        tensor<2x4x16xf32>, index) {
  // CHECK: %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} = bitttt.ttt_linear %{{.*}} proj(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) lr(%{{.*}}, %{{.*}}) ttt_norm(%{{.*}}, %{{.*}}) post_norm(%{{.*}}, %{{.*}}) state(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) {base_lr = 1.000000e+00 : f32, mini_batch = 4 : i64, num_heads = 2 : i64} : tensor<8x32xf32>, tensor<32x32xf32>, tensor<2x32xf32>, tensor<2xf32>, tensor<2x16xf32>, tensor<32xf32>, tensor<2x16x16xf32>, tensor<2x16xf32>, tensor<2x4x16xf32>
  // GENERIC: "bitttt.ttt_linear"({{.*}}) <{act_bits = 8 : i64, base_lr = 1.000000e+00 : f32, mini_batch = 4 : i64, num_heads = 2 : i64}> : (tensor<8x32xf32>, tensor<32x32xf32>, tensor<32x32xf32>, tensor<32x32xf32>, tensor<32x32xf32>, tensor<2x32xf32>, tensor<2xf32>, tensor<2x16xf32>, tensor<2x16xf32>, tensor<32xf32>, tensor<32xf32>, tensor<2x16x16xf32>, tensor<2x16xf32>, tensor<2x4x16xf32>, tensor<2x4x16xf32>, index) -> (tensor<8x32xf32>, tensor<2x16x16xf32>, tensor<2x16xf32>, tensor<2x4x16xf32>, tensor<2x4x16xf32>, index)
  %y, %w1, %c1, %k1, %e1, %pos1 = bitttt.ttt_linear %x
      proj(%q, %k, %v, %o) lr(%lrw, %lrb) ttt_norm(%ng, %nb)
      post_norm(%pg, %pb) state(%w, %c, %kb, %eg, %pos)
      {num_heads = 2, mini_batch = 4, base_lr = 1.0 : f32}
      : tensor<8x32xf32>, tensor<32x32xf32>, tensor<2x32xf32>, tensor<2xf32>,
        tensor<2x16xf32>, tensor<32xf32>, tensor<2x16x16xf32>, tensor<2x16xf32>,
        tensor<2x4x16xf32>
  return %y, %w1, %c1, %k1, %e1, %pos1 : tensor<8x32xf32>, tensor<2x16x16xf32>,
      tensor<2x16xf32>, tensor<2x4x16xf32>, tensor<2x4x16xf32>, index
}

// CHECK-LABEL: func @ttt_seed
func.func @ttt_seed(%x: tensor<1x32xf32>, %down: tensor<8x32xf32>, %up: tensor<32x8xf32>,
                    %w: tensor<8x8xf32>, %kb: tensor<1x8xf32>, %e: tensor<1x8xf32>, %pos: index)
    -> (tensor<1x32xf32>, tensor<8x8xf32>, tensor<1x8xf32>, tensor<1x8xf32>, index) {
  // CHECK: %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} = bitttt.ttt_seed %{{.*}} proj(%{{.*}}, %{{.*}}) state(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) {act_bits = 0 : i64, inner_lr = 1.000000e-01 : f32, mini_batch = 1 : i64} : tensor<1x32xf32>, tensor<8x32xf32>, tensor<32x8xf32>, tensor<8x8xf32>, tensor<1x8xf32>
  // GENERIC: "bitttt.ttt_seed"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) <{act_bits = 0 : i64, inner_lr = 1.000000e-01 : f32, mini_batch = 1 : i64}>
  %y, %w1, %k1, %e1, %pos1 = bitttt.ttt_seed %x proj(%down, %up) state(%w, %kb, %e, %pos)
      {mini_batch = 1, inner_lr = 0.1 : f32, act_bits = 0}
      : tensor<1x32xf32>, tensor<8x32xf32>, tensor<32x8xf32>, tensor<8x8xf32>, tensor<1x8xf32>
  return %y, %w1, %k1, %e1, %pos1 : tensor<1x32xf32>, tensor<8x8xf32>, tensor<1x8xf32>, tensor<1x8xf32>, index
}

// CHECK-LABEL: func @model_ops
func.func @model_ops(%table: tensor<64x32xf32>, %ids: tensor<8xi32>, %head: tensor<64x32xf32>,
                     %head16: tensor<64x32xbf16>)
    -> (tensor<8x64xf32>, tensor<8x64xf32>, f32, f32) {
  // CHECK: bitttt.embedding %{{.*}}[%{{.*}}] : tensor<64x32xf32>, tensor<8xi32> -> tensor<8x32xf32>
  // GENERIC: "bitttt.embedding"(%{{.*}}, %{{.*}}) : (tensor<64x32xf32>, tensor<8xi32>) -> tensor<8x32xf32>
  %h = bitttt.embedding %table[%ids] : tensor<64x32xf32>, tensor<8xi32> -> tensor<8x32xf32>
  // CHECK: bitttt.lm_head %{{.*}}, %{{.*}} : tensor<8x32xf32>, tensor<64x32xf32> -> tensor<8x64xf32>
  // GENERIC: "bitttt.lm_head"(%{{.*}}, %{{.*}}) : (tensor<8x32xf32>, tensor<64x32xf32>) -> tensor<8x64xf32>
  %logits = bitttt.lm_head %h, %head : tensor<8x32xf32>, tensor<64x32xf32> -> tensor<8x64xf32>
  // CHECK: bitttt.lm_head %{{.*}}, %{{.*}} : tensor<8x32xf32>, tensor<64x32xbf16> -> tensor<8x64xf32>
  %logits16 = bitttt.lm_head %h, %head16 : tensor<8x32xf32>, tensor<64x32xbf16> -> tensor<8x64xf32>
  // CHECK: bitttt.cross_entropy %{{.*}}, %{{.*}} : tensor<8x64xf32>, tensor<8xi32>
  // GENERIC: "bitttt.cross_entropy"(%{{.*}}, %{{.*}}) : (tensor<8x64xf32>, tensor<8xi32>) -> f32
  %loss = bitttt.cross_entropy %logits, %ids : tensor<8x64xf32>, tensor<8xi32>
  // CHECK: bitttt.cross_entropy %{{.*}}, %{{.*}} {ignore_index = -100 : i64} : tensor<8x64xf32>, tensor<8xi32>
  %loss2 = bitttt.cross_entropy %logits, %ids {ignore_index = -100} : tensor<8x64xf32>, tensor<8xi32>
  return %logits, %logits16, %loss, %loss2 : tensor<8x64xf32>, tensor<8x64xf32>, f32, f32
}

// CHECK-LABEL: func @adamw
func.func @adamw(%p: tensor<64x32xf32>, %g: tensor<64x32xf32>, %m: tensor<64x32xf32>,
                 %v: tensor<64x32xf32>, %lr: f32, %t: i64)
    -> (tensor<64x32xf32>, tensor<64x32xf32>, tensor<64x32xf32>) {
  // CHECK: %{{.*}}, %{{.*}}, %{{.*}} = bitttt.adamw %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} lr(%{{.*}}) step(%{{.*}}) : tensor<64x32xf32>
  // GENERIC: "bitttt.adamw"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) <{beta1 = 9.000000e-01 : f64, beta2 = 0.94999999999999996 : f64, eps = 1.000000e-08 : f64, weight_decay = 1.000000e-01 : f64}>
  %p1, %m1, %v1 = bitttt.adamw %p, %g, %m, %v lr(%lr) step(%t) : tensor<64x32xf32>
  // CHECK: bitttt.adamw %{{.*}} lr(%{{.*}}) step(%{{.*}}) {beta2 = 0.99899999999999999 : f64, weight_decay = 0.000000e+00 : f64} : tensor<64x32xf32>
  %p2, %m2, %v2 = bitttt.adamw %p1, %g, %m1, %v1 lr(%lr) step(%t) {beta2 = 0.999 : f64, weight_decay = 0.0 : f64} : tensor<64x32xf32>
  return %p2, %m2, %v2 : tensor<64x32xf32>, tensor<64x32xf32>, tensor<64x32xf32>
}

// Arguments and results carry what they are, for the runtime to bind.
// CHECK-LABEL: func @named_values
// CHECK-SAME: bitttt.io = "ids"
// CHECK-SAME: bitttt.tensor = "embed.weight"
// CHECK-SAME: bitttt.state = "layers.0.ttt.pos"
// CHECK-SAME: bitttt.io = "logits"
func.func @named_values(%ids: tensor<8xi32> {bitttt.io = "ids"},
                        %e: tensor<64x32xf32> {bitttt.tensor = "embed.weight"},
                        %pos: index {bitttt.state = "layers.0.ttt.pos"})
    -> (tensor<8x32xf32> {bitttt.io = "logits"}) {
  %h = bitttt.embedding %e[%ids] : tensor<64x32xf32>, tensor<8xi32> -> tensor<8x32xf32>
  return %h : tensor<8x32xf32>
}

// CHECK-LABEL: func @dot_2bit_i8
// CHECK: bitttt.dot_2bit_i8 %{{.*}}, [%{{.*}}, %{{.*}}], [%{{.*}}, %{{.*}}] : vector<8xi32>, [vector<32xi8>, vector<32xi8>], [vector<32xi8>, vector<32xi8>]
// GENERIC: "bitttt.dot_2bit_i8"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (vector<8xi32>, vector<32xi8>, vector<32xi8>, vector<32xi8>, vector<32xi8>) -> vector<8xi32>
func.func @dot_2bit_i8(%acc: vector<8xi32>, %q0: vector<32xi8>, %q1: vector<32xi8>,
                       %x0: vector<32xi8>, %x1: vector<32xi8>) -> vector<8xi32> {
  %r = bitttt.dot_2bit_i8 %acc, [%q0, %q1], [%x0, %x1] : vector<8xi32>, [vector<32xi8>, vector<32xi8>], [vector<32xi8>, vector<32xi8>]
  return %r : vector<8xi32>
}

// 512-bit vectors (two blocks per load), accumulated in one chain.
// CHECK-LABEL: func @dot_2bit_i8_zmm
// CHECK: bitttt.dot_2bit_i8 %{{.*}}, [%{{.*}}], [%{{.*}}] {chained} : vector<16xi32>, [vector<64xi8>], [vector<64xi8>]
func.func @dot_2bit_i8_zmm(%acc: vector<16xi32>, %q: vector<64xi8>, %x: vector<64xi8>) -> vector<16xi32> {
  %r = bitttt.dot_2bit_i8 %acc, [%q], [%x] {chained} : vector<16xi32>, [vector<64xi8>], [vector<64xi8>]
  return %r : vector<16xi32>
}

// A learning rate of 0 (TTT that never learns) is a valid ablation.
// CHECK-LABEL: func @zero_lr
// CHECK: inner_lr = 0.000000e+00
func.func @zero_lr(%x: tensor<1x32xf32>, %down: tensor<8x32xf32>, %up: tensor<32x8xf32>,
                   %w: tensor<8x8xf32>, %kb: tensor<1x8xf32>, %pos: index) -> tensor<1x32xf32> {
  %y:5 = bitttt.ttt_seed %x proj(%down, %up) state(%w, %kb, %kb, %pos)
      {mini_batch = 1, inner_lr = 0.0 : f32}
      : tensor<1x32xf32>, tensor<8x32xf32>, tensor<32x8xf32>, tensor<8x8xf32>, tensor<1x8xf32>
  return %y#0 : tensor<1x32xf32>
}

// CHECK-LABEL: func @fused_ops
// CHECK: bitttt.silu_mul %{{.*}}, %{{.*}} : tensor<4x64xf32>
// CHECK: bitttt.rms_norm_act_quant %{{.*}}, %{{.*}} : tensor<4x128xf32>, tensor<128xf32> -> tensor<4x128xi8>, tensor<4xf32>
// CHECK: bitttt.bitlinear_q %{{.*}}, %{{.*}}, %{{.*}} scale %{{.*}} : tensor<4x128xi8>, tensor<4xf32>, !bitttt.packed_ternary<64x128> -> tensor<4x64xf32>
// CHECK: bitttt.gate_up_q %{{.*}}, %{{.*}}, %{{.*}} scale %{{.*}}, %{{.*}} scale %{{.*}} : tensor<4x128xi8>, tensor<4xf32>, !bitttt.packed_ternary<64x128>, !bitttt.packed_ternary<64x128> -> tensor<4x64xf32>
// GENERIC: "bitttt.silu_mul"
// GENERIC: "bitttt.rms_norm_act_quant"(%{{.*}}, %{{.*}}) <{eps = 9.99999974E-6 : f32}>
// GENERIC: "bitttt.bitlinear_q"
// GENERIC: "bitttt.gate_up_q"
func.func @fused_ops(%g: tensor<4x64xf32>, %u: tensor<4x64xf32>, %x: tensor<4x128xf32>, %w: tensor<128xf32>,
                     %p: !bitttt.packed_ternary<64x128>, %s: f32)
    -> (tensor<4x64xf32>, tensor<4x64xf32>, tensor<4x64xf32>) {
  %h = bitttt.silu_mul %g, %u : tensor<4x64xf32>
  %xq, %xs = bitttt.rms_norm_act_quant %x, %w : tensor<4x128xf32>, tensor<128xf32> -> tensor<4x128xi8>, tensor<4xf32>
  %y = bitttt.bitlinear_q %xq, %xs, %p scale %s : tensor<4x128xi8>, tensor<4xf32>, !bitttt.packed_ternary<64x128> -> tensor<4x64xf32>
  %z = bitttt.gate_up_q %xq, %xs, %p scale %s, %p scale %s : tensor<4x128xi8>, tensor<4xf32>, !bitttt.packed_ternary<64x128>, !bitttt.packed_ternary<64x128> -> tensor<4x64xf32>
  return %h, %y, %z : tensor<4x64xf32>, tensor<4x64xf32>, tensor<4x64xf32>
}
