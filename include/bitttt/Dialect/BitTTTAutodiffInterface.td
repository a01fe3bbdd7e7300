//===- BitTTTAutodiffInterface.td - per-op VJP rules -------*- tablegen -*-===//
//
// Reverse-mode autodiff (bitttt-autodiff) asks every op of the function it
// differentiates for its vector-Jacobian product through this interface, as
// Enzyme-MLIR's AutoDiffOpInterface does. The rules live beside each other
// in lib/Transforms/Autodiff/VJPRules.cpp, attached as external models to
// the bitttt ops and to the upstream tensor primitives the training
// decomposition emits (docs/autodiff.md says which and why).
//
//===----------------------------------------------------------------------===//

#ifndef BITTTT_AUTODIFF_INTERFACE_TD
#define BITTTT_AUTODIFF_INTERFACE_TD

include "mlir/IR/OpBase.td"

def BitTTT_AutodiffOpInterface : OpInterface<"AutodiffOpInterface"> {
  let cppNamespace = "::mlir::bitttt";
  let description = [{
    An op that can be differentiated in reverse mode. `buildVJP` is called
    with the builder positioned after the forward computation and one
    cotangent per result (a null Value: the result has no use that needs a
    gradient, i.e. its cotangent is zero). It appends one Value per operand
    to `operandGrads`: the operand's cotangent, or a null Value when the
    operand is not differentiable (integers, indices, shapes) or receives
    none. It may use the op's operands and results (the forward values
    stay live: the SSA form is the tape).
  }];
  let methods = [
    InterfaceMethod<
      "Builds the cotangents of the operands from those of the results.",
      "::llvm::LogicalResult", "buildVJP",
      (ins "::mlir::OpBuilder &":$builder,
           "::llvm::ArrayRef<::mlir::Value>":$resultGrads,
           "::llvm::SmallVectorImpl<::mlir::Value> &":$operandGrads)>
  ];
}

#endif // BITTTT_AUTODIFF_INTERFACE_TD
