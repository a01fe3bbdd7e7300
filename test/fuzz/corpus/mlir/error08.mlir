

// == rms_norm ==

func.func @rms_norm_weight(%x: tensor<8x32xf32>, %g: tensor<16xf32>) {
  // expected-error @+1 {{operand 'weight' must have shape [32] (the columns of operand 'input'), got [16]}}
  %y = bitttt.rms_norm %x, %g : tensor<8x32xf32>, tensor<16xf32>
  return
}

