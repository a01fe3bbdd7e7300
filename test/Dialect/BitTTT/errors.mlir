// RUN: bitttt-opt %s -split-input-file -verify-diagnostics

// == packed_ternary type ==

// expected-error @+1 {{packed_ternary dimensions must be positive, got 0x4}}
func.func private @packed_zero(!bitttt.packed_ternary<0x4>)

// -----

// expected-error @+1 {{packed_ternary shape must have rank 2 ([out, in]), got rank 3}}
func.func private @packed_rank(!bitttt.packed_ternary<2x3x4>)

// -----

// == weight_quant ==

func.func @weight_quant_shape(%w: tensor<64x32xf32>) {
  // expected-error @+1 {{result 'codes' must have shape [64, 32] (the shape of operand 'weight'), got [32, 64]}}
  %c, %g = bitttt.weight_quant %w : tensor<64x32xf32> -> tensor<32x64xi8>
  return
}

// -----

func.func @weight_quant_dtype(%w: tensor<64x32xf16>) {
  // expected-error @+1 {{operand 'weight' #0 must be 2D tensor of 32-bit float values}}
  %c, %g = "bitttt.weight_quant"(%w) : (tensor<64x32xf16>) -> (tensor<64x32xi8>, f32)
  return
}

// -----

// ODS's result constraints name the result too (dialect/ValueNames.cpp).
func.func @weight_quant_scale_type(%w: tensor<64x32xf32>) {
  // expected-error @+1 {{result 'scale' #1 must be 32-bit float}}
  %c, %g = "bitttt.weight_quant"(%w) : (tensor<64x32xf32>) -> (tensor<64x32xi8>, f16)
  return
}

// -----

// == act_quant ==

func.func @act_quant_codes(%x: tensor<8x32xf32>) {
  // expected-error @+1 {{result 'codes' must have shape [8, 32] (the shape of operand 'input'), got [8, 16]}}
  %c, %s = bitttt.act_quant %x : tensor<8x32xf32> -> tensor<8x16xi8>, tensor<8xf32>
  return
}

// -----

func.func @act_quant_scales(%x: tensor<8x32xf32>) {
  // expected-error @+1 {{result 'scales' must have shape [8] (one scale per row of 'input'), got [32]}}
  %c, %s = bitttt.act_quant %x : tensor<8x32xf32> -> tensor<8x32xi8>, tensor<32xf32>
  return
}

// -----

// == pack_ternary / unpack_ternary ==

func.func @pack_shape(%c: tensor<64x32xi8>) {
  // expected-error @+1 {{operand 'codes' must have shape [64, 30] (the shape of the packed_ternary result), got [64, 32]}}
  %p = bitttt.pack_ternary %c : tensor<64x32xi8> -> !bitttt.packed_ternary<64x30>
  return
}

// -----

func.func @unpack_shape(%p: !bitttt.packed_ternary<64x32>) {
  // expected-error @+1 {{result 'codes' must have shape [64, 32] (the shape of operand 'packed'), got [32, 64]}}
  %c = bitttt.unpack_ternary %p : !bitttt.packed_ternary<64x32> -> tensor<32x64xi8>
  return
}

// -----

// == rms_norm ==

func.func @rms_norm_weight(%x: tensor<8x32xf32>, %g: tensor<16xf32>) {
  // expected-error @+1 {{operand 'weight' must have shape [32] (the columns of operand 'input'), got [16]}}
  %y = bitttt.rms_norm %x, %g : tensor<8x32xf32>, tensor<16xf32>
  return
}

// -----

func.func @rms_norm_eps(%x: tensor<8x32xf32>, %g: tensor<32xf32>) {
  // expected-error @+1 {{attribute 'eps' must be positive and finite, got 0}}
  %y = bitttt.rms_norm %x, %g {eps = 0.0 : f32} : tensor<8x32xf32>, tensor<32xf32>
  return
}

// -----

func.func @rms_norm_rank(%x: tensor<8x2x16xf32>, %g: tensor<16xf32>) {
  // expected-error @+1 {{operand 'input' #0 must be 2D tensor of 32-bit float values}}
  %y = "bitttt.rms_norm"(%x, %g) : (tensor<8x2x16xf32>, tensor<16xf32>) -> tensor<8x2x16xf32>
  return
}

// -----

func.func @rms_norm_result(%x: tensor<8x32xf32>, %g: tensor<32xf32>) {
  // expected-error @+1 {{failed to verify that all of {input, result} have same type}}
  %y = "bitttt.rms_norm"(%x, %g) : (tensor<8x32xf32>, tensor<32xf32>) -> tensor<4x32xf32>
  return
}

// -----

// == layer_norm ==

func.func @layer_norm_eps(%x: tensor<8x32xf32>, %g: tensor<32xf32>) {
  // expected-error @+1 {{attribute 'eps' must be positive and finite, got -1}}
  %y = bitttt.layer_norm %x, %g, %g {eps = -1.0 : f32} : tensor<8x32xf32>, tensor<32xf32>
  return
}

// -----

func.func @layer_norm_scalar(%x: tensor<f32>, %g: tensor<1xf32>) {
  // expected-error @+1 {{operand 'input' must have rank >= 1}}
  %y = bitttt.layer_norm %x, %g, %g : tensor<f32>, tensor<1xf32>
  return
}

// -----

func.func @layer_norm_weight_rank(%x: tensor<8xf32>, %g: tensor<2x8xf32>) {
  // expected-error @+1 {{operand 'weight' must have rank 1..1 (trailing dimensions of 'input'), got rank 2}}
  %y = bitttt.layer_norm %x, %g, %g : tensor<8xf32>, tensor<2x8xf32>
  return
}

// -----

func.func @layer_norm_weight_shape(%x: tensor<8x2x16xf32>, %g: tensor<4x16xf32>) {
  // expected-error @+1 {{operand 'weight' must have shape [2, 16] (the trailing dimensions of operand 'input'), got [4, 16]}}
  %y = bitttt.layer_norm %x, %g, %g : tensor<8x2x16xf32>, tensor<4x16xf32>
  return
}

// -----

func.func @layer_norm_bias(%x: tensor<8x32xf32>, %g: tensor<32xf32>, %b: tensor<16xf32>) {
  // expected-error @+1 {{failed to verify that all of {weight, bias} have same type}}
  %y = "bitttt.layer_norm"(%x, %g, %b) : (tensor<8x32xf32>, tensor<32xf32>, tensor<16xf32>) -> tensor<8x32xf32>
  return
}

// -----

// == bitlinear ==

func.func @bitlinear_act_bits(%x: tensor<8x32xf32>, %w: tensor<64x32xf32>) {
  // expected-error @+1 {{attribute 'act_bits' must be 0 (f32 activations) or 8 (int8), got 4}}
  %y = bitttt.bitlinear %x, %w {act_bits = 4} : tensor<8x32xf32>, tensor<64x32xf32> -> tensor<8x64xf32>
  return
}

// -----

func.func @bitlinear_in(%x: tensor<8x16xf32>, %w: tensor<64x32xf32>) {
  // expected-error @+1 {{operand 'input' must have shape [8, 32] ([T, in] with 'in' from operand 'weight'), got [8, 16]}}
  %y = bitttt.bitlinear %x, %w : tensor<8x16xf32>, tensor<64x32xf32> -> tensor<8x64xf32>
  return
}

// -----

