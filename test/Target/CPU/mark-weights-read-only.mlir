// RUN: bitttt-opt %s --bitttt-mark-weights-read-only | FileCheck %s

// Weights (bitttt.tensor) point into the runtime's read-only mapping and are
// marked not writable; state, io and unnamed arguments, private and external
// functions are left alone.
// CHECK-LABEL: func.func @decode(
// CHECK-SAME: %{{.*}}: tensor<4xi32> {bitttt.io = "ids"}
// CHECK-SAME: %{{.*}}: tensor<4x4xf32> {bitttt.tensor = "w", bufferization.writable = false}
// CHECK-SAME: %{{.*}}: tensor<4xf32> {bitttt.state = "s"}
// CHECK-SAME: %{{.*}}: tensor<4xf32>)
func.func @decode(%ids: tensor<4xi32> {bitttt.io = "ids"},
                  %w: tensor<4x4xf32> {bitttt.tensor = "w"},
                  %s: tensor<4xf32> {bitttt.state = "s"},
                  %x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}

// CHECK-LABEL: func.func private @helper(
// CHECK-NOT: writable
func.func private @helper(%w: tensor<4xf32> {bitttt.tensor = "w"}) -> tensor<4xf32> {
  return %w : tensor<4xf32>
}
