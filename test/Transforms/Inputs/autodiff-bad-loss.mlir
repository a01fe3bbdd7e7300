// bitttt-autodiff: the loss function must return one f32 loss, a scalar or
// a 0-d tensor (test/Transforms/autodiff.mlir runs this file). The message
// names the function the user wrote (@train_loss), not the gradient
// function being built.

// expected-error @+1 {{bitttt-autodiff: function 'train_loss' must return exactly one f32 loss (a scalar or a 0-d tensor)}}
func.func @train_loss(%w: tensor<4xf32> {bitttt.tensor = "w"}) -> tensor<4xf32> {
  return %w : tensor<4xf32>
}

// -----

// expected-error @+1 {{bitttt-autodiff: function 'train_loss' must return exactly one f32 loss}}
func.func @train_loss(%w: tensor<4xf32> {bitttt.tensor = "w"}) -> (f32, f32) {
  %c = arith.constant 0 : index
  %e = tensor.extract %w[%c] : tensor<4xf32>
  return %e, %e : f32, f32
}

// -----

// expected-error @+1 {{bitttt-autodiff: function 'train_loss' must return exactly one f32 loss}}
func.func @train_loss(%w: tensor<4xf32> {bitttt.tensor = "w"}) -> i32 {
  %c = arith.constant 0 : i32
  return %c : i32
}

// -----

// A float that is not f32 (the gradients are built in f32).
// expected-error @+1 {{bitttt-autodiff: function 'train_loss' must return exactly one f32 loss}}
func.func @train_loss(%w: tensor<4xf64> {bitttt.tensor = "w"}) -> tensor<f64> {
  %z = arith.constant 0.0 : f64
  %e = tensor.empty() : tensor<f64>
  %init = linalg.fill ins(%z : f64) outs(%e : tensor<f64>) -> tensor<f64>
  %s = linalg.reduce ins(%w : tensor<4xf64>) outs(%init : tensor<f64>) dimensions = [0]
    (%in: f64, %acc: f64) {
      %t = arith.addf %in, %acc : f64
      linalg.yield %t : f64
    }
  return %s : tensor<f64>
}
