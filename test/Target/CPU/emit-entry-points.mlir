// RUN: bitttt-opt %s --bitttt-emit-entry-points | FileCheck %s

// CHECK-LABEL: func.func @f(
// CHECK-LABEL: func.func @bitttt_entry_f(%{{.*}}: !llvm.ptr)
// Buffer 0: a rank-2 memref, descriptor {p, p, 0, [4, 8], [8, 1]}.
// CHECK: %[[S0:.*]] = llvm.getelementptr %{{.*}}[0] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[P0:.*]] = llvm.load %[[S0]] : !llvm.ptr -> !llvm.ptr
// CHECK: llvm.insertvalue %[[P0]], %{{.*}}[0]
// CHECK: llvm.insertvalue %[[P0]], %{{.*}}[1]
// CHECK: llvm.mlir.constant(8 : i64)
// CHECK: [3, 1]
// CHECK: llvm.mlir.constant(1 : i64)
// CHECK: [4, 1]
// CHECK: llvm.mlir.constant(4 : i64)
// CHECK: [3, 0]
// CHECK: llvm.mlir.constant(8 : i64)
// CHECK: [4, 0]
// CHECK: %[[M0:.*]] = builtin.unrealized_conversion_cast %{{.*}} : !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)> to memref<4x8xf32>
// Buffer 1: rank 0, descriptor {p, p, 0}.
// CHECK: llvm.getelementptr %{{.*}}[1]
// CHECK: %[[M1:.*]] = builtin.unrealized_conversion_cast %{{.*}} : !llvm.struct<(ptr, ptr, i64)> to memref<i64>
// CHECK: call @f(%[[M0]], %[[M1]])
func.func @f(%a: memref<4x8xf32>, %b: memref<i64>) {
  return
}

// Functions the ABI cannot describe get no entry point.
// CHECK-NOT: @bitttt_entry_private
func.func private @private(%a: memref<4xf32>) {
  return
}
// CHECK-NOT: @bitttt_entry_dynamic
func.func @dynamic(%a: memref<?xf32>) {
  return
}
// CHECK-NOT: @bitttt_entry_scalar
func.func @scalar(%a: memref<4xf32>, %i: index) {
  return
}
