// RUN: bitttt-opt %s --bitttt-outline-parallel-loops | FileCheck %s
// Numerics and threads: test_runtime_e2e.py (compiled models on the pool)
// and SessionTest's CompiledLoopsUseNThreadsFromAnyThread (the runtime side).

// The body reads two static memrefs (each travels as {allocated, aligned,
// offset}), an f32 and an index; the constant bounds are cloned into it.
// CHECK-LABEL: func.func @rows(
// CHECK-SAME: %[[IN:[^:]*]]: memref<8x4xf32>, %[[OUT:[^:]*]]: memref<8xf32>, %[[S:[^:]*]]: f32, %[[K:[^:]*]]: index, %[[EXEC:[^:]*]]: !llvm.ptr {bitttt.exec})
// CHECK: %[[CLOSURE:.*]] = llvm.alloca %{{.*}} x !llvm.struct<(ptr, ptr, i64, i64, f32, ptr, ptr, i64)>
// CHECK: builtin.unrealized_conversion_cast %[[IN]] : memref<8x4xf32> to !llvm.struct
// CHECK: arith.index_cast %[[K]] : index to i64
// CHECK: llvm.store %[[S]]
// CHECK: %[[N:.*]] = arith.index_cast %{{.*}} : index to i64
// CHECK: %[[FN:.*]] = constant @rows_loop0 : (!llvm.ptr, i64, i64) -> ()
// CHECK: %[[FNPTR:.*]] = builtin.unrealized_conversion_cast %[[FN]]
// A NULL exec or parallel_for runs the body here, over [0, n).
// CHECK: llvm.icmp "ne" %[[EXEC]]
// CHECK: %[[PF:.*]] = scf.if
// CHECK: llvm.getelementptr %[[EXEC]][0, 1]
// CHECK: %[[USE:.*]] = llvm.icmp "ne" %[[PF]]
// CHECK: scf.if %[[USE]] {
// CHECK: %[[CTX:.*]] = llvm.load
// CHECK: llvm.call %[[PF]](%[[CTX]], %[[N]], %[[FNPTR]], %[[CLOSURE]])
// CHECK: } else {
// CHECK: func.call @rows_loop0(%[[CLOSURE]], %{{.*}}, %[[N]])
// CHECK-NOT: scf.parallel
// The outlined body rebuilds the descriptors with constant sizes/strides.
// CHECK-LABEL: func.func private @rows_loop0(
// CHECK-SAME: %{{.*}}: !llvm.ptr, %[[B:[^:]*]]: i64, %[[E:[^:]*]]: i64) attributes {llvm.linkage = #llvm.linkage<internal>}
// CHECK: llvm.mlir.constant(8 : i64)
// CHECK: llvm.mlir.constant(4 : i64)
// CHECK: to memref<8x4xf32>
// CHECK: to memref<8xf32>
// CHECK: scf.for
// CHECK: memref.load
// CHECK: arith.mulf
// CHECK: memref.store
func.func @rows(%in: memref<8x4xf32>, %out: memref<8xf32>, %s: f32, %k: index) {
  %c0 = arith.constant 0 : index
  %c8 = arith.constant 8 : index
  %c1 = arith.constant 1 : index
  scf.parallel (%r) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %in[%r, %k] : memref<8x4xf32>
    %m = arith.mulf %v, %s : f32
    memref.store %m, %out[%r] : memref<8xf32>
    scf.reduce
  }
  return
}

// Loops in functions the runtime does not call (private, or called from
// elsewhere), nested loops and loops with reductions stay: scf-to-cf makes
// them sequential.
// CHECK-LABEL: func.func private @helper(
// CHECK-NOT: bitttt.exec
// CHECK: scf.parallel
func.func private @helper(%out: memref<8xf32>, %x: f32) {
  %c0 = arith.constant 0 : index
  %c8 = arith.constant 8 : index
  %c1 = arith.constant 1 : index
  scf.parallel (%r) = (%c0) to (%c8) step (%c1) {
    memref.store %x, %out[%r] : memref<8xf32>
    scf.reduce
  }
  return
}

// A private function an entry calls (a per-layer function) gets an exec as
// its trailing argument, its loops run on the runtime's threads, and the call
// passes the entry's exec on.
// CHECK-LABEL: func.func @calls_layer(
// CHECK-SAME: %[[EXEC:[a-z0-9]+]]: !llvm.ptr {bitttt.exec})
// CHECK: call @layer(%arg0, %arg1, %[[EXEC]])
func.func @calls_layer(%out: memref<8xf32>, %x: f32) {
  call @layer(%out, %x) : (memref<8xf32>, f32) -> ()
  return
}
// CHECK-LABEL: func.func private @layer(
// CHECK-SAME: !llvm.ptr {bitttt.exec})
// CHECK-NOT: scf.parallel
// CHECK: llvm.call
// CHECK: return
func.func private @layer(%out: memref<8xf32>, %x: f32) {
  %c0 = arith.constant 0 : index
  %c8 = arith.constant 8 : index
  %c1 = arith.constant 1 : index
  scf.parallel (%r) = (%c0) to (%c8) step (%c1) {
    memref.store %x, %out[%r] : memref<8xf32>
    scf.reduce
  }
  return
}

// CHECK-LABEL: func.func @nested(
// CHECK: call @nested_loop0
// CHECK-LABEL: func.func private @nested_loop0(
// CHECK: scf.for
// CHECK: scf.parallel
func.func @nested(%out: memref<8x8xf32>, %x: f32) {
  %c0 = arith.constant 0 : index
  %c8 = arith.constant 8 : index
  %c1 = arith.constant 1 : index
  scf.parallel (%r) = (%c0) to (%c8) step (%c1) {
    scf.parallel (%c) = (%c0) to (%c8) step (%c1) {
      memref.store %x, %out[%r, %c] : memref<8x8xf32>
      scf.reduce
    }
    scf.reduce
  }
  return
}
