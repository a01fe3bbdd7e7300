

// expected-error @+1 {{packed_ternary shape must have rank 2 ([out, in]), got rank 3}}
func.func private @packed_rank(!bitttt.packed_ternary<2x3x4>)

