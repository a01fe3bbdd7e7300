// RUN: bitttt-opt %s --bitttt-cpu-pipeline | FileCheck %s
// RUN: bitttt-opt %s --bitttt-cpu-pipeline | FileCheck %s --check-prefix=CLEAN
// RUN: bitttt-opt %s --bitttt-cpu-pipeline | mlir-translate --mlir-to-llvmir | FileCheck %s --check-prefix=LLVMIR
// RUN: bitttt-opt %s --bitttt-cpu-pipeline=parallel=false | FileCheck %s --check-prefix=SEQ
// RUN: bitttt-opt %s --bitttt-cpu-pipeline=parallel=false | FileCheck %s --check-prefix=CLEAN

// The pipeline leaves only LLVM dialect ops, in every function: CLEAN has no
// positive pattern, so its NOTs scan the whole output.
// CLEAN-NOT: {{^ *(%[^ ]+ = )?}}bitttt.
// CLEAN-NOT: {{^ *(%[^ ]+ = )?}}linalg.
// CLEAN-NOT: {{^ *(%[^ ]+ = )?}}tensor.
// CLEAN-NOT: {{^ *(%[^ ]+ = )?}}memref.
// CLEAN-NOT: {{^ *(%[^ ]+ = )?}}scf.
// CLEAN-NOT: {{^ *(%[^ ]+ = )?}}vector.
// CLEAN-NOT: {{^ *(%[^ ]+ = )?}}omp.
// CLEAN-NOT: func.func

// Packed BitLinear rows run on the runtime's threads: the row loop is
// outlined into @packed_loop0 over [begin, end), and @packed takes the
// exec and calls exec->parallel_for(ctx, rows, body, closure), or the body
// itself over [0, rows) when exec or its parallel_for is NULL.
// CHECK-LABEL: llvm.func internal @packed(
// CHECK-SAME: %{{.*}}: !llvm.ptr {bitttt.exec})
// CHECK-DAG: llvm.alloca
// CHECK-DAG: llvm.mlir.addressof @packed_loop0
// CHECK: llvm.icmp "ne"
// CHECK: llvm.call %{{.*}}(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : !llvm.ptr, (!llvm.ptr, i64, !llvm.ptr, !llvm.ptr) -> ()
// CHECK: llvm.call @packed_loop0(
// The entry points: (buffers, exec), exec passed on where loops are.
// CHECK-LABEL: llvm.func @bitttt_entry_packed(
// CHECK-SAME: %{{.*}}: !llvm.ptr, %[[EXEC:.*]]: !llvm.ptr)
// CHECK: llvm.call @packed({{.*}}, %[[EXEC]])
// CHECK-LABEL: llvm.func internal @packed_loop0(
// CHECK-SAME: %{{.*}}: !llvm.ptr, %{{.*}}: i64, %{{.*}}: i64)
// CHECK: llvm.call_intrinsic "llvm.x86.avx2.pmadd.ub.sw"
// CHECK-LABEL: llvm.func internal @block(
// CHECK-LABEL: llvm.func @bitttt_entry_block(
// CHECK-SAME: %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr)

// SEQ-LABEL: llvm.func internal @packed(
// SEQ-NOT: bitttt.exec
// SEQ-NOT: @packed_loop0
// SEQ: llvm.func @bitttt_entry_packed(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr)

// LLVMIR: define internal void @packed_loop0(ptr
// LLVMIR: define {{.*}} @block(
// Elementwise work is vectorized to the target's 8 f32 lanes (x86-64-v3).
// LLVMIR-DAG: call <8 x float> @llvm.sqrt.v8f32
// LLVMIR-DAG: call <8 x float> @llvm.roundeven.v8f32
func.func @packed(%x: tensor<2x128xf32>, %p: !bitttt.packed_ternary<16x128>, %gt: tensor<f32>) -> tensor<2x16xf32> {
  %g = tensor.extract %gt[] : tensor<f32>
  %y = bitttt.bitlinear %x, %p scale %g : tensor<2x128xf32>, !bitttt.packed_ternary<16x128> -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

func.func @block(%x: tensor<4x32xf32>, %g: tensor<32xf32>, %w: tensor<16x32xf32>) -> tensor<4x16xf32> {
  %n = bitttt.rms_norm %x, %g : tensor<4x32xf32>, tensor<32xf32>
  %y = bitttt.bitlinear %n, %w : tensor<4x32xf32>, tensor<16x32xf32> -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}
