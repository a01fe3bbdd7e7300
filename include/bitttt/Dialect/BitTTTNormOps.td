//===- BitTTTNormOps.td - normalization ops ----------------*- tablegen -*-===//

#ifndef BITTTT_NORM_OPS_TD
#define BITTTT_NORM_OPS_TD

include "bitttt/Dialect/BitTTTDialect.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def BitTTT_RMSNormOp : BitTTT_Op<"rms_norm",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "RMSNorm over the last dimension";
  let description = [{
    `y = x / sqrt(mean(x²) + eps) ⊙ g` per row.

    ```mlir
    %y = bitttt.rms_norm %x, %g {eps = 1.0e-05 : f32} : tensor<8x32xf32>, tensor<32xf32>
    ```
  }];
  let arguments = (ins BitTTT_F32Matrix:$input, BitTTT_F32Vector:$weight,
                   DefaultValuedAttr<F32Attr, "1.0e-5f">:$eps);
  let results = (outs BitTTT_F32Matrix:$result);
  let assemblyFormat =
      "$input `,` $weight attr-dict `:` type($input) `,` type($weight)";
  let hasVerifier = 1;
}

def BitTTT_LayerNormOp : BitTTT_Op<"layer_norm",
    [Pure, AllTypesMatch<["input", "result"]>,
     AllTypesMatch<["weight", "bias"]>]> {
  let summary = "LayerNorm over the last dimension (biased variance)";
  let description = [{
    `y = (x - μ) / sqrt(var + eps) ⊙ weight + bias` over the last dimension.
    `weight` and `bias` have the shape of the trailing dimensions of `input`
    they apply to: `[N]` for one scale per feature, or `[H, N]` when the input
    is `[..., H, N]` (per-head parameters, as TTT-Linear's inner norm).

    ```mlir
    %y = bitttt.layer_norm %x, %g, %b : tensor<8x32xf32>, tensor<32xf32>
    ```
  }];
  let arguments = (ins RankedTensorOf<[F32]>:$input,
                   RankedTensorOf<[F32]>:$weight, RankedTensorOf<[F32]>:$bias,
                   DefaultValuedAttr<F32Attr, "1.0e-6f">:$eps);
  let results = (outs RankedTensorOf<[F32]>:$result);
  let assemblyFormat =
      "$input `,` $weight `,` $bias attr-dict `:` type($input) `,` type($weight)";
  let hasVerifier = 1;
}

#endif // BITTTT_NORM_OPS_TD