func.func @bitlinear_result(%x: tensor<8x32xf32>, %w: tensor<64x32xf32>) {
  // expected-error @+1 {{result must have shape [8, 64] ([T, out]: rows of 'input', out of 'weight'), got [8, 32]}}
  %y = bitttt.bitlinear %x, %w : tensor<8x32xf32>, tensor<64x32xf32> -> tensor<8x32xf32>
  return
}

// -----

func.func @bitlinear_packed_no_scale(%x: tensor<8x32xf32>, %p: !bitttt.packed_ternary<64x32>) {
  // expected-error @+1 {{operand 'weight' is packed_ternary, so the 'scale' operand (its γ) is required}}
  %y = bitttt.bitlinear %x, %p : tensor<8x32xf32>, !bitttt.packed_ternary<64x32> -> tensor<8x64xf32>
  return
}

// -----

func.func @bitlinear_f32_scale(%x: tensor<8x32xf32>, %w: tensor<64x32xf32>, %s: f32) {
  // expected-error @+1 {{operand 'scale' is only allowed with a packed_ternary weight}}
  %y = bitttt.bitlinear %x, %w scale %s : tensor<8x32xf32>, tensor<64x32xf32> -> tensor<8x64xf32>
  return
}

// -----

func.func @bitlinear_packed_in(%x: tensor<8x32xf32>, %p: !bitttt.packed_ternary<64x30>, %s: f32) {
  // expected-error @+1 {{operand 'input' must have shape [8, 30] ([T, in] with 'in' from operand 'weight'), got [8, 32]}}
  %y = bitttt.bitlinear %x, %p scale %s : tensor<8x32xf32>, !bitttt.packed_ternary<64x30> -> tensor<8x64xf32>
  return
}

// -----

func.func @bitlinear_weight_dtype(%x: tensor<8x32xf32>, %w: tensor<64x32xi8>) {
  // expected-error @+1 {{operand 'weight' #1 must be latent f32 weight matrix or packed ternary weight}}
  %y = "bitttt.bitlinear"(%x, %w) : (tensor<8x32xf32>, tensor<64x32xi8>) -> tensor<8x64xf32>
  return
}

// -----

func.func @bitlinear_unknown_attr(%x: tensor<8x32xf32>, %w: tensor<64x32xf32>) {
  // expected-error @+1 {{has unknown attribute 'act_bit' (known: act_bits)}}
  %y = bitttt.bitlinear %x, %w {act_bit = 0} : tensor<8x32xf32>, tensor<64x32xf32> -> tensor<8x64xf32>
  return
}

// -----

func.func @bitlinear_unknown_dialect_attr(%x: tensor<8x32xf32>, %w: tensor<64x32xf32>) {
  // expected-error @+1 {{unknown bitttt attribute 'bitttt.fast'}}
  %y = bitttt.bitlinear %x, %w {bitttt.fast} : tensor<8x32xf32>, tensor<64x32xf32> -> tensor<8x64xf32>
  return
}

// -----

// == swiglu ==

func.func @swiglu_act_bits(%x: tensor<8x32xf32>, %g: tensor<128x32xf32>, %d: tensor<32x128xf32>) {
  // expected-error @+1 {{attribute 'act_bits' must be 0 (f32 activations) or 8 (int8), got 1}}
  %y = bitttt.swiglu %x, %g, %g, %d {act_bits = 1} : tensor<8x32xf32>, tensor<128x32xf32>, tensor<32x128xf32>
  return
}

// -----

func.func @swiglu_gate(%x: tensor<8x32xf32>, %g: tensor<128x16xf32>, %d: tensor<32x128xf32>) {
  // expected-error @+1 {{operand 'gate_weight' must have shape [128, 32] ([I, D] with D the columns of 'input'), got [128, 16]}}
  %y = bitttt.swiglu %x, %g, %g, %d : tensor<8x32xf32>, tensor<128x16xf32>, tensor<32x128xf32>
  return
}

// -----

func.func @swiglu_down(%x: tensor<8x32xf32>, %g: tensor<128x32xf32>, %d: tensor<32x64xf32>) {
  // expected-error @+1 {{operand 'down_weight' must have shape [32, 128] ([D, I] with I the rows of 'gate_weight'), got [32, 64]}}
  %y = bitttt.swiglu %x, %g, %g, %d : tensor<8x32xf32>, tensor<128x32xf32>, tensor<32x64xf32>
  return
}

// -----

func.func @swiglu_up(%x: tensor<8x32xf32>, %g: tensor<128x32xf32>, %u: tensor<64x32xf32>, %d: tensor<32x128xf32>) {
  // expected-error @+1 {{failed to verify that all of {gate_weight, up_weight} have same type}}
  %y = "bitttt.swiglu"(%x, %g, %u, %d) : (tensor<8x32xf32>, tensor<128x32xf32>, tensor<64x32xf32>, tensor<32x128xf32>) -> tensor<8x32xf32>
  return
}

// -----

// == ttt_linear ==
// Each case below changes one thing in an otherwise valid op. The generic
// form is used where the custom form's shared types would make the error
// unwritable.

func.func @ttt_act_bits(%x: tensor<8x32xf32>, %p: tensor<32x32xf32>, %lrw: tensor<2x32xf32>,
    %lrb: tensor<2xf32>, %n: tensor<2x16xf32>, %pn: tensor<32xf32>, %w: tensor<2x16x16xf32>,
    %c: tensor<2x16xf32>, %kb: tensor<2x4x16xf32>, %pos: index) {
  // expected-error @+1 {{attribute 'act_bits' must be 0 (f32 activations) or 8 (int8), got 2}}
  %y:6 = bitttt.ttt_linear %x proj(%p, %p, %p, %p) lr(%lrw, %lrb) ttt_norm(%n, %n)
      post_norm(%pn, %pn) state(%w, %c, %kb, %kb, %pos)
      {num_heads = 2, mini_batch = 4, base_lr = 1.0 : f32, act_bits = 2}
      : tensor<8x32xf32>, tensor<32x32xf32>, tensor<2x32xf32>, tensor<2xf32>,
        tensor<2x16xf32>, tensor<32xf32>, tensor<2x16x16xf32>, tensor<2x16xf32>,
        tensor<2x4x16xf32>
  return
}

// -----

func.func @ttt_num_heads(%x: tensor<8x32xf32>, %p: tensor<32x32xf32>, %lrw: tensor<2x32xf32>,
    %lrb: tensor<2xf32>, %n: tensor<2x16xf32>, %pn: tensor<32xf32>, %w: tensor<2x16x16xf32>,
    %c: tensor<2x16xf32>, %kb: tensor<2x4x16xf32>, %pos: index) {
  // expected-error @+1 {{attribute 'num_heads' must be positive, got 0}}
  %y:6 = bitttt.ttt_linear %x proj(%p, %p, %p, %p) lr(%lrw, %lrb) ttt_norm(%n, %n)
      post_norm(%pn, %pn) state(%w, %c, %kb, %kb, %pos)
      {num_heads = 0, mini_batch = 4, base_lr = 1.0 : f32}
      : tensor<8x32xf32>, tensor<32x32xf32>, tensor<2x32xf32>, tensor<2xf32>,
        tensor<2x16xf32>, tensor<32xf32>, tensor<2x16x16xf32>, tensor<2x16xf32>,
        tensor<2x4x16xf32>
  return
}

// -----

