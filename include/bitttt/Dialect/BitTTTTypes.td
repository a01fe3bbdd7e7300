//===- BitTTTTypes.td - bitttt types -----------------------*- tablegen -*-===//

#ifndef BITTTT_TYPES_TD
#define BITTTT_TYPES_TD

include "bitttt/Dialect/BitTTTDialect.td"

def BitTTT_PackedTernaryType : TypeDef<BitTTT_Dialect, "PackedTernary"> {
  let mnemonic = "packed_ternary";
  let summary = "a ternary weight matrix packed at 2 or 1.6 bits per weight";
  let description = [{
    `!bitttt.packed_ternary<ROWSxCOLS>` is an `[out, in]` weight matrix whose
    entries are in {-1, 0, +1}, stored in layout `i2_b128` (2 bits per
    weight); `!bitttt.packed_ternary<ROWSxCOLS, t5_b160>` stores it in
    layout `t5_b160` (5 weights per byte). Its scale (γ of DESIGN.md §1)
    travels beside it as an `f32` value. In memory it is
    `ROWS x (32·ceil(COLS/B))` bytes, B = 128 or 160 weights per 32-byte
    block (docs/packing.md); at this level the type records the logical
    shape and the layout.

    Example: `!bitttt.packed_ternary<4096x11008>`
  }];
  let parameters = (ins "int64_t":$rows, "int64_t":$cols,
      DefaultValuedParameter<"::bitttt::format::TernaryLayout",
                             "::bitttt::format::TernaryLayout::I2B128">:$layout);
  let builders = [
    TypeBuilder<(ins "int64_t":$rows, "int64_t":$cols), [{
      return $_get($_ctxt, rows, cols, ::bitttt::format::TernaryLayout::I2B128);
    }]>
  ];
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Bytes one row takes in its layout (docs/packing.md): blocks of 128
    /// or 160 weights in 32 bytes, the last block padded with zero weights.
    int64_t getRowBytes() const {
      return ::bitttt::format::packedRowBytes(getLayout(), getCols());
    }
  }];
}

def BitTTT_TernaryWeight : AnyTypeOf<[BitTTT_F32Matrix, BitTTT_PackedTernaryType],
    "latent f32 weight matrix or packed ternary weight">;

#endif // BITTTT_TYPES_TD
