// Malformed IR is a located diagnostic and a non-zero exit, never a crash.
// RUN: split-file --leading-lines %s %t
// RUN: not bitttt-opt %t/syntax.mlir 2>&1 | FileCheck %s --check-prefix=SYNTAX
// RUN: not bitttt-opt %t/type.mlir 2>&1 | FileCheck %s --check-prefix=TYPE
// RUN: not bitttt-opt %t/shape.mlir 2>&1 | FileCheck %s --check-prefix=SHAPE
// RUN: not bitttt-opt %t/missing.mlir 2>&1 | FileCheck %s --check-prefix=MISSING

//--- syntax.mlir
// SYNTAX: syntax.mlir:[[@LINE+2]]:{{[0-9]+}}: error:
func.func @f(%x: tensor<8x32xf32>, %g: tensor<32xf32>) -> tensor<8x32xf32> {
  %y = bitttt.rms_norm %x %g : tensor<8x32xf32>, tensor<32xf32>
  return %y : tensor<8x32xf32>
}

//--- type.mlir
// TYPE: type.mlir:[[@LINE+1]]:{{[0-9]+}}: error: unknown type `packed_tern` in dialect `bitttt`
func.func private @f(!bitttt.packed_tern<4x4>)

//--- shape.mlir
func.func @f(%x: tensor<8x32xf32>, %w: tensor<64x16xf32>) -> tensor<8x64xf32> {
  // SHAPE: shape.mlir:[[@LINE+1]]:8: error: 'bitttt.bitlinear' op operand 'input' must have shape [8, 16]
  %y = bitttt.bitlinear %x, %w : tensor<8x32xf32>, tensor<64x16xf32> -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}

//--- missing.mlir
// MISSING: error: use of undeclared SSA value name
func.func @f(%x: tensor<8x32xf32>) -> tensor<8x32xf32> {
  %y = bitttt.rms_norm %x, %nope : tensor<8x32xf32>, tensor<32xf32>
  return %y : tensor<8x32xf32>
}
