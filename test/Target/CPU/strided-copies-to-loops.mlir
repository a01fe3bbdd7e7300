// RUN: bitttt-opt %s --bitttt-strided-copies-to-loops | FileCheck %s
// A memref.copy with a non-contiguous side would become a call of MLIR's
// memrefCopy runtime function, which the artifact cannot link (libc and
// libm only): it becomes a linalg.copy (loops). Contiguous copies stay
// memref.copy (memcpy).

// CHECK-LABEL: func.func @strided_source(
// CHECK-SAME: %[[SRC:[^:]*]]: memref<4x8xf32>, %[[DST:[^:]*]]: memref<4x2xf32>)
// CHECK: %[[SUB:.*]] = memref.subview %[[SRC]][0, 2] [4, 2] [1, 1]
// CHECK-NOT: memref.copy
// CHECK: linalg.copy ins(%[[SUB]] : memref<4x2xf32, strided<[8, 1], offset: 2>>) outs(%[[DST]] : memref<4x2xf32>)
// CHECK-NOT: memref.copy
// CHECK: return
func.func @strided_source(%src: memref<4x8xf32>, %dst: memref<4x2xf32>) {
  %s = memref.subview %src[0, 2] [4, 2] [1, 1] : memref<4x8xf32> to memref<4x2xf32, strided<[8, 1], offset: 2>>
  memref.copy %s, %dst : memref<4x2xf32, strided<[8, 1], offset: 2>> to memref<4x2xf32>
  return
}

// The target strided (a mini-batch slice of the output).
// CHECK-LABEL: func.func @strided_target(
// CHECK-SAME: %[[SRC:[^:]*]]: memref<2x4xf32>, %[[DST:[^:]*]]: memref<6x4xf32>)
// CHECK: %[[SUB:.*]] = memref.subview %[[DST]][4, 0] [2, 4] [1, 1]
// CHECK: linalg.copy ins(%[[SRC]] : memref<2x4xf32>) outs(%[[SUB]] : memref<2x4xf32, strided<[4, 1], offset: 16>>)
// CHECK-NOT: memref.copy
func.func @strided_target(%src: memref<2x4xf32>, %dst: memref<6x4xf32>) {
  %s = memref.subview %dst[4, 0] [2, 4] [1, 1] : memref<6x4xf32> to memref<2x4xf32, strided<[4, 1], offset: 16>>
  memref.copy %src, %s : memref<2x4xf32> to memref<2x4xf32, strided<[4, 1], offset: 16>>
  return
}

// Both sides contiguous (identity layouts): left alone.
// CHECK-LABEL: func.func @contiguous(
// CHECK-NEXT: memref.copy %arg0, %arg1 : memref<4x8xf32> to memref<4x8xf32>
// CHECK-NOT: linalg.copy
// CHECK: return
func.func @contiguous(%src: memref<4x8xf32>, %dst: memref<4x8xf32>) {
  memref.copy %src, %dst : memref<4x8xf32> to memref<4x8xf32>
  return
}

// Copies inside loops are found too.
// CHECK-LABEL: func.func @in_loop(
// CHECK: scf.for
// CHECK: linalg.copy ins(%{{.*}} : memref<1x8xf32, strided<[8, 1], offset: ?>>) outs(%{{.*}} : memref<1x8xf32, strided<[8, 1], offset: ?>>)
// CHECK-NOT: memref.copy
func.func @in_loop(%src: memref<4x8xf32>, %dst: memref<4x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %i = %c0 to %c4 step %c1 {
    %a = memref.subview %src[%i, 0] [1, 8] [1, 1] : memref<4x8xf32> to memref<1x8xf32, strided<[8, 1], offset: ?>>
    %b = memref.subview %dst[%i, 0] [1, 8] [1, 1] : memref<4x8xf32> to memref<1x8xf32, strided<[8, 1], offset: ?>>
    memref.copy %a, %b : memref<1x8xf32, strided<[8, 1], offset: ?>> to memref<1x8xf32, strided<[8, 1], offset: ?>>
  }
  return
}