func.func @ttt_mini_batch(%x: tensor<8x32xf32>, %p: tensor<32x32xf32>, %lrw: tensor<2x32xf32>,
    %lrb: tensor<2xf32>, %n: tensor<2x16xf32>, %pn: tensor<32xf32>, %w: tensor<2x16x16xf32>,
    %c: tensor<2x16xf32>, %kb: tensor<2x4x16xf32>, %pos: index) {
  // expected-error @+1 {{attribute 'mini_batch' must be positive, got -4}}
  %y:6 = bitttt.ttt_linear %x proj(%p, %p, %p, %p) lr(%lrw, %lrb) ttt_norm(%n, %n)
      post_norm(%pn, %pn) state(%w, %c, %kb, %kb, %pos)
      {num_heads = 2, mini_batch = -4, base_lr = 1.0 : f32}
      : tensor<8x32xf32>, tensor<32x32xf32>, tensor<2x32xf32>, tensor<2xf32>,
        tensor<2x16xf32>, tensor<32xf32>, tensor<2x16x16xf32>, tensor<2x16xf32>,
        tensor<2x4x16xf32>
  return
}

// -----

func.func @ttt_base_lr(%x: tensor<8x32xf32>, %p: tensor<32x32xf32>, %lrw: tensor<2x32xf32>,
    %lrb: tensor<2xf32>, %n: tensor<2x16xf32>, %pn: tensor<32xf32>, %w: tensor<2x16x16xf32>,
    %c: tensor<2x16xf32>, %kb: tensor<2x4x16xf32>, %pos: index) {
  // expected-error @+1 {{attribute 'base_lr' must be >= 0 and finite, got -1}}
  %y:6 = bitttt.ttt_linear %x proj(%p, %p, %p, %p) lr(%lrw, %lrb) ttt_norm(%n, %n)
      post_norm(%pn, %pn) state(%w, %c, %kb, %kb, %pos)
      {num_heads = 2, mini_batch = 4, base_lr = -1.0 : f32}
      : tensor<8x32xf32>, tensor<32x32xf32>, tensor<2x32xf32>, tensor<2xf32>,
        tensor<2x16xf32>, tensor<32xf32>, tensor<2x16x16xf32>, tensor<2x16xf32>,
        tensor<2x4x16xf32>
  return
}

// -----

func.func @ttt_missing_attr(%x: tensor<8x32xf32>, %p: tensor<32x32xf32>, %lrw: tensor<2x32xf32>,
    %lrb: tensor<2xf32>, %n: tensor<2x16xf32>, %pn: tensor<32xf32>, %w: tensor<2x16x16xf32>,
    %c: tensor<2x16xf32>, %kb: tensor<2x4x16xf32>, %pos: index) {
  // expected-error @+1 {{requires attribute 'base_lr'}}
  %y:6 = bitttt.ttt_linear %x proj(%p, %p, %p, %p) lr(%lrw, %lrb) ttt_norm(%n, %n)
      post_norm(%pn, %pn) state(%w, %c, %kb, %kb, %pos)
      {num_heads = 2, mini_batch = 4}
      : tensor<8x32xf32>, tensor<32x32xf32>, tensor<2x32xf32>, tensor<2xf32>,
        tensor<2x16xf32>, tensor<32xf32>, tensor<2x16x16xf32>, tensor<2x16xf32>,
        tensor<2x4x16xf32>
  return
}

// -----

func.func @ttt_dynamic_d(%x: tensor<8x?xf32>, %p: tensor<32x32xf32>, %lrw: tensor<2x32xf32>,
    %lrb: tensor<2xf32>, %n: tensor<2x16xf32>, %pn: tensor<32xf32>, %w: tensor<2x16x16xf32>,
    %c: tensor<2x16xf32>, %kb: tensor<2x4x16xf32>, %pos: index) {
  // expected-error @+1 {{operand 'input' must have a static column count (D)}}
  %y:6 = bitttt.ttt_linear %x proj(%p, %p, %p, %p) lr(%lrw, %lrb) ttt_norm(%n, %n)
      post_norm(%pn, %pn) state(%w, %c, %kb, %kb, %pos)
      {num_heads = 2, mini_batch = 4, base_lr = 1.0 : f32}
      : tensor<8x?xf32>, tensor<32x32xf32>, tensor<2x32xf32>, tensor<2xf32>,
        tensor<2x16xf32>, tensor<32xf32>, tensor<2x16x16xf32>, tensor<2x16xf32>,
        tensor<2x4x16xf32>
  return
}

// -----

func.func @ttt_heads_divide(%x: tensor<8x32xf32>, %p: tensor<32x32xf32>, %lrw: tensor<3x32xf32>,
    %lrb: tensor<3xf32>, %n: tensor<3x10xf32>, %pn: tensor<32xf32>, %w: tensor<3x10x10xf32>,
    %c: tensor<3x10xf32>, %kb: tensor<2x4x16xf32>, %pos: index) {
  // expected-error @+1 {{attribute 'num_heads' (3) must divide the columns of operand 'input' (32)}}
  %y:6 = bitttt.ttt_linear %x proj(%p, %p, %p, %p) lr(%lrw, %lrb) ttt_norm(%n, %n)
      post_norm(%pn, %pn) state(%w, %c, %kb, %kb, %pos)
      {num_heads = 3, mini_batch = 4, base_lr = 1.0 : f32}
      : tensor<8x32xf32>, tensor<32x32xf32>, tensor<3x32xf32>, tensor<3xf32>,
        tensor<3x10xf32>, tensor<32xf32>, tensor<3x10x10xf32>, tensor<3x10xf32>,
        tensor<2x4x16xf32>
  return
}

// -----

func.func @ttt_q_proj(%x: tensor<8x32xf32>, %p: tensor<32x16xf32>, %lrw: tensor<2x32xf32>,
    %lrb: tensor<2xf32>, %n: tensor<2x16xf32>, %pn: tensor<32xf32>, %w: tensor<2x16x16xf32>,
    %c: tensor<2x16xf32>, %kb: tensor<2x4x16xf32>, %pos: index) {
  // expected-error @+1 {{operand 'q_proj' must have shape [32, 32] ([D, D]), got [32, 16]}}
  %y:6 = bitttt.ttt_linear %x proj(%p, %p, %p, %p) lr(%lrw, %lrb) ttt_norm(%n, %n)
      post_norm(%pn, %pn) state(%w, %c, %kb, %kb, %pos)
      {num_heads = 2, mini_batch = 4, base_lr = 1.0 : f32}
      : tensor<8x32xf32>, tensor<32x16xf32>, tensor<2x32xf32>, tensor<2xf32>,
        tensor<2x16xf32>, tensor<32xf32>, tensor<2x16x16xf32>, tensor<2x16xf32>,
        tensor<2x4x16xf32>
  return
}

// -----

func.func @ttt_proj_mismatch(%x: tensor<8x32xf32>, %p: tensor<32x32xf32>, %k: tensor<32x16xf32>,
    %lrw: tensor<2x32xf32>, %lrb: tensor<2xf32>, %n: tensor<2x16xf32>, %pn: tensor<32xf32>,
    %w: tensor<2x16x16xf32>, %c: tensor<2x16xf32>, %kb: tensor<2x4x16xf32>, %pos: index) {
  // expected-error @+1 {{failed to verify that all of {q_proj, k_proj, v_proj, o_proj} have same type}}
  %y:6 = "bitttt.ttt_linear"(%x, %p, %k, %p, %p, %lrw, %lrb, %n, %n, %pn, %pn, %w, %c, %kb, %kb, %pos)
      <{num_heads = 2 : i64, mini_batch = 4 : i64, base_lr = 1.0 : f32}>
      : (tensor<8x32xf32>, tensor<32x32xf32>, tensor<32x16xf32>, tensor<32x32xf32>, tensor<32x32xf32>,
         tensor<2x32xf32>, tensor<2xf32>, tensor<2x16xf32>, tensor<2x16xf32>, tensor<32xf32>,
         tensor<32xf32>, tensor<2x16x16xf32>, tensor<2x16xf32>, tensor<2x4x16xf32>, tensor<2x4x16xf32>, index)
      -> (tensor<8x32xf32>, tensor<2x16x16xf32>, tensor<2x16xf32>, tensor<2x4x16xf32>, tensor<2x4x16xf32>, index)
  return
}

