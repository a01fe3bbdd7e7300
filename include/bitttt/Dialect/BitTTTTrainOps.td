//===- BitTTTTrainOps.td - optimizer ops -------------------*- tablegen -*-===//

#ifndef BITTTT_TRAIN_OPS_TD
#define BITTTT_TRAIN_OPS_TD

include "bitttt/Dialect/BitTTTDialect.td"
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

    ```mlir
    %p1, %m1, %v1 = bitttt.adamw %p, %g, %m, %v lr(%lr) step(%t)
        {beta1 = 0.9 : f32, beta2 = 0.95 : f32, eps = 1.0e-08 : f32,
         weight_decay = 0.1 : f32} : tensor<64x32xf32>
    ```
  }];
  let arguments = (ins RankedTensorOf<[F32]>:$param,
      RankedTensorOf<[F32]>:$grad, RankedTensorOf<[F32]>:$exp_avg,
      RankedTensorOf<[F32]>:$exp_avg_sq, F32:$lr, I64:$step,
      DefaultValuedAttr<F32Attr, "0.9f">:$beta1,
      DefaultValuedAttr<F32Attr, "0.95f">:$beta2,
      DefaultValuedAttr<F32Attr, "1.0e-8f">:$eps,
      DefaultValuedAttr<F32Attr, "0.1f">:$weight_decay);
  let results = (outs RankedTensorOf<[F32]>:$param_out,
      RankedTensorOf<[F32]>:$exp_avg_out, RankedTensorOf<[F32]>:$exp_avg_sq_out);
  let assemblyFormat = [{
    $param `,` $grad `,` $exp_avg `,` $exp_avg_sq `lr` `(` $lr `)`
    `step` `(` $step `)` attr-dict `:` type($param)
  }];
  let hasVerifier = 1;
}

#endif // BITTTT_TRAIN_OPS_TD
