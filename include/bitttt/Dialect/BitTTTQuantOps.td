//===- BitTTTQuantOps.td - quantization and packing ops ----*- tablegen -*-===//

#ifndef BITTTT_QUANT_OPS_TD
#define BITTTT_QUANT_OPS_TD

include "bitttt/Dialect/BitTTTTypes.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def BitTTT_WeightQuantOp : BitTTT_Op<"weight_quant", [Pure]> {
  let summary = "absmean ternary quantization of a weight matrix";
  let description = [{
    `γ = max(mean|W|, 1e-5)` over the whole tensor and
    `codes = clamp(round(W/γ), -1, 1)` (round half to even), as int8.

    ```mlir
    %codes, %gamma = bitttt.weight_quant %w : tensor<64x32xf32> -> tensor<64x32xi8>
    ```
  }];
  let arguments = (ins BitTTT_F32Matrix:$weight);
  let results = (outs BitTTT_I8Matrix:$codes, F32:$scale);
  let assemblyFormat = "$weight attr-dict `:` type($weight) `->` type($codes)";
  let hasVerifier = 1;
}

def BitTTT_ActQuantOp : BitTTT_Op<"act_quant", [Pure]> {
  let summary = "per-token absmax int8 quantization of activations";
  let description = [{
    For each row `s = 127 / max(max|x|, 1e-5)` and
    `codes = clamp(round(x·s), -128, 127)` (round half to even), as int8.

    ```mlir
    %xq, %s = bitttt.act_quant %x : tensor<8x32xf32> -> tensor<8x32xi8>, tensor<8xf32>
    ```
  }];
  let arguments = (ins BitTTT_F32Matrix:$input);
  let results = (outs BitTTT_I8Matrix:$codes, BitTTT_F32Vector:$scales);
  let assemblyFormat =
      "$input attr-dict `:` type($input) `->` type($codes) `,` type($scales)";
  let hasVerifier = 1;
}

def BitTTT_PackTernaryOp : BitTTT_Op<"pack_ternary", [Pure]> {
  let summary = "pack ternary int8 codes at 2 bits per weight";
  let description = [{
    Packs a matrix of codes in {-1, 0, +1} into `!bitttt.packed_ternary`.
    Codes outside that set are undefined behaviour.

    ```mlir
    %p = bitttt.pack_ternary %codes : tensor<64x32xi8> -> !bitttt.packed_ternary<64x32>
    ```
  }];
  let arguments = (ins BitTTT_I8Matrix:$codes);
  let results = (outs BitTTT_PackedTernaryType:$packed);
  let assemblyFormat = "$codes attr-dict `:` type($codes) `->` qualified(type($packed))";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def BitTTT_UnpackTernaryOp : BitTTT_Op<"unpack_ternary", [Pure]> {
  let summary = "unpack a packed ternary matrix into int8 codes";
  let description = [{
    ```mlir
    %codes = bitttt.unpack_ternary %p : !bitttt.packed_ternary<64x32> -> tensor<64x32xi8>
    ```
  }];
  let arguments = (ins BitTTT_PackedTernaryType:$packed);
  let results = (outs BitTTT_I8Matrix:$codes);
  let assemblyFormat = "$packed attr-dict `:` qualified(type($packed)) `->` type($codes)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

#endif // BITTTT_QUANT_OPS_TD