// -----

func.func @ttt_lr_weight(%x: tensor<8x32xf32>, %p: tensor<32x32xf32>, %lrw: tensor<4x32xf32>,
    %lrb: tensor<2xf32>, %n: tensor<2x16xf32>, %pn: tensor<32xf32>, %w: tensor<2x16x16xf32>,
    %c: tensor<2x16xf32>, %kb: tensor<2x4x16xf32>, %pos: index) {
  // expected-error @+1 {{operand 'lr_weight' must have shape [2, 32] ([num_heads, D]), got [4, 32]}}
  %y:6 = bitttt.ttt_linear %x proj(%p, %p, %p, %p) lr(%lrw, %lrb) ttt_norm(%n, %n)
      post_norm(%pn, %pn) state(%w, %c, %kb, %kb, %pos)
      {num_heads = 2, mini_batch = 4, base_lr = 1.0 : f32}
      : tensor<8x32xf32>, tensor<32x32xf32>, tensor<4x32xf32>, tensor<2xf32>,
        tensor<2x16xf32>, tensor<32xf32>, tensor<2x16x16xf32>, tensor<2x16xf32>,
        tensor<2x4x16xf32>
  return
}

// -----

func.func @ttt_lr_bias(%x: tensor<8x32xf32>, %p: tensor<32x32xf32>, %lrw: tensor<2x32xf32>,
    %lrb: tensor<3xf32>, %n: tensor<2x16xf32>, %pn: tensor<32xf32>, %w: tensor<2x16x16xf32>,
    %c: tensor<2x16xf32>, %kb: tensor<2x4x16xf32>, %pos: index) {
  // expected-error @+1 {{operand 'lr_bias' must have shape [2] ([num_heads]), got [3]}}
  %y:6 = bitttt.ttt_linear %x proj(%p, %p, %p, %p) lr(%lrw, %lrb) ttt_norm(%n, %n)
      post_norm(%pn, %pn) state(%w, %c, %kb, %kb, %pos)
      {num_heads = 2, mini_batch = 4, base_lr = 1.0 : f32}
      : tensor<8x32xf32>, tensor<32x32xf32>, tensor<2x32xf32>, tensor<3xf32>,
        tensor<2x16xf32>, tensor<32xf32>, tensor<2x16x16xf32>, tensor<2x16xf32>,
        tensor<2x4x16xf32>
  return
}

// -----

func.func @ttt_norm_weight(%x: tensor<8x32xf32>, %p: tensor<32x32xf32>, %lrw: tensor<2x32xf32>,
    %lrb: tensor<2xf32>, %n: tensor<2x32xf32>, %pn: tensor<32xf32>, %w: tensor<2x16x16xf32>,
    %c: tensor<2x16xf32>, %kb: tensor<2x4x16xf32>, %pos: index) {
  // expected-error @+1 {{operand 'ttt_norm_weight' must have shape [2, 16] ([num_heads, D/num_heads]), got [2, 32]}}
  %y:6 = bitttt.ttt_linear %x proj(%p, %p, %p, %p) lr(%lrw, %lrb) ttt_norm(%n, %n)
      post_norm(%pn, %pn) state(%w, %c, %kb, %kb, %pos)
      {num_heads = 2, mini_batch = 4, base_lr = 1.0 : f32}
      : tensor<8x32xf32>, tensor<32x32xf32>, tensor<2x32xf32>, tensor<2xf32>,
        tensor<2x32xf32>, tensor<32xf32>, tensor<2x16x16xf32>, tensor<2x16xf32>,
        tensor<2x4x16xf32>
  return
}

// -----

func.func @ttt_norm_bias(%x: tensor<8x32xf32>, %p: tensor<32x32xf32>, %lrw: tensor<2x32xf32>,
    %lrb: tensor<2xf32>, %n: tensor<2x16xf32>, %nb: tensor<2x8xf32>, %pn: tensor<32xf32>,
    %w: tensor<2x16x16xf32>, %c: tensor<2x16xf32>, %kb: tensor<2x4x16xf32>, %pos: index) {
  // expected-error @+1 {{failed to verify that all of {ttt_norm_weight, ttt_norm_bias} have same type}}
  %y:6 = "bitttt.ttt_linear"(%x, %p, %p, %p, %p, %lrw, %lrb, %n, %nb, %pn, %pn, %w, %c, %kb, %kb, %pos)
      <{num_heads = 2 : i64, mini_batch = 4 : i64, base_lr = 1.0 : f32}>
      : (tensor<8x32xf32>, tensor<32x32xf32>, tensor<32x32xf32>, tensor<32x32xf32>, tensor<32x32xf32>,
         tensor<2x32xf32>, tensor<2xf32>, tensor<2x16xf32>, tensor<2x8xf32>, tensor<32xf32>,
         tensor<32xf32>, tensor<2x16x16xf32>, tensor<2x16xf32>, tensor<2x4x16xf32>, tensor<2x4x16xf32>, index)
      -> (tensor<8x32xf32>, tensor<2x16x16xf32>, tensor<2x16xf32>, tensor<2x4x16xf32>, tensor<2x4x16xf32>, index)
  return
}

// -----

func.func @ttt_post_norm(%x: tensor<8x32xf32>, %p: tensor<32x32xf32>, %lrw: tensor<2x32xf32>,
    %lrb: tensor<2xf32>, %n: tensor<2x16xf32>, %pn: tensor<16xf32>, %w: tensor<2x16x16xf32>,
    %c: tensor<2x16xf32>, %kb: tensor<2x4x16xf32>, %pos: index) {
  // expected-error @+1 {{operand 'post_norm_weight' must have shape [32] ([D]), got [16]}}
  %y:6 = bitttt.ttt_linear %x proj(%p, %p, %p, %p) lr(%lrw, %lrb) ttt_norm(%n, %n)
      post_norm(%pn, %pn) state(%w, %c, %kb, %kb, %pos)
      {num_heads = 2, mini_batch = 4, base_lr = 1.0 : f32}
      : tensor<8x32xf32>, tensor<32x32xf32>, tensor<2x32xf32>, tensor<2xf32>,
        tensor<2x16xf32>, tensor<16xf32>, tensor<2x16x16xf32>, tensor<2x16xf32>,
        tensor<2x4x16xf32>
  return
}

// -----

func.func @ttt_state_w(%x: tensor<8x32xf32>, %p: tensor<32x32xf32>, %lrw: tensor<2x32xf32>,
    %lrb: tensor<2xf32>, %n: tensor<2x16xf32>, %pn: tensor<32xf32>, %w: tensor<2x16x8xf32>,
    %c: tensor<2x16xf32>, %kb: tensor<2x4x16xf32>, %pos: index) {
  // expected-error @+1 {{operand 'w' must have shape [2, 16, 16] ([num_heads, D/num_heads, D/num_heads]), got [2, 16, 8]}}
  %y:6 = bitttt.ttt_linear %x proj(%p, %p, %p, %p) lr(%lrw, %lrb) ttt_norm(%n, %n)
      post_norm(%pn, %pn) state(%w, %c, %kb, %kb, %pos)
      {num_heads = 2, mini_batch = 4, base_lr = 1.0 : f32}
      : tensor<8x32xf32>, tensor<32x32xf32>, tensor<2x32xf32>, tensor<2xf32>,
        tensor<2x16xf32>, tensor<32xf32>, tensor<2x16x8xf32>, tensor<2x16xf32>,
        tensor<2x4x16xf32>
  return
}

