// RUN: bitttt-opt --show-dialects | FileCheck %s
// The bitttt dialect sits beside every upstream one.
// CHECK: Available Dialects:
// CHECK-SAME: arith
// CHECK-SAME: bitttt
// CHECK-SAME: linalg
// CHECK-SAME: llvm
// CHECK-SAME: nvvm
// CHECK-SAME: vector
