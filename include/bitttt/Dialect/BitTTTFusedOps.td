//===- BitTTTFusedOps.td - ops that fusion passes form -----*- tablegen -*-===//
//
// Inference-only forms on packed weights and int8 activations. Fusion
// passes create them (bitttt-expose-act-quant, bitttt-fuse-gate-up,
// bitttt-fuse-norm-quant) and the packed-kernel lowering consumes them.
//
//===----------------------------------------------------------------------===//

#ifndef BITTTT_FUSED_OPS_TD
#define BITTTT_FUSED_OPS_TD

include "bitttt/Dialect/BitTTTTypes.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def BitTTT_SiluMulOp : BitTTT_Op<"silu_mul",
    [Pure, AllTypesMatch<["gate", "up", "result"]>]> {
  let summary = "silu(gate) ⊙ up, the SwiGLU gate";
  let description = [{
    `silu(g)·u` with `silu(g) = g / (1 + exp(-g))`, elementwise.

    ```mlir
    %h = bitttt.silu_mul %g, %u : tensor<8x128xf32>
    ```
  }];
  let arguments = (ins BitTTT_F32Matrix:$gate, BitTTT_F32Matrix:$up);
  let results = (outs BitTTT_F32Matrix:$result);
  let assemblyFormat = "$gate `,` $up attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def BitTTT_BitLinearQOp : BitTTT_Op<"bitlinear_q", [Pure]> {
  let summary = "BitLinear on int8 activations and a packed ternary weight";
  let description = [{
    `y = (xq · Wqᵀ) · γ / s`: `codes`/`scales` are `act_quant`'s results,
    so several BitLinears of one input share one quantization.

    ```mlir
    %y = bitttt.bitlinear_q %xq, %s, %p scale %g
        : tensor<8x32xi8>, tensor<8xf32>, !bitttt.packed_ternary<64x32>
        -> tensor<8x64xf32>
    ```
  }];
  let arguments = (ins BitTTT_I8Matrix:$codes, BitTTT_F32Vector:$scales,
                   BitTTT_PackedTernaryType:$weight, F32:$scale);
  let results = (outs BitTTT_F32Matrix:$result);
  let assemblyFormat = [{
    $codes `,` $scales `,` $weight `scale` $scale attr-dict `:`
    type($codes) `,` type($scales) `,` qualified(type($weight)) `->`
    type($result)
  }];
  let hasVerifier = 1;
}

def BitTTT_GateUpQOp : BitTTT_Op<"gate_up_q", [Pure]> {
  let summary = "SwiGLU gate and up projections fused: silu(gate(x)) ⊙ up(x)";
  let description = [{
    Both BitLinears read the same int8 activations; the kernel streams a row
    of each weight per output column, so every activation block is loaded
    once for both, and `silu(g)·u` is applied before anything is stored.

    ```mlir
    %h = bitttt.gate_up_q %xq, %s, %pg scale %gg, %pu scale %gu
        : tensor<8x32xi8>, tensor<8xf32>, !bitttt.packed_ternary<128x32>,
          !bitttt.packed_ternary<128x32> -> tensor<8x128xf32>
    ```
  }];
  let arguments = (ins BitTTT_I8Matrix:$codes, BitTTT_F32Vector:$scales,
                   BitTTT_PackedTernaryType:$gate_weight, F32:$gate_scale,
                   BitTTT_PackedTernaryType:$up_weight, F32:$up_scale);
  let results = (outs BitTTT_F32Matrix:$result);
  let assemblyFormat = [{
    $codes `,` $scales `,` $gate_weight `scale` $gate_scale `,` $up_weight
    `scale` $up_scale attr-dict `:` type($codes) `,` type($scales) `,`
    qualified(type($gate_weight)) `,` qualified(type($up_weight)) `->`
    type($result)
  }];
  let hasVerifier = 1;
}

def BitTTT_RMSNormActQuantOp : BitTTT_Op<"rms_norm_act_quant", [Pure]> {
  let summary = "RMSNorm followed by int8 activation quantization, fused";
  let description = [{
    The results of `act_quant(rms_norm(x, g))` without materializing the f32
    normalized tensor; the normalized values are recomputed with the same
    operations, so the codes and scales are identical.

    ```mlir
    %xq, %s = bitttt.rms_norm_act_quant %x, %g
        : tensor<8x32xf32>, tensor<32xf32> -> tensor<8x32xi8>, tensor<8xf32>
    ```
  }];
  let arguments = (ins BitTTT_F32Matrix:$input, BitTTT_F32Vector:$weight,
                   DefaultValuedAttr<F32Attr, "1.0e-5f">:$eps);
  let results = (outs BitTTT_I8Matrix:$codes, BitTTT_F32Vector:$scales);
  let assemblyFormat = [{
    $input `,` $weight attr-dict `:` type($input) `,` type($weight) `->`
    type($codes) `,` type($scales)
  }];
  let hasVerifier = 1;
}

#endif // BITTTT_FUSED_OPS_TD
