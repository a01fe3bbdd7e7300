// RUN: bitttt-opt %s --bitttt-lower-lm-head=target=x86-64-v3 --split-input-file | FileCheck %s --check-prefixes=CHECK,V3
// RUN: bitttt-opt %s --bitttt-lower-lm-head=target=x86-64-v4 --split-input-file | FileCheck %s --check-prefixes=CHECK,V4
// RUN: not bitttt-opt %s --bitttt-lower-lm-head=target=armv8 --split-input-file 2>&1 | FileCheck %s --check-prefix=BAD

// The LM head: rows in parallel, FMAs on the target's f32 lanes (8 for
// x86-64-v3, 16 for x86-64-v4) into four accumulators. A bf16 head is
// widened per vector; the accumulation stays f32.
// CHECK-LABEL: func @lm_head_bf16
// CHECK: scf.forall (%{{.*}}) in (64)
// V3: scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// V3: vector.transfer_read {{.*}} : tensor<64x64xbf16>, vector<8xbf16>
// V3: arith.extf {{.*}} : vector<8xbf16> to vector<8xf32>
// V4: scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// V4: vector.transfer_read {{.*}} : tensor<64x64xbf16>, vector<16xbf16>
// V4: arith.extf {{.*}} : vector<16xbf16> to vector<16xf32>
// CHECK: vector.fma
// CHECK: vector.reduction <add>
// CHECK-NOT: bitttt.lm_head
// BAD: error: bitttt-lower-lm-head: unknown target 'armv8' (known: x86-64-v4, x86-64-v3)
func.func @lm_head_bf16(%x: tensor<8x64xf32>, %w: tensor<64x64xbf16>) -> tensor<8x64xf32> {
  %l = bitttt.lm_head %x, %w : tensor<8x64xf32>, tensor<64x64xbf16> -> tensor<8x64xf32>
  return %l : tensor<8x64xf32>
}

// -----

// A ragged row (40 columns: no full 64-column chunk on x86-64-v4, one of 32
// plus a tail of 8 on x86-64-v3) ends in masked reads: transfer_reads without
// `in_bounds = [true]`, after the loop over full chunks.
// CHECK-LABEL: func @lm_head_ragged
// CHECK: scf.for
// CHECK: scf.yield {{.*}} : vector<{{8|16}}xf32>
// CHECK: vector.transfer_read {{.*}} : tensor<16x40xf32>, vector<{{8|16}}xf32>{{$}}
func.func @lm_head_ragged(%x: tensor<1x40xf32>, %w: tensor<16x40xf32>) -> tensor<1x16xf32> {
  %l = bitttt.lm_head %x, %w : tensor<1x40xf32>, tensor<16x40xf32> -> tensor<1x16xf32>
  return %l : tensor<1x16xf32>
}

// -----

// The int8 head (lm_head_q): the same row loop on 32-byte int8 chunks into
// four i32 accumulators. x86-64-v4 biases the activation codes once (xor
// 0x80 = +128 as u8), multiplies with vpdpbusd (dot_u8_i8) and subtracts
// 128·row_sum[r]; x86-64-v3 multiplies the signed codes (dot_i8_i8) and
// never reads row_sum. Then f32(dot) · row_scale[r] / scales[t]. 100
// columns: no full 128-column chunk, so only the masked step runs.
// CHECK-LABEL: func @lm_head_int8
// V4: %[[B:.*]] = arith.xori %arg0, %{{.*}} : tensor<3x100xi8>
// V3-NOT: arith.xori
// CHECK: scf.forall (%[[R:.*]]) in (17)
// CHECK: scf.for {{.*}} -> (vector<8xi32>, vector<8xi32>, vector<8xi32>, vector<8xi32>)
// V4: vector.transfer_read %[[B]]{{.*}} : tensor<3x100xi8>, vector<32xi8>
// V3: vector.transfer_read %arg0{{.*}} : tensor<3x100xi8>, vector<32xi8>
// CHECK: vector.transfer_read %arg2{{.*}} : tensor<17x100xi8>, vector<32xi8>
// V4: bitttt.dot_u8_i8
// V3: bitttt.dot_i8_i8
// CHECK: vector.reduction <add>, {{.*}} : vector<8xi32> into i32
// V4: tensor.extract %arg4[%[[R]]] : tensor<17xi32>
// V4: arith.shli
// V4: arith.subi
// V3-NOT: tensor.extract %arg4
// CHECK: arith.sitofp {{.*}} : i32 to f32
// CHECK: tensor.extract %arg3[%[[R]]] : tensor<17xf32>
// CHECK: tensor.extract %arg1
// CHECK: arith.mulf
// CHECK: arith.divf
// CHECK-NOT: bitttt.lm_head_q
func.func @lm_head_int8(%xq: tensor<3x100xi8>, %s: tensor<3xf32>, %w: tensor<17x100xi8>,
                        %ws: tensor<17xf32>, %wsum: tensor<17xi32>) -> tensor<3x17xf32> {
  %l = bitttt.lm_head_q %xq, %s, %w, %ws, %wsum : tensor<3x100xi8>, tensor<3xf32>, tensor<17x100xi8>, tensor<17xf32>, tensor<17xi32> -> tensor<3x17xf32>
  return %l : tensor<3x17xf32>
}
