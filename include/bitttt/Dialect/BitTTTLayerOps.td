//===- BitTTTLayerOps.td - BitLinear, SwiGLU and TTT layers -*- tablegen -*-===//

#ifndef BITTTT_LAYER_OPS_TD
#define BITTTT_LAYER_OPS_TD

include "bitttt/Dialect/BitTTTTypes.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

// act_bits: 8 quantizes activations per token to int8, 0 keeps them in f32.
defvar ActBitsAttr = DefaultValuedAttr<I64Attr, "8">;

def BitTTT_BitLinearOp : BitTTT_Op<"bitlinear", [Pure]> {
  let summary = "BitNet b1.58 linear layer: ternary weight, int8 activations";
  let description = [{
    `y = (xq · Wqᵀ) · γ / s` (DESIGN.md §1). The weight is either a latent
    f32 `[out, in]` matrix, quantized on the fly (`γ = max(mean|W|, 1e-5)`),
    or an already packed `!bitttt.packed_ternary<out x in>` with its scale
    `γ` given as the `scale` operand. `act_bits` is 8 (int8 activations with
    a per-row scale `s`) or 0 (f32 activations, `s = 1`).

    ```mlir
    %y = bitttt.bitlinear %x, %w : tensor<8x32xf32>, tensor<64x32xf32> -> tensor<8x64xf32>
    %z = bitttt.bitlinear %x, %p scale %gamma {act_bits = 0}
        : tensor<8x32xf32>, !bitttt.packed_ternary<64x32> -> tensor<8x64xf32>
    ```
  }];
  let arguments = (ins BitTTT_F32Matrix:$input, BitTTT_TernaryWeight:$weight,
                   Optional<F32>:$scale, ActBitsAttr:$act_bits);
  let results = (outs BitTTT_F32Matrix:$result);
  let assemblyFormat = [{
    $input `,` $weight (`scale` $scale^)? attr-dict `:` type($input) `,`
    type($weight) `->` type($result)
  }];
  let hasVerifier = 1;
}

def BitTTT_SwiGLUOp : BitTTT_Op<"swiglu",
    [Pure, AllTypesMatch<["input", "result"]>,
     AllTypesMatch<["gate_weight", "up_weight"]>]> {
  let summary = "SwiGLU MLP with three BitLinear projections";
  let description = [{
    `down(silu(gate(x)) ⊙ up(x))`; each projection is a BitLinear with the
    op's `act_bits`. `gate` and `up` are `[I, D]`, `down` is `[D, I]`.

    ```mlir
    %y = bitttt.swiglu %x, %gate, %up, %down
        : tensor<8x32xf32>, tensor<128x32xf32>, tensor<32x128xf32>
    ```
  }];
  let arguments = (ins BitTTT_F32Matrix:$input, BitTTT_F32Matrix:$gate_weight,
                   BitTTT_F32Matrix:$up_weight, BitTTT_F32Matrix:$down_weight,
                   ActBitsAttr:$act_bits);
  let results = (outs BitTTT_F32Matrix:$result);
  let assemblyFormat = [{
    $input `,` $gate_weight `,` $up_weight `,` $down_weight attr-dict `:`
    type($input) `,` type($gate_weight) `,` type($down_weight)
  }];
  let hasVerifier = 1;
}

