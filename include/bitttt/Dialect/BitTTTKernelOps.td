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
    AVX2's 16-bit intermediate sums exact for up to 4 pairs.

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

#endif // BITTTT_KERNEL_OPS_TD
