

// == pack_ternary / unpack_ternary ==

func.func @pack_shape(%c: tensor<64x32xi8>) {
  // expected-error @+1 {{operand 'codes' must have shape [64, 30] (the shape of the packed_ternary result), got [64, 32]}}
  %p = bitttt.pack_ternary %c : tensor<64x32xi8> -> !bitttt.packed_ternary<64x30>
  return
}