// -----

func.func @ttt_state_c(%x: tensor<8x32xf32>, %p: tensor<32x32xf32>, %lrw: tensor<2x32xf32>,
    %lrb: tensor<2xf32>, %n: tensor<2x16xf32>, %pn: tensor<32xf32>, %w: tensor<2x16x16xf32>,
    %c: tensor<1x16xf32>, %kb: tensor<2x4x16xf32>, %pos: index) {
  // expected-error @+1 {{operand 'c' must have shape [2, 16] ([num_heads, D/num_heads]), got [1, 16]}}
  %y:6 = bitttt.ttt_linear %x proj(%p, %p, %p, %p) lr(%lrw, %lrb) ttt_norm(%n, %n)
      post_norm(%pn, %pn) state(%w, %c, %kb, %kb, %pos)
      {num_heads = 2, mini_batch = 4, base_lr = 1.0 : f32}
      : tensor<8x32xf32>, tensor<32x32xf32>, tensor<2x32xf32>, tensor<2xf32>,
        tensor<2x16xf32>, tensor<32xf32>, tensor<2x16x16xf32>, tensor<1x16xf32>,
        tensor<2x4x16xf32>
  return
}

// -----

func.func @ttt_eta_grads(%x: tensor<8x32xf32>, %p: tensor<32x32xf32>, %lrw: tensor<2x32xf32>,
    %lrb: tensor<2xf32>, %n: tensor<2x16xf32>, %pn: tensor<32xf32>, %w: tensor<2x16x16xf32>,
    %kb: tensor<2x4x16xf32>, %eg: tensor<2x4x15xf32>, %c: tensor<2x16xf32>, %pos: index) {
  // expected-error @+1 {{failed to verify that all of {keys, eta_grads, keys_out, eta_grads_out} have same type}}
  %y:6 = "bitttt.ttt_linear"(%x, %p, %p, %p, %p, %lrw, %lrb, %n, %n, %pn, %pn, %w, %c, %kb, %eg, %pos)
      <{num_heads = 2 : i64, mini_batch = 4 : i64, base_lr = 1.0 : f32}>
      : (tensor<8x32xf32>, tensor<32x32xf32>, tensor<32x32xf32>, tensor<32x32xf32>, tensor<32x32xf32>,
         tensor<2x32xf32>, tensor<2xf32>, tensor<2x16xf32>, tensor<2x16xf32>, tensor<32xf32>,
         tensor<32xf32>, tensor<2x16x16xf32>, tensor<2x16xf32>, tensor<2x4x16xf32>, tensor<2x4x15xf32>, index)
      -> (tensor<8x32xf32>, tensor<2x16x16xf32>, tensor<2x16xf32>, tensor<2x4x16xf32>, tensor<2x4x15xf32>, index)
  return
}

// -----

func.func @ttt_keys(%x: tensor<8x32xf32>, %p: tensor<32x32xf32>, %lrw: tensor<2x32xf32>,
    %lrb: tensor<2xf32>, %n: tensor<2x16xf32>, %pn: tensor<32xf32>, %w: tensor<2x16x16xf32>,
    %c: tensor<2x16xf32>, %kb: tensor<2x3x16xf32>, %pos: index) {
  // expected-error @+1 {{operand 'keys' must have shape [2, 4, 16] ([num_heads, mini_batch, D/num_heads]), got [2, 3, 16]}}
  %y:6 = bitttt.ttt_linear %x proj(%p, %p, %p, %p) lr(%lrw, %lrb) ttt_norm(%n, %n)
      post_norm(%pn, %pn) state(%w, %c, %kb, %kb, %pos)
      {num_heads = 2, mini_batch = 4, base_lr = 1.0 : f32}
      : tensor<8x32xf32>, tensor<32x32xf32>, tensor<2x32xf32>, tensor<2xf32>,
        tensor<2x16xf32>, tensor<32xf32>, tensor<2x16x16xf32>, tensor<2x16xf32>,
        tensor<2x3x16xf32>
  return
}

// -----

func.func @ttt_pos_type(%x: tensor<8x32xf32>, %p: tensor<32x32xf32>, %lrw: tensor<2x32xf32>,
    %lrb: tensor<2xf32>, %n: tensor<2x16xf32>, %pn: tensor<32xf32>, %w: tensor<2x16x16xf32>,
    %c: tensor<2x16xf32>, %kb: tensor<2x4x16xf32>, %pos: i32) {
  // expected-error @+1 {{operand 'pos' #15 must be index, but got 'i32'}}
  %y:6 = "bitttt.ttt_linear"(%x, %p, %p, %p, %p, %lrw, %lrb, %n, %n, %pn, %pn, %w, %c, %kb, %kb, %pos)
      <{num_heads = 2 : i64, mini_batch = 4 : i64, base_lr = 1.0 : f32}>
      : (tensor<8x32xf32>, tensor<32x32xf32>, tensor<32x32xf32>, tensor<32x32xf32>, tensor<32x32xf32>,
         tensor<2x32xf32>, tensor<2xf32>, tensor<2x16xf32>, tensor<2x16xf32>, tensor<32xf32>,
         tensor<32xf32>, tensor<2x16x16xf32>, tensor<2x16xf32>, tensor<2x4x16xf32>, tensor<2x4x16xf32>, i32)
      -> (tensor<8x32xf32>, tensor<2x16x16xf32>, tensor<2x16xf32>, tensor<2x4x16xf32>, tensor<2x4x16xf32>, index)
  return
}

// -----

// == ttt_seed ==

func.func @seed_act_bits(%x: tensor<4x32xf32>, %d: tensor<8x32xf32>, %u: tensor<32x8xf32>,
    %w: tensor<8x8xf32>, %kb: tensor<1x8xf32>, %pos: index) {
  // expected-error @+1 {{attribute 'act_bits' must be 0 (f32 activations) or 8 (int8), got 16}}
  %y:5 = bitttt.ttt_seed %x proj(%d, %u) state(%w, %kb, %kb, %pos)
      {mini_batch = 1, inner_lr = 0.1 : f32, act_bits = 16}
      : tensor<4x32xf32>, tensor<8x32xf32>, tensor<32x8xf32>, tensor<8x8xf32>, tensor<1x8xf32>
  return
}

// -----

func.func @seed_mini_batch(%x: tensor<4x32xf32>, %d: tensor<8x32xf32>, %u: tensor<32x8xf32>,
    %w: tensor<8x8xf32>, %kb: tensor<1x8xf32>, %pos: index) {
  // expected-error @+1 {{attribute 'mini_batch' must be positive, got 0}}
  %y:5 = bitttt.ttt_seed %x proj(%d, %u) state(%w, %kb, %kb, %pos)
      {mini_batch = 0, inner_lr = 0.1 : f32}
      : tensor<4x32xf32>, tensor<8x32xf32>, tensor<32x8xf32>, tensor<8x8xf32>, tensor<1x8xf32>
  return
}

// -----

