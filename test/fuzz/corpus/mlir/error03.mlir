

func.func @weight_quant_dtype(%w: tensor<64x32xf16>) {
  // expected-error @+1 {{operand #0 must be 2D tensor of 32-bit float values}}
  %c, %g = "bitttt.weight_quant"(%w) : (tensor<64x32xf16>) -> (tensor<64x32xi8>, f32)
  return
}

