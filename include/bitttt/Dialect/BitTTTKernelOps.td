//===- BitTTTKernelOps.td - vector-level kernel primitives -*- tablegen -*-===//
//
// Ops that kernel lowerings emit on vectors. They are Pure (so one-shot
// bufferization passes them through) and become target intrinsics late.
//
//===----------------------------------------------------------------------===//

#ifndef BITTTT_KERNEL_OPS_TD
#define BITTTT_KERNEL_OPS_TD

include "bitttt/Dialect/BitTTTDialect.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def BitTTT_Vec32xI8 : Type<
    CPred<"$_self == ::mlir::VectorType::get({32}, "
          "::mlir::IntegerType::get($_self.getContext(), 8))">,
    "vector<32xi8>">,
    BuildableType<"::mlir::VectorType::get({32}, $_builder.getI8Type())">;
def BitTTT_Vec8xI32 : Type<
    CPred<"$_self == ::mlir::VectorType::get({8}, "
          "::mlir::IntegerType::get($_self.getContext(), 32))">,
    "vector<8xi32>">,
    BuildableType<"::mlir::VectorType::get({8}, $_builder.getI32Type())">;
def BitTTT_DotCodes : VectorOfLengthAndType<[32, 64], [I8]>;
def BitTTT_DotAcc : VectorOfLengthAndType<[8, 16], [I32]>;

def BitTTT_Dot2BitI8Op : BitTTT_Op<"dot_2bit_i8",
    [Pure, SameVariadicOperandSize, AllTypesMatch<["acc", "result"]>]> {
  let summary = "accumulate dot products of 2-bit codes with int8 values";
  let description = [{
    `result[i] = acc[i] + Σ_n Σ_{j<4} codes_n[4i+j] · values_n[4i+j]` with
    `codes` read as unsigned bytes in [0, 3] (2-bit ternary codes, larger
    values are undefined behaviour) and `values` as signed int8; `i < 8`
    (ymm) or `i < 16` (zmm: `vector<16xi32>` against `vector<64xi8>`).
    `bitttt-lower-x86-dot` turns it into `vpdpbusd` (AVX-512 VNNI) or
    `vpmaddubsw` + `vpmaddwd` (AVX2, 32 bytes only); the [0, 3] bound keeps
    AVX2's 16-bit intermediate sums exact for up to 5 pairs (4 per i2_b128
    block, 5 per t5_b160 block; |sum| ≤ 5·2·3·128 < 2^15).

    By default the VNNI lowering sums the pairs in two chains that start
    from zero, so a lone accumulator does not wait on its own latency;
    `chained` makes every pair accumulate into `acc` directly, for kernels
    that keep enough independent accumulators to hide the latency.

    ```mlir
    %r = bitttt.dot_2bit_i8 %acc, [%q0, %q1], [%x0, %x1]
        : vector<8xi32>, [vector<32xi8>, vector<32xi8>],
          [vector<32xi8>, vector<32xi8>]
    %s = bitttt.dot_2bit_i8 %acc, [%q0], [%x0] {chained}
        : vector<16xi32>, [vector<64xi8>], [vector<64xi8>]
    ```
  }];
  let arguments = (ins BitTTT_DotAcc:$acc,
                   Variadic<BitTTT_DotCodes>:$codes,
                   Variadic<BitTTT_DotCodes>:$values,
                   UnitAttr:$chained);
  let results = (outs BitTTT_DotAcc:$result);
  let assemblyFormat = [{
    $acc `,` `[` $codes `]` `,` `[` $values `]` attr-dict `:` type($acc)
    `,` `[` type($codes) `]` `,` `[` type($values) `]`
  }];
  let hasVerifier = 1;
}

def BitTTT_Vec64xI8 : Type<
    CPred<"$_self == ::mlir::VectorType::get({64}, "
          "::mlir::IntegerType::get($_self.getContext(), 8))">,
    "vector<64xi8>">,
    BuildableType<"::mlir::VectorType::get({64}, $_builder.getI8Type())">;

def BitTTT_LookupI8Op : BitTTT_Op<"lookup_i8", [Pure]> {
  let summary = "look each byte up in a 256-entry byte table";
  let description = [{
    `result[i] = table[zext(index[i])]` for a constant 256-entry `table`.
    `bitttt-lower-x86-dot` turns it into two `vpermi2b` (128 entries each,
    the low 7 bits of the index) and a select by the index's top bit, so
    only targets with AVX-512 VBMI take it. The t5_b160 kernel decodes its
    5-weights-per-byte codes with it (docs/packing.md).

    ```mlir
    %r = bitttt.lookup_i8 %q, [0, 0, ..., 2] : vector<64xi8>
    ```
  }];
  let arguments = (ins BitTTT_Vec64xI8:$index, DenseI8ArrayAttr:$table);
  let results = (outs BitTTT_Vec64xI8:$result);
  let assemblyFormat = "$index `,` $table attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def BitTTT_DotU8I8Op : BitTTT_Op<"dot_u8_i8", [Pure]> {
  let summary = "accumulate unsigned-by-signed int8 dot products (VNNI)";
  let description = [{
    `result[i] = acc[i] + Σ_{j<4} zext(lhs[4i+j]) · sext(rhs[4i+j])`, exact
    in i32 (no intermediate saturation), `i < 8`: `vpdpbusd`. Only targets
    with VNNI lower it (`bitttt-lower-x86-dot` refuses it on AVX2, whose
    `vpmaddubsw` saturates); the int8 LM head uses it on a +128-biased
    activation.

    ```mlir
    %r = bitttt.dot_u8_i8 %acc, %u, %s
    ```
  }];
  let arguments = (ins BitTTT_Vec8xI32:$acc, BitTTT_Vec32xI8:$lhs,
                   BitTTT_Vec32xI8:$rhs);
  let results = (outs BitTTT_Vec8xI32:$result);
  let assemblyFormat = "$acc `,` $lhs `,` $rhs attr-dict";
}

def BitTTT_DotI8I8Op : BitTTT_Op<"dot_i8_i8", [Pure]> {
  let summary = "accumulate signed int8 dot products of values in ±127";
  let description = [{
    `result[i] = acc[i] + Σ_{j<4} lhs[4i+j] · rhs[4i+j]`, both signed, `i < 8`,
    exact in i32 when every value is in [-127, 127] (-128 is undefined
    behaviour). `bitttt-lower-x86-dot` forms `|lhs|` and `rhs · sign(lhs)`
    (vpabsb, vpsignb) and multiplies them with `vpmaddubsw` + `vpmaddwd`
    (AVX2: pair sums ≤ 2·127·127 stay exact in i16) or `vpdpbusd` (VNNI).

    ```mlir
    %r = bitttt.dot_i8_i8 %acc, %w, %x
    ```
  }];
  let arguments = (ins BitTTT_Vec8xI32:$acc, BitTTT_Vec32xI8:$lhs,
                   BitTTT_Vec32xI8:$rhs);
  let results = (outs BitTTT_Vec8xI32:$result);
  let assemblyFormat = "$acc `,` $lhs `,` $rhs attr-dict";
}

#endif // BITTTT_KERNEL_OPS_TD