func.func @seed_inner_lr(%x: tensor<4x32xf32>, %d: tensor<8x32xf32>, %u: tensor<32x8xf32>,
    %w: tensor<8x8xf32>, %kb: tensor<1x8xf32>, %pos: index) {
  // expected-error @+1 {{attribute 'inner_lr' must be >= 0 and finite, got inf}}
  %y:5 = bitttt.ttt_seed %x proj(%d, %u) state(%w, %kb, %kb, %pos)
      {mini_batch = 1, inner_lr = 0x7F800000 : f32}
      : tensor<4x32xf32>, tensor<8x32xf32>, tensor<32x8xf32>, tensor<8x8xf32>, tensor<1x8xf32>
  return
}

// -----

func.func @seed_down(%x: tensor<4x32xf32>, %d: tensor<8x16xf32>, %u: tensor<32x8xf32>,
    %w: tensor<8x8xf32>, %kb: tensor<1x8xf32>, %pos: index) {
  // expected-error @+1 {{operand 'down_weight' must have shape [8, 32] ([d, D] with D the columns of 'input'), got [8, 16]}}
  %y:5 = bitttt.ttt_seed %x proj(%d, %u) state(%w, %kb, %kb, %pos)
      {mini_batch = 1, inner_lr = 0.1 : f32}
      : tensor<4x32xf32>, tensor<8x16xf32>, tensor<32x8xf32>, tensor<8x8xf32>, tensor<1x8xf32>
  return
}

// -----

func.func @seed_up(%x: tensor<4x32xf32>, %d: tensor<8x32xf32>, %u: tensor<32x4xf32>,
    %w: tensor<8x8xf32>, %kb: tensor<1x8xf32>, %pos: index) {
  // expected-error @+1 {{operand 'up_weight' must have shape [32, 8] ([D, d] with d the rows of 'down_weight'), got [32, 4]}}
  %y:5 = bitttt.ttt_seed %x proj(%d, %u) state(%w, %kb, %kb, %pos)
      {mini_batch = 1, inner_lr = 0.1 : f32}
      : tensor<4x32xf32>, tensor<8x32xf32>, tensor<32x4xf32>, tensor<8x8xf32>, tensor<1x8xf32>
  return
}

// -----

func.func @seed_w(%x: tensor<4x32xf32>, %d: tensor<8x32xf32>, %u: tensor<32x8xf32>,
    %w: tensor<4x4xf32>, %kb: tensor<1x8xf32>, %pos: index) {
  // expected-error @+1 {{operand 'w' must have shape [8, 8] ([d, d] with d the rows of 'down_weight'), got [4, 4]}}
  %y:5 = bitttt.ttt_seed %x proj(%d, %u) state(%w, %kb, %kb, %pos)
      {mini_batch = 1, inner_lr = 0.1 : f32}
      : tensor<4x32xf32>, tensor<8x32xf32>, tensor<32x8xf32>, tensor<4x4xf32>, tensor<1x8xf32>
  return
}

// -----

// == embedding / lm_head / cross_entropy ==

func.func @embedding_result(%t: tensor<64x32xf32>, %ids: tensor<8xi32>) {
  // expected-error @+1 {{result must have shape [8, 32] ([T, D]: length of 'ids', columns of 'table'), got [8, 64]}}
  %h = bitttt.embedding %t[%ids] : tensor<64x32xf32>, tensor<8xi32> -> tensor<8x64xf32>
  return
}

// -----

