//===- BitTTTModelOps.td - embedding, LM head, loss --------*- tablegen -*-===//

#ifndef BITTTT_MODEL_OPS_TD
#define BITTTT_MODEL_OPS_TD

include "bitttt/Dialect/BitTTTDialect.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def BitTTT_EmbeddingOp : BitTTT_Op<"embedding", [Pure]> {
  let summary = "f32 embedding lookup";
  let description = [{
    Row `i` of the result is row `ids[i]` of `table` (`[V, D]`). An id
    outside `[0, V)` is undefined behaviour at this level; the runtime checks
    ids before it runs a model.

    ```mlir
    %h = bitttt.embedding %table[%ids] : tensor<64x32xf32>, tensor<8xi32> -> tensor<8x32xf32>
    ```
  }];
  let arguments = (ins BitTTT_F32Matrix:$table, BitTTT_TokenIds:$ids);
  let results = (outs BitTTT_F32Matrix:$result);
  let assemblyFormat = [{
    $table `[` $ids `]` attr-dict `:` type($table) `,` type($ids) `->`
    type($result)
  }];
  let hasVerifier = 1;
}

def BitTTT_LMHeadOp : BitTTT_Op<"lm_head", [Pure]> {
  let summary = "language-model head: logits = x · Wᵀ";
  let description = [{
    A dense (not ternary) projection to the vocabulary. The weight is f32
    `[V, D]`; bf16 is accepted as an explicit lower-precision option, the
    accumulation is f32 either way.

    ```mlir
    %logits = bitttt.lm_head %x, %w : tensor<8x32xf32>, tensor<64x32xf32> -> tensor<8x64xf32>
    ```
  }];
  let arguments = (ins BitTTT_F32Matrix:$input,
                   TensorRankOf<[F32, BF16], [2]>:$weight);
  let results = (outs BitTTT_F32Matrix:$result);
  let assemblyFormat = [{
    $input `,` $weight attr-dict `:` type($input) `,` type($weight) `->`
    type($result)
  }];
  let hasVerifier = 1;
}

def BitTTT_LMHeadQOp : BitTTT_Op<"lm_head_q", [Pure]> {
  let summary = "int8 language-model head: per-row scaled int8 weight";
  let description = [{
    The `--lm-head int8` form of `lm_head` (docs/lm-head.md):
    `logits[t, r] = f32(Σ_k codes[t, k] · weight[r, k]) · row_scale[r]
    / scales[t]`, the integer dot exact in i32 and the two f32 operations in
    that order. `codes`/`scales` are `act_quant`'s results (per-token absmax,
    `scales` the multiplier `127 / max|x|`), `weight` the int8 codes in
    [-127, 127] and `row_scale` their per-row scale `max|W_r| / 127`;
    `row_sum[r] = Σ_k weight[r, k]` is what a kernel that biases the
    activation by +128 subtracts again (x86 VNNI). Inference only.

    ```mlir
    %l = bitttt.lm_head_q %xq, %s, %w, %ws, %wsum
        : tensor<8x32xi8>, tensor<8xf32>, tensor<64x32xi8>, tensor<64xf32>,
          tensor<64xi32> -> tensor<8x64xf32>
    ```
  }];
  let arguments = (ins BitTTT_I8Matrix:$codes, BitTTT_F32Vector:$scales,
                   BitTTT_I8Matrix:$weight, BitTTT_F32Vector:$row_scale,
                   TensorRankOf<[I32], [1]>:$row_sum);
  let results = (outs BitTTT_F32Matrix:$result);
  let assemblyFormat = [{
    $codes `,` $scales `,` $weight `,` $row_scale `,` $row_sum attr-dict `:`
    type($codes) `,` type($scales) `,` type($weight) `,` type($row_scale) `,`
    type($row_sum) `->` type($result)
  }];
  let hasVerifier = 1;
}

def BitTTT_CrossEntropyOp : BitTTT_Op<"cross_entropy", [Pure]> {
  let summary = "mean token cross-entropy of logits against target ids";
  let description = [{
    `loss = mean_i (logsumexp(logits_i) − logits_i[targets_i])` over the rows
    whose target is not `ignore_index` (when that attribute is set).

    ```mlir
    %loss = bitttt.cross_entropy %logits, %targets : tensor<8x64xf32>, tensor<8xi32>
    ```
  }];
  let arguments = (ins BitTTT_F32Matrix:$logits, BitTTT_TokenIds:$targets,
                   OptionalAttr<I64Attr>:$ignore_index);
  let results = (outs F32:$loss);
  let assemblyFormat = [{
    $logits `,` $targets attr-dict `:` type($logits) `,` type($targets)
  }];
  let hasVerifier = 1;
}

#endif // BITTTT_MODEL_OPS_TD
