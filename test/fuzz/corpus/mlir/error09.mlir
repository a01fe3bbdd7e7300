

func.func @rms_norm_eps(%x: tensor<8x32xf32>, %g: tensor<32xf32>) {
  // expected-error @+1 {{attribute 'eps' must be positive and finite, got 0}}
  %y = bitttt.rms_norm %x, %g {eps = 0.0 : f32} : tensor<8x32xf32>, tensor<32xf32>
  return
}

