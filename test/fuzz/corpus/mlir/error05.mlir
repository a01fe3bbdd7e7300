

func.func @act_quant_scales(%x: tensor<8x32xf32>) {
  // expected-error @+1 {{result 'scales' must have shape [8] (one scale per row of 'input'), got [32]}}
  %c, %s = bitttt.act_quant %x : tensor<8x32xf32> -> tensor<8x32xi8>, tensor<32xf32>
  return
}

