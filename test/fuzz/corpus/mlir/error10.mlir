

func.func @rms_norm_rank(%x: tensor<8x2x16xf32>, %g: tensor<16xf32>) {
  // expected-error @+1 {{operand #0 must be 2D tensor of 32-bit float values}}
  %y = "bitttt.rms_norm"(%x, %g) : (tensor<8x2x16xf32>, tensor<16xf32>) -> tensor<8x2x16xf32>
  return
}

