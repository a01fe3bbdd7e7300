// RUN: not bitttt-opt %s --bitttt-autodiff --split-input-file 2>&1 | FileCheck %s

// The errors of bitttt-autodiff: each names the op (or says what is wrong
// with the function) and the pass fails; nothing is silently treated as
// having a zero gradient. The numerics of the rules themselves are checked
// by python/tests/test_vjp_rules.py.

// An op on the gradient path without an AutodiffOpInterface rule.
// CHECK: error: 'math.tanh' op bitttt-autodiff: no VJP rule for 'math.tanh' (AutodiffOpInterface; see docs/autodiff.md)
func.func @train_loss(%p: tensor<3x5xf32> {bitttt.tensor = "p0"},
                      %r: tensor<3x5xf32> {bitttt.io = "tokens"}) -> tensor<f32> {
  %t = math.tanh %p : tensor<3x5xf32>
  %m = arith.mulf %t, %r : tensor<3x5xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %i = linalg.fill ins(%z : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %s = linalg.reduce ins(%m : tensor<3x5xf32>) outs(%i : tensor<f32>) dimensions = [0, 1]
    (%a: f32, %b: f32) {
      %c = arith.addf %a, %b : f32
      linalg.yield %c : f32
    }
  return %s : tensor<f32>
}

// -----

// A rule-less op off the gradient path (it only touches data) is fine, but
// a loss that depends on no parameter at all is an error.
// CHECK-NOT: no VJP rule for 'math.tanh'
// CHECK: error: bitttt-autodiff: the loss does not depend on any parameter
func.func @train_loss(%p: tensor<3x5xf32> {bitttt.tensor = "p0"},
                      %r: tensor<3x5xf32> {bitttt.io = "tokens"}) -> tensor<f32> {
  %t = math.tanh %r : tensor<3x5xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %i = linalg.fill ins(%z : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %s = linalg.reduce ins(%t : tensor<3x5xf32>) outs(%i : tensor<f32>) dimensions = [0, 1]
    (%a: f32, %b: f32) {
      %c = arith.addf %a, %b : f32
      linalg.yield %c : f32
    }
  return %s : tensor<f32>
}

// -----

// A reduction other than a single-input sum.
// CHECK: error: 'linalg.reduce' op has no VJP rule: only single-input sum reductions are differentiable
func.func @train_loss(%p: tensor<3x5xf32> {bitttt.tensor = "p0"},
                      %r: tensor<3xf32> {bitttt.io = "tokens"}) -> tensor<f32> {
  %ninf = arith.constant 0xFF800000 : f32
  %e3 = tensor.empty() : tensor<3xf32>
  %i3 = linalg.fill ins(%ninf : f32) outs(%e3 : tensor<3xf32>) -> tensor<3xf32>
  %mx = linalg.reduce ins(%p : tensor<3x5xf32>) outs(%i3 : tensor<3xf32>) dimensions = [1]
    (%a: f32, %b: f32) {
      %c = arith.maximumf %a, %b : f32
      linalg.yield %c : f32
    }
  %m = arith.mulf %mx, %r : tensor<3xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %i = linalg.fill ins(%z : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %s = linalg.reduce ins(%m : tensor<3xf32>) outs(%i : tensor<f32>) dimensions = [0]
    (%a: f32, %b: f32) {
      %c = arith.addf %a, %b : f32
      linalg.yield %c : f32
    }
  return %s : tensor<f32>
}

// -----

// A strided slice.
// CHECK: error: 'tensor.extract_slice' op has no VJP rule unless static, unit-stride and rank-preserving
func.func @train_loss(%p: tensor<6x5xf32> {bitttt.tensor = "p0"},
                      %r: tensor<3x5xf32> {bitttt.io = "tokens"}) -> tensor<f32> {
  %y = tensor.extract_slice %p[0, 0] [3, 5] [2, 1] : tensor<6x5xf32> to tensor<3x5xf32>
  %m = arith.mulf %y, %r : tensor<3x5xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %i = linalg.fill ins(%z : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %s = linalg.reduce ins(%m : tensor<3x5xf32>) outs(%i : tensor<f32>) dimensions = [0, 1]
    (%a: f32, %b: f32) {
      %c = arith.addf %a, %b : f32
      linalg.yield %c : f32
    }
  return %s : tensor<f32>
}
