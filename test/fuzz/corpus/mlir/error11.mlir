

func.func @rms_norm_result(%x: tensor<8x32xf32>, %g: tensor<32xf32>) {
  // expected-error @+1 {{failed to verify that all of {input, result} have same type}}
  %y = "bitttt.rms_norm"(%x, %g) : (tensor<8x32xf32>, tensor<32xf32>) -> tensor<4x32xf32>
  return
}

