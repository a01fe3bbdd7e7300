//===- BitTTTTypes.td - bitttt types -----------------------*- tablegen -*-===//

#ifndef BITTTT_TYPES_TD
#define BITTTT_TYPES_TD

include "dialect/BitTTTDialect.td"

def BitTTT_PackedTernaryType : TypeDef<BitTTT_Dialect, "PackedTernary"> {
  let mnemonic = "packed_ternary";
  let summary = "a ternary weight matrix packed at 2 bits per weight";
  let description = [{
    `!bitttt.packed_ternary<ROWSxCOLS>` is an `[out, in]` weight matrix whose
    entries are in {-1, 0, +1}, stored at 2 bits per weight. Its scale
    (γ of DESIGN.md §1) travels beside it as an `f32` value. The byte layout
    in memory is fixed by the packing pass (docs/packing.md); at this level
    the type only records the logical shape.

    Example: `!bitttt.packed_ternary<4096x11008>`
  }];
  let parameters = (ins "int64_t":$rows, "int64_t":$cols);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Bytes one row takes at 2 bits per weight.
    int64_t getRowBytes() const { return (getCols() + 3) / 4; }
  }];
}

def BitTTT_TernaryWeight : AnyTypeOf<[BitTTT_F32Matrix, BitTTT_PackedTernaryType],
    "latent f32 weight matrix or packed ternary weight">;

#endif // BITTTT_TYPES_TD