def BitTTT_TTTLinearOp : BitTTT_Op<"ttt_linear",
    [Pure, AllTypesMatch<["input", "output"]>,
     AllTypesMatch<["q_proj", "k_proj", "v_proj", "o_proj"]>,
     AllTypesMatch<["ttt_norm_weight", "ttt_norm_bias"]>,
     AllTypesMatch<["post_norm_weight", "post_norm_bias"]>,
     AllTypesMatch<["w", "w_out"]>, AllTypesMatch<["c", "c_out"]>,
     AllTypesMatch<["keys", "eta_grads", "keys_out", "eta_grads_out"]>]> {
  let summary = "TTT-Linear layer with explicit fast-weight state";
  let description = [{
    The TTT-Linear layer of DESIGN.md §1 over the rows of `input` (the
    RMSNorm'ed block input), `num_heads` heads of size `f = D / num_heads`,
    inner mini-batches of `mini_batch` tokens.

    The state is explicit: `w [H, f, f]` and `c [H, f]` are the fast weights
    at the start of the current mini-batch; `keys [H, b, f]` and
    `eta_grads [H, b, f]` hold, in their first `pos` rows, the keys `k_j`
    and the scaled inner gradients `η_j G_j` of the tokens of the current
    mini-batch seen so far (0 ≤ pos < mini_batch; the other rows are
    ignored). The accumulated update of the mini-batch is
    `Σ_j k_jᵀ (η_j G_j)` — it is never formed until the batch is full. The
    results are the layer output and the state after the last row; a
    mini-batch is committed into `w`, `c` only when it is full. Prefill
    (many rows) and decode (one row) are the same op.

    ```mlir
    %y, %w1, %c1, %k1, %g1, %pos1 = bitttt.ttt_linear %x
        proj(%q, %k, %v, %o) lr(%lrw, %lrb) ttt_norm(%ng, %nb)
        post_norm(%pg, %pb) state(%w, %c, %keys, %eta_grads, %pos)
        {base_lr = 1.0 : f32, mini_batch = 4 : i64, num_heads = 2 : i64}
        : tensor<8x32xf32>, tensor<32x32xf32>, tensor<2x32xf32>, tensor<2xf32>,
          tensor<2x16xf32>, tensor<32xf32>, tensor<2x16x16xf32>, tensor<2x16xf32>,
          tensor<2x4x16xf32>
    ```
  }];
  let arguments = (ins BitTTT_F32Matrix:$input,
      BitTTT_F32Matrix:$q_proj, BitTTT_F32Matrix:$k_proj,
      BitTTT_F32Matrix:$v_proj, BitTTT_F32Matrix:$o_proj,
      BitTTT_F32Matrix:$lr_weight, BitTTT_F32Vector:$lr_bias,
      BitTTT_F32Matrix:$ttt_norm_weight, BitTTT_F32Matrix:$ttt_norm_bias,
      BitTTT_F32Vector:$post_norm_weight, BitTTT_F32Vector:$post_norm_bias,
      BitTTT_F32Tensor3:$w, BitTTT_F32Matrix:$c,
      BitTTT_F32Tensor3:$keys, BitTTT_F32Tensor3:$eta_grads, Index:$pos,
      I64Attr:$num_heads, I64Attr:$mini_batch, F32Attr:$base_lr,
      ActBitsAttr:$act_bits);
  let results = (outs BitTTT_F32Matrix:$output,
      BitTTT_F32Tensor3:$w_out, BitTTT_F32Matrix:$c_out,
      BitTTT_F32Tensor3:$keys_out, BitTTT_F32Tensor3:$eta_grads_out,
      Index:$pos_out);
  let assemblyFormat = [{
    $input `proj` `(` $q_proj `,` $k_proj `,` $v_proj `,` $o_proj `)`
    `lr` `(` $lr_weight `,` $lr_bias `)`
    `ttt_norm` `(` $ttt_norm_weight `,` $ttt_norm_bias `)`
    `post_norm` `(` $post_norm_weight `,` $post_norm_bias `)`
    `state` `(` $w `,` $c `,` $keys `,` $eta_grads `,` $pos `)`
    attr-dict `:` type($input) `,` type($q_proj) `,` type($lr_weight) `,`
    type($lr_bias) `,` type($ttt_norm_weight) `,` type($post_norm_weight) `,`
    type($w) `,` type($c) `,` type($keys)
  }];
  let hasVerifier = 1;
}

def BitTTT_TTTSeedOp : BitTTT_Op<"ttt_seed",
    [Pure, AllTypesMatch<["input", "output"]>, AllTypesMatch<["w", "w_out"]>,
     AllTypesMatch<["keys", "errors", "keys_out", "errors_out"]>]> {
  let summary = "seed TTT layer of the original Bit-TTT engine";
  let description = [{
    `k = down(x)`, `k̂ = k / (‖k‖₂ + 1e-6)`, `z = W k̂`, output `up(z)`; all
    tokens of a mini-batch use the start `W`, then
    `W ← W − inner_lr · Σ (z − k̂) k̂ᵀ` when the mini-batch is full.
    `down` is `[d, D]`, `up` is `[D, d]`, the state `w` is `[d, d]`; the
    first `pos` rows of `keys [b, d]` and `errors [b, d]` hold `k̂_j` and
    `z_j − k̂_j` of the rows of the current mini-batch already seen (the sum
    is formed only at the commit).

    ```mlir
    %y, %w1, %k1, %e1, %pos1 = bitttt.ttt_seed %x proj(%down, %up)
        state(%w, %keys, %errors, %pos)
        {inner_lr = 1.0e-01 : f32, mini_batch = 2 : i64}
        : tensor<8x32xf32>, tensor<8x32xf32>, tensor<32x8xf32>, tensor<8x8xf32>,
          tensor<2x8xf32>
    ```
  }];
  let arguments = (ins BitTTT_F32Matrix:$input,
      BitTTT_F32Matrix:$down_weight, BitTTT_F32Matrix:$up_weight,
      BitTTT_F32Matrix:$w, BitTTT_F32Matrix:$keys, BitTTT_F32Matrix:$errors,
      Index:$pos, I64Attr:$mini_batch, F32Attr:$inner_lr,
      ActBitsAttr:$act_bits);
  let results = (outs BitTTT_F32Matrix:$output, BitTTT_F32Matrix:$w_out,
      BitTTT_F32Matrix:$keys_out, BitTTT_F32Matrix:$errors_out,
      Index:$pos_out);
  let assemblyFormat = [{
    $input `proj` `(` $down_weight `,` $up_weight `)`
    `state` `(` $w `,` $keys `,` $errors `,` $pos `)`
    attr-dict `:` type($input) `,` type($down_weight) `,` type($up_weight) `,`
    type($w) `,` type($keys)
  }];
  let hasVerifier = 1;
}

#endif // BITTTT_LAYER_OPS_TD
