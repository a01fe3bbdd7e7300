//===- BitTTTDialect.td - the bitttt dialect ---------------*- tablegen -*-===//
//
// The dialect of Bit-TTT models: BitNet b1.58 ternary linear layers and
// Test-Time-Training layers. Ops work on tensors whose rows are tokens.
//
//===----------------------------------------------------------------------===//

#ifndef BITTTT_DIALECT_TD
#define BITTTT_DIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def BitTTT_Dialect : Dialect {
  let name = "bitttt";
  let cppNamespace = "::mlir::bitttt";
  let summary = "Bit-TTT models: ternary BitLinear layers and Test-Time-Training layers";
  let description = [{
    The `bitttt` dialect describes Bit-TTT language models (see DESIGN.md §1).
    Activations are 2-D tensors whose rows are tokens. Weights and TTT state
    are SSA values (function arguments in a compiled model), never constants.
    High-level ops (`bitlinear`, `swiglu`, `ttt_linear`, `ttt_seed`, ...)
    carry the exact numerics of the reference model; later passes decompose,
    differentiate, fuse and lower them.
  }];
  let useDefaultTypePrinterParser = 1;
  let hasOperationAttrVerify = 1;
  let hasRegionArgAttrVerify = 1;
  let hasRegionResultAttrVerify = 1;
  let extraClassDeclaration = [{
    void registerTypes();
  }];
  let dependentDialects = ["::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

class BitTTT_Op<string mnemonic, list<Trait> traits = []>
    : Op<BitTTT_Dialect, mnemonic, traits>;

//===----------------------------------------------------------------------===//
// Type constraints shared by the op files.
//===----------------------------------------------------------------------===//

def BitTTT_F32Matrix : TensorRankOf<[F32], [2]>;
def BitTTT_F32Vector : TensorRankOf<[F32], [1]>;
def BitTTT_F32Tensor3 : TensorRankOf<[F32], [3]>;
def BitTTT_I8Matrix : TensorRankOf<[I8], [2]>;
def BitTTT_TokenIds : TensorRankOf<[I32], [1]>;

#endif // BITTTT_DIALECT_TD
