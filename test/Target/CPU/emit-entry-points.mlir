// RUN: bitttt-opt %s --bitttt-emit-entry-points | FileCheck %s

// The wrapped function stays, internal to the artifact: only entries leave it.
// CHECK-LABEL: func.func private @f({{.*}} attributes {llvm.linkage = #llvm.linkage<internal>}
// CHECK-LABEL: func.func @bitttt_entry_f(%{{[^:]*}}: !llvm.ptr, %{{[^:]*}}: !llvm.ptr)
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

// -----

// The entry takes (buffers, exec): exec goes to the `bitttt.exec` argument,
// buffers fill the others in order. The artifact describes every entry in
// @bitttt_abi (docs/abi.md): direction (bufferize.result marks outputs),
// role, name, dtype (packed codes are U8), shape, range, packing.
// RUN: bitttt-opt %s --split-input-file --bitttt-emit-entry-points | FileCheck %s --check-prefix=ABI
// ABI-LABEL: func.func @bitttt_entry_g(
// ABI-SAME: %[[BUF:[^:]*]]: !llvm.ptr, %[[EXEC:[^:]*]]: !llvm.ptr)
// ABI: llvm.getelementptr %[[BUF]][0]
// ABI: llvm.getelementptr %[[BUF]][1]
// ABI: llvm.getelementptr %[[BUF]][2]
// ABI: call @g(%{{.*}}, %{{.*}}, %{{.*}}, %[[EXEC]])
// ABI: llvm.mlir.global external constant @bitttt_abi("{\22abi_version\22:2,\22functions\22:{\22g\22:{
// ABI-SAME: \22inputs\22:[{\22dtype\22:\22U8\22,\22name\22:\22w.codes\22,\22packed\22:{\22layout\22:\22i2_b128\22,\22part\22:\22codes\22,\22weight\22:\22w\22},\22role\22:\22tensor\22,\22shape\22:[4,32]},
// ABI-SAME: {\22dtype\22:\22I64\22,\22name\22:\22pos\22,\22range\22:[0,16],\22role\22:\22state\22,\22shape\22:[]}],
// ABI-SAME: \22outputs\22:[{\22dtype\22:\22F32\22,\22name\22:\22logits\22,\22role\22:\22io\22,\22shape\22:[4]}],
// ABI-SAME: \22symbol\22:\22bitttt_entry_g\22}}}\00")
func.func @g(%codes: memref<4x32xi8> {bitttt.tensor = "w.codes", bitttt.packed = {weight = "w", part = "codes", layout = "i2_b128"}},
             %pos: memref<i64> {bitttt.state = "pos", bitttt.range = array<i64: 0, 16>},
             %logits: memref<4xf32> {bitttt.io = "logits", bufferize.result},
             %exec: !llvm.ptr {bitttt.exec}) {
  return
}
