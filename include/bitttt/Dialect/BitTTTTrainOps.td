//===- BitTTTTrainOps.td - optimizer ops -------------------*- tablegen -*-===//

#ifndef BITTTT_TRAIN_OPS_TD
#define BITTTT_TRAIN_OPS_TD

include "bitttt/Dialect/BitTTTDialect.td"
include "bitttt/Dialect/BitTTTTypes.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def BitTTT_AdamWOp : BitTTT_Op<"adamw",
    [Pure, AllTypesMatch<["param", "grad", "exp_avg", "exp_avg_sq",
                          "param_out", "exp_avg_out", "exp_avg_sq_out"]>]> {
  let summary = "one AdamW step (decoupled weight decay, bias-corrected)";
  let description = [{
    With `t = step` (≥ 1): `p ← p · (1 − lr·weight_decay)`,
    `m ← β1 m + (1 − β1) g`, `v ← β2 v + (1 − β2) g²`,
    `p ← p − lr · (m / (1 − β1ᵗ)) / (sqrt(v / (1 − β2ᵗ)) + eps)`, as
    `torch.optim.AdamW`. `lr` is an operand so a schedule can drive it.
    The hyperparameters are f64, as the reference's Python floats: the
    constants `1 − β` and the bias corrections are computed in f64, then
    rounded to f32 once.

    ```mlir
    %p1, %m1, %v1 = bitttt.adamw %p, %g, %m, %v lr(%lr) step(%t)
        {beta1 = 0.9 : f64, beta2 = 0.95 : f64, eps = 1.0e-08 : f64,
         weight_decay = 0.1 : f64} : tensor<64x32xf32>
    ```
  }];
  let arguments = (ins RankedTensorOf<[F32]>:$param,
      RankedTensorOf<[F32]>:$grad, RankedTensorOf<[F32]>:$exp_avg,
      RankedTensorOf<[F32]>:$exp_avg_sq, F32:$lr, I64:$step,
      DefaultValuedAttr<F64Attr, "0.9">:$beta1,
      DefaultValuedAttr<F64Attr, "0.95">:$beta2,
      DefaultValuedAttr<F64Attr, "1.0e-8">:$eps,
      DefaultValuedAttr<F64Attr, "0.1">:$weight_decay);
  let results = (outs RankedTensorOf<[F32]>:$param_out,
      RankedTensorOf<[F32]>:$exp_avg_out, RankedTensorOf<[F32]>:$exp_avg_sq_out);
  let assemblyFormat = [{
    $param `,` $grad `,` $exp_avg `,` $exp_avg_sq `lr` `(` $lr `)`
    `step` `(` $step `)` attr-dict `:` type($param)
  }];
  let hasVerifier = 1;
}

