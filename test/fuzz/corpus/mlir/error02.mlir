

// == weight_quant ==

func.func @weight_quant_shape(%w: tensor<64x32xf32>) {
  // expected-error @+1 {{result 'codes' must have shape [64, 32] (the shape of operand 'weight'), got [32, 64]}}
  %c, %g = bitttt.weight_quant %w : tensor<64x32xf32> -> tensor<32x64xi8>
  return
}

