// RUN: bitttt-opt %s -split-input-file -verify-diagnostics

// == packed_ternary type ==

// expected-error @+1 {{packed_ternary dimensions must be positive, got 0x4}}
func.func private @packed_zero(!bitttt.packed_ternary<0x4>)