def BitTTT_TTTLinearSeqsOp : BitTTT_Op<"ttt_linear_seqs",
    [Pure, AllTypesMatch<["input", "output"]>,
     AllTypesMatch<["q_proj", "k_proj", "v_proj", "o_proj"]>,
     AllTypesMatch<["ttt_norm_weight", "ttt_norm_bias", "b0"]>,
     AllTypesMatch<["post_norm_weight", "post_norm_bias"]>]> {
  let summary = "TTT-Linear over whole sequences from the layer's initial state";
  let description = [{
    The training form of `ttt_linear`: the rows of `input` are `sequences`
    sequences of equal length, each run from the layer's initial fast
    weight `(w0 [H, f, f], b0 [H, f])` in the mini-batch dual form
    (DESIGN.md §1; the last mini-batch may be shorter). Only the output is
    a result: training never carries the state between calls.
    `bitttt-decompose-train` rewrites it into the tensor primitives that
    `bitttt-autodiff` differentiates.

    ```mlir
    %y = bitttt.ttt_linear_seqs %x proj(%q, %k, %v, %o) lr(%lrw, %lrb)
        ttt_norm(%ng, %nb) post_norm(%pg, %pb) init(%w0, %b0)
        {base_lr = 1.0 : f32, mini_batch = 4 : i64, num_heads = 2 : i64,
         sequences = 2 : i64}
        : tensor<8x32xf32>, tensor<32x32xf32>, tensor<2x32xf32>, tensor<2xf32>,
          tensor<2x16xf32>, tensor<32xf32>, tensor<2x16x16xf32>
    ```
  }];
  let arguments = (ins BitTTT_F32Matrix:$input,
      BitTTT_F32Matrix:$q_proj, BitTTT_F32Matrix:$k_proj,
      BitTTT_F32Matrix:$v_proj, BitTTT_F32Matrix:$o_proj,
      BitTTT_F32Matrix:$lr_weight, BitTTT_F32Vector:$lr_bias,
      BitTTT_F32Matrix:$ttt_norm_weight, BitTTT_F32Matrix:$ttt_norm_bias,
      BitTTT_F32Vector:$post_norm_weight, BitTTT_F32Vector:$post_norm_bias,
      BitTTT_F32Tensor3:$w0, BitTTT_F32Matrix:$b0,
      I64Attr:$num_heads, I64Attr:$mini_batch, F32Attr:$base_lr,
      I64Attr:$sequences, ActBitsAttr:$act_bits);
  let results = (outs BitTTT_F32Matrix:$output);
  let assemblyFormat = [{
    $input `proj` `(` $q_proj `,` $k_proj `,` $v_proj `,` $o_proj `)`
    `lr` `(` $lr_weight `,` $lr_bias `)`
    `ttt_norm` `(` $ttt_norm_weight `,` $ttt_norm_bias `)`
    `post_norm` `(` $post_norm_weight `,` $post_norm_bias `)`
    `init` `(` $w0 `,` $b0 `)`
    attr-dict `:` type($input) `,` type($q_proj) `,` type($lr_weight) `,`
    type($lr_bias) `,` type($ttt_norm_weight) `,` type($post_norm_weight) `,`
    type($w0)
  }];
  let hasVerifier = 1;
}

def BitTTT_TTTSeedSeqsOp : BitTTT_Op<"ttt_seed_seqs",
    [Pure, AllTypesMatch<["input", "output"]>]> {
  let summary = "seed TTT over whole sequences from W = 0";
  let description = [{
    The training form of `ttt_seed`: `sequences` sequences of equal length
    (the rows of `input`), each from the zero fast weight, mini-batch by
    mini-batch. Only the output is a result.

    ```mlir
    %y = bitttt.ttt_seed_seqs %x proj(%down, %up)
        {inner_lr = 1.0e-01 : f32, mini_batch = 1 : i64, sequences = 2 : i64}
        : tensor<8x32xf32>, tensor<8x32xf32>, tensor<32x8xf32>
    ```
  }];
  let arguments = (ins BitTTT_F32Matrix:$input,
      BitTTT_F32Matrix:$down_weight, BitTTT_F32Matrix:$up_weight,
      I64Attr:$mini_batch, F32Attr:$inner_lr, I64Attr:$sequences,
      ActBitsAttr:$act_bits);
  let results = (outs BitTTT_F32Matrix:$output);
  let assemblyFormat = [{
    $input `proj` `(` $down_weight `,` $up_weight `)`
    attr-dict `:` type($input) `,` type($down_weight) `,` type($up_weight)
  }];
  let hasVerifier = 1;
}

def BitTTT_EmbeddingGradOp : BitTTT_Op<"embedding_grad", [Pure]> {
  let summary = "cotangent of an embedding table: scatter-add of row cotangents";
  let description = [{
    `result[v] = Σ_{i : ids[i] = v} grad[i]`, a `[V, D]` tensor (the VJP of
    `bitttt.embedding` with respect to its table).

    ```mlir
    %dt = bitttt.embedding_grad %g[%ids] : tensor<8x32xf32>, tensor<8xi32> -> tensor<64x32xf32>
    ```
  }];
  let arguments = (ins BitTTT_F32Matrix:$grad, BitTTT_TokenIds:$ids);
  let results = (outs BitTTT_F32Matrix:$result);
  let assemblyFormat = [{
    $grad `[` $ids `]` attr-dict `:` type($grad) `,` type($ids) `->`
    type($result)
  }];
  let hasVerifier = 1;
}

#endif // BITTTT_TRAIN_OPS_TD
