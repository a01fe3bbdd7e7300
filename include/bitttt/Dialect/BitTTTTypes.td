//===- BitTTTTypes.td - bitttt types -----------------------*- tablegen -*-===//

#ifndef BITTTT_TYPES_TD
#define BITTTT_TYPES_TD

include "bitttt/Dialect/BitTTTDialect.td"

def BitTTT_PackedTernaryType : TypeDef<BitTTT_Dialect, "PackedTernary"> {
  let mnemonic = "packed_ternary";
  let summary = "a ternary weight matrix packed at 2 bits per weight";
  let description = [{
    `!bitttt.packed_ternary<ROWSxCOLS>` is an `[out, in]` weight matrix whose
    entries are in {-1, 0, +1}, stored at 2 bits per weight. Its scale
    (γ of DESIGN.md §1) travels beside it as an `f32` value. In memory it is
    `ROWS x (32·ceil(COLS/128))` bytes in layout `i2_b128`
    (docs/packing.md); at this level the type records the logical shape.

    Example: `!bitttt.packed_ternary<4096x11008>`
  }];
  let parameters = (ins "int64_t":$rows, "int64_t":$cols);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Bytes one row takes in layout i2_b128 (docs/packing.md): blocks of
    /// 128 weights in 32 bytes, the last block padded with zero weights.
    int64_t getRowBytes() const { return 32 * ((getCols() + 127) / 128); }
  }];
}

def BitTTT_TernaryWeight : AnyTypeOf<[BitTTT_F32Matrix, BitTTT_PackedTernaryType],
    "latent f32 weight matrix or packed ternary weight">;

#endif // BITTTT_TYPES_TD