func.func @embedding_ids(%t: tensor<64x32xf32>, %ids: tensor<8xf32>) {
  // expected-error @+1 {{operand 'ids' #1 must be 1D tensor of 32-bit signless integer values}}
  %h = "bitttt.embedding"(%t, %ids) : (tensor<64x32xf32>, tensor<8xf32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @lm_head_weight(%x: tensor<8x32xf32>, %w: tensor<64x16xf32>) {
  // expected-error @+1 {{operand 'weight' must have shape [64, 32] ([V, D] with D the columns of 'input'), got [64, 16]}}
  %l = bitttt.lm_head %x, %w : tensor<8x32xf32>, tensor<64x16xf32> -> tensor<8x64xf32>
  return
}

// -----

func.func @lm_head_result(%x: tensor<8x32xf32>, %w: tensor<64x32xf32>) {
  // expected-error @+1 {{result must have shape [8, 64] ([T, V]: rows of 'input', rows of 'weight'), got [8, 63]}}
  %l = bitttt.lm_head %x, %w : tensor<8x32xf32>, tensor<64x32xf32> -> tensor<8x63xf32>
  return
}

// -----

func.func @lm_head_f16(%x: tensor<8x32xf32>, %w: tensor<64x32xf16>) {
  // expected-error @+1 {{operand 'weight' #1 must be 2D tensor of 32-bit float or bfloat16 type values}}
  %l = bitttt.lm_head %x, %w : tensor<8x32xf32>, tensor<64x32xf16> -> tensor<8x64xf32>
  return
}

// -----

func.func @cross_entropy_targets(%l: tensor<8x64xf32>, %t: tensor<7xi32>) {
  // expected-error @+1 {{operand 'targets' must have shape [8] (one target per row of 'logits'), got [7]}}
  %loss = bitttt.cross_entropy %l, %t : tensor<8x64xf32>, tensor<7xi32>
  return
}

// -----

// == adamw ==

func.func @adamw_beta1(%p: tensor<4xf32>, %lr: f32, %t: i64) {
  // expected-error @+1 {{attribute 'beta1' must be in [0, 1), got 1}}
  %a:3 = bitttt.adamw %p, %p, %p, %p lr(%lr) step(%t) {beta1 = 1.0 : f64} : tensor<4xf32>
  return
}

// -----

func.func @adamw_beta2(%p: tensor<4xf32>, %lr: f32, %t: i64) {
  // expected-error @+1 {{attribute 'beta2' must be in [0, 1), got -0.5}}
  %a:3 = bitttt.adamw %p, %p, %p, %p lr(%lr) step(%t) {beta2 = -0.5 : f64} : tensor<4xf32>
  return
}

// -----

func.func @adamw_eps(%p: tensor<4xf32>, %lr: f32, %t: i64) {
  // expected-error @+1 {{attribute 'eps' must be positive and finite, got 0}}
  %a:3 = bitttt.adamw %p, %p, %p, %p lr(%lr) step(%t) {eps = 0.0 : f64} : tensor<4xf32>
  return
}

// -----

func.func @adamw_weight_decay(%p: tensor<4xf32>, %lr: f32, %t: i64) {
  // expected-error @+1 {{attribute 'weight_decay' must be >= 0 and finite, got -0.1}}
  %a:3 = bitttt.adamw %p, %p, %p, %p lr(%lr) step(%t) {weight_decay = -0.1 : f64} : tensor<4xf32>
  return
}

// -----

func.func @adamw_types(%p: tensor<4xf32>, %g: tensor<5xf32>, %lr: f32, %t: i64) {
  // expected-error @+1 {{failed to verify that all of {param, grad, exp_avg, exp_avg_sq, param_out, exp_avg_out, exp_avg_sq_out} have same type}}
  %a:3 = "bitttt.adamw"(%p, %g, %p, %p, %lr, %t) : (tensor<4xf32>, tensor<5xf32>, tensor<4xf32>, tensor<4xf32>, f32, i64) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @adamw_unknown(%p: tensor<4xf32>, %lr: f32, %t: i64) {
  // expected-error @+1 {{has unknown attribute 'lr' (known: beta1, beta2, eps, weight_decay)}}
  %a:3 = bitttt.adamw %p, %p, %p, %p lr(%lr) step(%t) {lr = 1.0 : f32} : tensor<4xf32>
  return
}

// -----

// == malformed IR ==

func.func @unknown_op(%x: tensor<4xf32>) {
  // expected-error @+1 {{custom op 'bitttt.bitlinar' is unknown}}
  %y = bitttt.bitlinar %x : tensor<4xf32>
  return
}

// -----

// expected-error @+1 {{unknown bitttt attribute 'bitttt.weight' (known on arguments and results: bitttt.tensor, bitttt.state, bitttt.io, bitttt.param, bitttt.adam_m, bitttt.adam_v, bitttt.grad, bitttt.range, bitttt.packed, bitttt.exec)}}
func.func private @bad_arg_attr(tensor<4xf32> {bitttt.weight = "x"})

// -----

// expected-error @+1 {{attribute 'bitttt.tensor' must be a non-empty string}}
func.func private @bad_arg_attr_value(tensor<4xf32> {bitttt.tensor = 3 : i64})

// -----

// expected-error @+1 {{unknown bitttt attribute 'bitttt.logits'}}
func.func private @bad_result_attr() -> (tensor<4xf32> {bitttt.logits = "x"})

// -----

// expected-error @+1 {{attribute 'bitttt.range' must be array<i64: lo, hi> with lo < hi, got array<i64: 4, 4>}}
func.func private @bad_range(tensor<i64> {bitttt.state = "pos", bitttt.range = array<i64: 4, 4>})

// -----

// expected-error @+1 {{attribute 'bitttt.packed' must be {weight = "<name>", part = "codes" | "scale", layout = "i2_b128" | "t5_b160"} or an LM-head part (weight = "lm_head.weight", layout lm_head_bf16: part values; lm_head_int8: part values | row_scale | row_sum), got {layout = "i2_b128", part = "bits", weight = "w"}}}
func.func private @bad_packed_part(tensor<4x32xi8> {bitttt.packed = {weight = "w", part = "bits", layout = "i2_b128"}})

// -----

// An LM-head layout names the LM head's weight only.
// expected-error @+1 {{attribute 'bitttt.packed' must be}}
func.func private @bad_lm_head_weight(tensor<4xf32> {bitttt.packed = {weight = "w", part = "row_scale", layout = "lm_head_int8"}})

// -----

// expected-error @+1 {{attribute 'bitttt.packed' must be}}
func.func private @bad_lm_head_part(tensor<4xf32> {bitttt.packed = {weight = "lm_head.weight", part = "row_scale", layout = "lm_head_bf16"}})

// -----

func.func @lm_head_q_row_scale(%xq: tensor<2x32xi8>, %s: tensor<2xf32>, %w: tensor<8x32xi8>,
                               %ws: tensor<4xf32>, %wsum: tensor<8xi32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{operand 'row_scale' must have shape [8] (one scale per row of 'weight'), got [4]}}
  %l = bitttt.lm_head_q %xq, %s, %w, %ws, %wsum : tensor<2x32xi8>, tensor<2xf32>, tensor<8x32xi8>, tensor<4xf32>, tensor<8xi32> -> tensor<2x8xf32>
  return %l : tensor<2x8xf32>
}

// -----

func.func @lm_head_q_cols(%xq: tensor<2x32xi8>, %s: tensor<2xf32>, %w: tensor<8x16xi8>,
                          %ws: tensor<8xf32>, %wsum: tensor<8xi32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{operand 'weight' must have shape [8, 32] ([V, D] with D the columns of 'codes'), got [8, 16]}}
  %l = bitttt.lm_head_q %xq, %s, %w, %ws, %wsum : tensor<2x32xi8>, tensor<2xf32>, tensor<8x16xi8>, tensor<8xf32>, tensor<8xi32> -> tensor<2x8xf32>
  return %l : tensor<2x8xf32>
}

// -----

// expected-error @+1 {{attribute 'bitttt.exec' takes no value}}
func.func private @bad_exec(!llvm.ptr {bitttt.exec = 1 : i64})

// -----

// == dot_2bit_i8 ==

func.func @dot_too_many(%acc: vector<8xi32>, %q: vector<32xi8>) -> vector<8xi32> {
  // expected-error @+1 {{takes 1 to 5 (codes, values) pairs (the AVX2 lowering's 16-bit sums stay exact up to 5), got 6}}
  %r = bitttt.dot_2bit_i8 %acc, [%q, %q, %q, %q, %q, %q], [%q, %q, %q, %q, %q, %q] : vector<8xi32>, [vector<32xi8>, vector<32xi8>, vector<32xi8>, vector<32xi8>, vector<32xi8>, vector<32xi8>], [vector<32xi8>, vector<32xi8>, vector<32xi8>, vector<32xi8>, vector<32xi8>, vector<32xi8>]
  return %r : vector<8xi32>
}

// -----

func.func @dot_uneven(%acc: vector<8xi32>, %q: vector<32xi8>) -> vector<8xi32> {
  // expected-error @+1 {{needs as many 'values' as 'codes' vectors, got 5 vectors in all}}
  %r = "bitttt.dot_2bit_i8"(%acc, %q, %q, %q, %q, %q) : (vector<8xi32>, vector<32xi8>, vector<32xi8>, vector<32xi8>, vector<32xi8>, vector<32xi8>) -> vector<8xi32>
  return %r : vector<8xi32>
}

// -----

func.func @dot_width(%acc: vector<8xi32>, %q: vector<16xi8>) -> vector<8xi32> {
  // expected-error @+1 {{operand #1 must be variadic of vector of 8-bit signless integer values of length 32/64}}
  %r = "bitttt.dot_2bit_i8"(%acc, %q, %q) : (vector<8xi32>, vector<16xi8>, vector<16xi8>) -> vector<8xi32>
  return %r : vector<8xi32>
}

// -----

func.func @dot_mixed_width(%acc: vector<8xi32>, %q: vector<64xi8>) -> vector<8xi32> {
  // expected-error @+1 {{takes 32 bytes per codes/values vector for a 8-lane accumulator, got 'vector<64xi8>'}}
  %r = "bitttt.dot_2bit_i8"(%acc, %q, %q) : (vector<8xi32>, vector<64xi8>, vector<64xi8>) -> vector<8xi32>
  return %r : vector<8xi32>
}

// -----

// expected-error @+1 {{attribute 'bitttt.io' must be one of ids, logits, targets, loss, tokens, step, lr, grad_norm; got 'logit'}}
func.func private @bad_io_name() -> (tensor<4xf32> {bitttt.io = "logit"})

// -----

// == fused ops ==

func.func @silu_mul_types(%g: tensor<4x64xf32>, %u: tensor<4x32xf32>) {
  // expected-error @+1 {{failed to verify that all of {gate, up, result} have same type}}
  %h = "bitttt.silu_mul"(%g, %u) : (tensor<4x64xf32>, tensor<4x32xf32>) -> tensor<4x64xf32>
  return
}

// -----

func.func @bitlinear_q_scales(%xq: tensor<4x128xi8>, %s: tensor<3xf32>, %p: !bitttt.packed_ternary<64x128>, %g: f32) {
  // expected-error @+1 {{operand 'scales' must have shape [4] (one scale per row of 'codes'), got [3]}}
  %y = bitttt.bitlinear_q %xq, %s, %p scale %g : tensor<4x128xi8>, tensor<3xf32>, !bitttt.packed_ternary<64x128> -> tensor<4x64xf32>
  return
}

// -----

func.func @bitlinear_q_codes(%xq: tensor<4x64xi8>, %s: tensor<4xf32>, %p: !bitttt.packed_ternary<64x128>, %g: f32) {
  // expected-error @+1 {{operand 'codes' must have shape [4, 128] ([T, in] with 'in' from operand 'weight'), got [4, 64]}}
  %y = bitttt.bitlinear_q %xq, %s, %p scale %g : tensor<4x64xi8>, tensor<4xf32>, !bitttt.packed_ternary<64x128> -> tensor<4x64xf32>
  return
}

// -----

func.func @bitlinear_q_result(%xq: tensor<4x128xi8>, %s: tensor<4xf32>, %p: !bitttt.packed_ternary<64x128>, %g: f32) {
  // expected-error @+1 {{result must have shape [4, 64] ([T, out]: rows of 'codes', out of 'weight'), got [4, 32]}}
  %y = bitttt.bitlinear_q %xq, %s, %p scale %g : tensor<4x128xi8>, tensor<4xf32>, !bitttt.packed_ternary<64x128> -> tensor<4x32xf32>
  return
}

// -----

func.func @gate_up_q_types(%xq: tensor<4x128xi8>, %s: tensor<4xf32>, %pg: !bitttt.packed_ternary<64x128>,
                           %pu: !bitttt.packed_ternary<32x128>, %g: f32) {
  // expected-error @+1 {{operands 'gate_weight' and 'up_weight' must have the same type, got '!bitttt.packed_ternary<64x128>' and '!bitttt.packed_ternary<32x128>'}}
  %h = bitttt.gate_up_q %xq, %s, %pg scale %g, %pu scale %g : tensor<4x128xi8>, tensor<4xf32>, !bitttt.packed_ternary<64x128>, !bitttt.packed_ternary<32x128> -> tensor<4x64xf32>
  return
}

// -----

func.func @gate_up_q_result(%xq: tensor<4x128xi8>, %s: tensor<4xf32>, %p: !bitttt.packed_ternary<64x128>, %g: f32) {
  // expected-error @+1 {{result must have shape [4, 64] ([T, out]: rows of 'codes', out of 'gate_weight'), got [4, 128]}}
  %h = bitttt.gate_up_q %xq, %s, %p scale %g, %p scale %g : tensor<4x128xi8>, tensor<4xf32>, !bitttt.packed_ternary<64x128>, !bitttt.packed_ternary<64x128> -> tensor<4x128xf32>
  return
}

// -----

func.func @norm_quant_eps(%x: tensor<4x64xf32>, %w: tensor<64xf32>) {
  // expected-error @+1 {{attribute 'eps' must be positive and finite, got 0}}
  %q, %s = bitttt.rms_norm_act_quant %x, %w {eps = 0.0 : f32} : tensor<4x64xf32>, tensor<64xf32> -> tensor<4x64xi8>, tensor<4xf32>
  return
}

// -----

func.func @norm_quant_weight(%x: tensor<4x64xf32>, %w: tensor<32xf32>) {
  // expected-error @+1 {{operand 'weight' must have shape [64] (the columns of operand 'input'), got [32]}}
  %q, %s = bitttt.rms_norm_act_quant %x, %w : tensor<4x64xf32>, tensor<32xf32> -> tensor<4x64xi8>, tensor<4xf32>
  return
}

// -----

func.func @norm_quant_codes(%x: tensor<4x64xf32>, %w: tensor<64xf32>) {
  // expected-error @+1 {{result 'codes' must have shape [4, 64] (the shape of operand 'input'), got [4, 32]}}
  %q, %s = bitttt.rms_norm_act_quant %x, %w : tensor<4x64xf32>, tensor<64xf32> -> tensor<4x32xi8>, tensor<4xf32>
  return
}

// -----

func.func @norm_quant_scales(%x: tensor<4x64xf32>, %w: tensor<64xf32>) {
  // expected-error @+1 {{result 'scales' must have shape [4] (one scale per row of 'input'), got [64]}}
  %q, %s = bitttt.rms_norm_act_quant %x, %w : tensor<4x64xf32>, tensor<64xf32> -> tensor<4x64xi8>, tensor<64xf32>
  return
}

// -----

func.func @seqs_not_dividing(%x: tensor<9x32xf32>, %p: tensor<32x32xf32>,
    %lw: tensor<2x32xf32>, %lb: tensor<2xf32>, %n: tensor<2x16xf32>,
    %pn: tensor<32xf32>, %w0: tensor<2x16x16xf32>) -> tensor<9x32xf32> {
  // expected-error @+1 {{attribute 'sequences' (2) must divide the static row count of operand 'input' (9)}}
  %y = bitttt.ttt_linear_seqs %x proj(%p, %p, %p, %p) lr(%lw, %lb)
      ttt_norm(%n, %n) post_norm(%pn, %pn) init(%w0, %n)
      {base_lr = 1.0 : f32, mini_batch = 4 : i64, num_heads = 2 : i64,
       sequences = 2 : i64}
      : tensor<9x32xf32>, tensor<32x32xf32>, tensor<2x32xf32>, tensor<2xf32>,
        tensor<2x16xf32>, tensor<32xf32>, tensor<2x16x16xf32>
  return %y : tensor<9x32xf32>
}

// -----

func.func @seqs_bad_w0(%x: tensor<8x32xf32>, %p: tensor<32x32xf32>,
    %lw: tensor<2x32xf32>, %lb: tensor<2xf32>, %n: tensor<2x16xf32>,
    %pn: tensor<32xf32>, %w0: tensor<2x16x8xf32>) -> tensor<8x32xf32> {
  // expected-error @+1 {{operand 'w0'}}
  %y = bitttt.ttt_linear_seqs %x proj(%p, %p, %p, %p) lr(%lw, %lb)
      ttt_norm(%n, %n) post_norm(%pn, %pn) init(%w0, %n)
      {base_lr = 1.0 : f32, mini_batch = 4 : i64, num_heads = 2 : i64,
       sequences = 2 : i64}
      : tensor<8x32xf32>, tensor<32x32xf32>, tensor<2x32xf32>, tensor<2xf32>,
        tensor<2x16xf32>, tensor<32xf32>, tensor<2x16x8xf32>
  return %y : tensor<8x32xf32>
}

// -----

func.func @seed_seqs_bad_up(%x: tensor<8x32xf32>, %d: tensor<8x32xf32>,
    %u: tensor<32x4xf32>) -> tensor<8x32xf32> {
  // expected-error @+1 {{operand 'up_weight'}}
  %y = bitttt.ttt_seed_seqs %x proj(%d, %u)
      {inner_lr = 0.1 : f32, mini_batch = 1 : i64, sequences = 2 : i64}
      : tensor<8x32xf32>, tensor<8x32xf32>, tensor<32x4xf32>
  return %y : tensor<8x32xf32>
}

// -----

func.func @embedding_grad_ids(%g: tensor<8x32xf32>, %ids: tensor<7xi32>) -> tensor<64x32xf32> {
  // expected-error @+1 {{operand 'ids'}}
  %t = bitttt.embedding_grad %g[%ids] : tensor<8x32xf32>, tensor<7xi32> -> tensor<64x32xf32>
  return %t : tensor<64x32xf32>
}

// -----

// == packed_ternary layouts ==

// expected-error @+1 {{unknown packed_ternary layout 'i3_b99'; expected i2_b128|t5_b160}}
func.func private @bad_layout(!bitttt.packed_ternary<4x8, i3_b99>)

// -----

func.func @lookup_short(%q: vector<64xi8>) -> vector<64xi8> {
  // expected-error @+1 {{table must have 256 entries, got 3}}
  %r = bitttt.lookup_i8 %q, [0, 1, 2] : vector<64xi8>
  return %r : vector<64xi8>
}
