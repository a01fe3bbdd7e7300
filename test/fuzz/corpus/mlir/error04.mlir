

// == act_quant ==

func.func @act_quant_codes(%x: tensor<8x32xf32>) {
  // expected-error @+1 {{result 'codes' must have shape [8, 32] (the shape of operand 'input'), got [8, 16]}}
  %c, %s = bitttt.act_quant %x : tensor<8x32xf32> -> tensor<8x16xi8>, tensor<8xf32>
  return
}

