

func.func @unpack_shape(%p: !bitttt.packed_ternary<64x32>) {
  // expected-error @+1 {{result 'codes' must have shape [64, 32] (the shape of operand 'packed'), got [32, 64]}}
  %c = bitttt.unpack_ternary %p : !bitttt.packed_ternary<64x32> -> tensor<32x64xi8>
  return
}

