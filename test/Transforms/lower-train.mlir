// RUN: bitttt-opt %s --bitttt-lower-train --split-input-file | FileCheck %s
// The training-only lowerings to linalg on tensors (numerics: python/tests
// against the reference; the f32 GEMM of quantized values equals the int32
// dot exactly). Here, the structure.

// A latent BitLinear, act_bits = 8: y = ((xq · Wqᵀ) · γ) / s, the dot an
// f32 GEMM of the integer codes. The transpose of Wq and the broadcast of
// s are generics (elementwise fusion folds them into their neighbours);
// the GEMM stays a named linalg.matmul for the GEMM kernels.
// CHECK-DAG: #[[TRANS:[a-z0-9]+]] = affine_map<(d0, d1) -> (d1, d0)>
// CHECK-DAG: #[[ID:[a-z0-9]+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:[a-z0-9]+]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @bitlinear_int8(
// CHECK: %[[WQ:[a-z_0-9]+]], %[[GAMMA:[a-z_0-9]+]] = bitttt.weight_quant %arg1 : tensor<16x8xf32> -> tensor<16x8xi8>
// CHECK: %[[WF:.*]] = arith.sitofp %[[WQ]] : tensor<16x8xi8> to tensor<16x8xf32>
// CHECK: %[[XQ:[a-z_0-9]+]], %[[S:[a-z_0-9]+]] = bitttt.act_quant %arg0 : tensor<4x8xf32> -> tensor<4x8xi8>, tensor<4xf32>
// CHECK: %[[XF:.*]] = arith.sitofp %[[XQ]] : tensor<4x8xi8> to tensor<4x8xf32>
// CHECK: %[[WT:.*]] = linalg.generic {indexing_maps = [#[[TRANS]], #[[ID]]], iterator_types = ["parallel", "parallel"]} ins(%[[WF]] : tensor<16x8xf32>) outs(%{{.*}} : tensor<8x16xf32>)
// CHECK: %[[ACC:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<4x16xf32>)
// CHECK: %[[DOT:.*]] = linalg.matmul ins(%[[XF]], %[[WT]] : tensor<4x8xf32>, tensor<8x16xf32>) outs(%[[ACC]] : tensor<4x16xf32>)
// CHECK: %[[GB:.*]] = linalg.fill ins(%[[GAMMA]] : f32) outs(%{{.*}} : tensor<4x16xf32>)
// CHECK: %[[SCALED:.*]] = arith.mulf %[[DOT]], %[[GB]] : tensor<4x16xf32>
// CHECK: %[[SB:.*]] = linalg.generic {indexing_maps = [#[[ROW]], #[[ID]]], iterator_types = ["parallel", "parallel"]} ins(%[[S]] : tensor<4xf32>) outs(%{{.*}} : tensor<4x16xf32>)
// CHECK: %[[Y:.*]] = arith.divf %[[SCALED]], %[[SB]] : tensor<4x16xf32>
// CHECK: return %[[Y]]
// CHECK-NOT: bitttt.bitlinear
func.func @bitlinear_int8(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>) -> tensor<4x16xf32> {
  %y = bitttt.bitlinear %x, %w : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

// act_bits = 0: f32 activations straight into the GEMM, no row scale.
// CHECK-DAG: #[[TRANS:[a-z0-9]+]] = affine_map<(d0, d1) -> (d1, d0)>
// CHECK-LABEL: func.func @bitlinear_f32(
// CHECK: %[[WQ:[a-z_0-9]+]], %[[GAMMA:[a-z_0-9]+]] = bitttt.weight_quant %arg1
// CHECK-NOT: bitttt.act_quant
// CHECK: %[[WF:.*]] = arith.sitofp %[[WQ]] : tensor<16x8xi8> to tensor<16x8xf32>
// CHECK: %[[WT:.*]] = linalg.generic {indexing_maps = [#[[TRANS]], {{.*}}ins(%[[WF]] : tensor<16x8xf32>) outs(%{{.*}} : tensor<8x16xf32>)
// CHECK: %[[DOT:.*]] = linalg.matmul ins(%arg0, %[[WT]] : tensor<4x8xf32>, tensor<8x16xf32>)
// CHECK: %[[GB:.*]] = linalg.fill ins(%[[GAMMA]] : f32)
// CHECK: %[[Y:.*]] = arith.mulf %[[DOT]], %[[GB]] : tensor<4x16xf32>
// CHECK-NOT: arith.divf
// CHECK: return %[[Y]]
func.func @bitlinear_f32(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>) -> tensor<4x16xf32> {
  %y = bitttt.bitlinear %x, %w {act_bits = 0} : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

// The LM head: x · Wᵀ as a GEMM of the transposed weight.
// CHECK-DAG: #[[TRANS:[a-z0-9]+]] = affine_map<(d0, d1) -> (d1, d0)>
// CHECK-LABEL: func.func @lm_head(
// CHECK: %[[WT:.*]] = linalg.generic {indexing_maps = [#[[TRANS]], {{.*}}ins(%arg1 : tensor<32x8xf32>) outs(%{{.*}} : tensor<8x32xf32>)
// CHECK-NEXT: ^bb0(%[[IN:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: linalg.yield %[[IN]] : f32
// CHECK: %[[Y:.*]] = linalg.matmul ins(%arg0, %[[WT]] : tensor<4x8xf32>, tensor<8x32xf32>) outs(%{{.*}} : tensor<4x32xf32>)
// CHECK-NEXT: return %[[Y]]
func.func @lm_head(%x: tensor<4x8xf32>, %w: tensor<32x8xf32>) -> tensor<4x32xf32> {
  %y = bitttt.lm_head %x, %w : tensor<4x8xf32>, tensor<32x8xf32> -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

// Cross-entropy: row max, Σ exp(x − max), the target's logit, then
// Σ_i (max + log Σ − x[t]) over the rows, divided by N = 6.
// CHECK-LABEL: func.func @cross_entropy(
// CHECK-DAG: %[[N:.*]] = arith.constant 6.000000e+00 : f32
// CHECK-DAG: %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK: %[[MAXINIT:.*]] = linalg.fill ins(%[[NEGINF]] : f32) outs(%{{.*}} : tensor<6xf32>)
// CHECK: %[[MAX:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%arg0 : tensor<6x16xf32>) outs(%[[MAXINIT]] : tensor<6xf32>)
// CHECK: arith.maximumf
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%arg0, %[[MAX]] : tensor<6x16xf32>, tensor<6xf32>)
// CHECK: arith.subf
// CHECK: math.exp
// CHECK: arith.addf
// CHECK: %[[PICK:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%arg0, %arg1 : tensor<6x16xf32>, tensor<6xi32>)
// CHECK: linalg.index 1
// CHECK: arith.cmpi eq
// CHECK: arith.select
// CHECK: %[[TOTAL:.*]] = linalg.generic {{.*}} iterator_types = ["reduction"]} ins(%[[MAX]], %[[SUM]], %[[PICK]] : tensor<6xf32>, tensor<6xf32>, tensor<6xf32>) outs(%{{.*}} : tensor<f32>)
// CHECK: math.log
// CHECK: %[[T:.*]] = tensor.extract %[[TOTAL]][] : tensor<f32>
// CHECK: %[[LOSS:.*]] = arith.divf %[[T]], %[[N]] : f32
// CHECK: return %[[LOSS]] : f32
func.func @cross_entropy(%l: tensor<6x16xf32>, %t: tensor<6xi32>) -> f32 {
  %loss = bitttt.cross_entropy %l, %t : tensor<6x16xf32>, tensor<6xi32>
  return %loss : f32
}

// -----

// The embedding cotangent: a scatter-add, row by row (ids repeat).
// CHECK-LABEL: func.func @embedding_grad(
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C6:.*]] = arith.constant 6 : index
// CHECK: %[[ZEROS:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<16x8xf32>)
// CHECK: %[[R:.*]] = scf.for %[[I:.*]] = %[[C0]] to %[[C6]] step %[[C1]] iter_args(%[[ACC:.*]] = %[[ZEROS]]) -> (tensor<16x8xf32>) {
// CHECK: %[[ID:.*]] = tensor.extract %arg1[%[[I]]] : tensor<6xi32>
// CHECK: %[[ROW:.*]] = arith.index_cast %[[ID]] : i32 to index
// CHECK: %[[OLD:.*]] = tensor.extract_slice %[[ACC]][%[[ROW]], 0] [1, 8] [1, 1] : tensor<16x8xf32> to tensor<1x8xf32>
// CHECK: %[[G:.*]] = tensor.extract_slice %arg0[%[[I]], 0] [1, 8] [1, 1] : tensor<6x8xf32> to tensor<1x8xf32>
// CHECK: %[[NEW:.*]] = arith.addf %[[OLD]], %[[G]] : tensor<1x8xf32>
// CHECK: %[[NEXT:.*]] = tensor.insert_slice %[[NEW]] into %[[ACC]][%[[ROW]], 0] [1, 8] [1, 1] : tensor<1x8xf32> into tensor<16x8xf32>
// CHECK: scf.yield %[[NEXT]] : tensor<16x8xf32>
// CHECK: return %[[R]]
func.func @embedding_grad(%g: tensor<6x8xf32>, %ids: tensor<6xi32>) -> tensor<16x8xf32> {
  %d = bitttt.embedding_grad %g[%ids] : tensor<6x8xf32>, tensor<6xi32> -> tensor<16x8xf32>
  return %d : tensor<16x8xf32>
}

// -----

// AdamW: one elementwise pass reading g and writing p, m, v into the op's
// own operands (outs), so bufferization updates them in place. The bias
// corrections 1 − βᵗ are computed in f64 outside the loop. (The values of
// the 1 − β constants are left to the numerics tests.)
// CHECK-LABEL: func.func @adamw(
// CHECK-DAG: %[[EPS:.*]] = arith.constant 1.000000e-07 : f32
// CHECK-DAG: %[[B2:.*]] = arith.constant 9.900000e-01 : f32
// CHECK-DAG: %[[B1:.*]] = arith.constant 8.000000e-01 : f32
// CHECK-DAG: %[[WD:.*]] = arith.constant 2.500000e-01 : f64
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1.000000e+00 : f64
// CHECK: %[[T:.*]] = arith.sitofp %arg5 : i64 to f64
// CHECK: %[[P1:.*]] = math.powf %{{.*}}, %[[T]] : f64
// CHECK: %[[BC1:.*]] = arith.subf %[[ONE]], %[[P1]] : f64
// CHECK: %[[P2:.*]] = math.powf %{{.*}}, %[[T]] : f64
// CHECK: %[[BC2:.*]] = arith.subf %[[ONE]], %[[P2]] : f64
// CHECK: %[[LR:.*]] = arith.extf %arg4 : f32 to f64
// CHECK: %[[LRWD:.*]] = arith.mulf %[[LR]], %[[WD]] : f64
// CHECK: %[[DECAY64:.*]] = arith.subf %[[ONE]], %[[LRWD]] : f64
// CHECK: %[[DECAY:.*]] = arith.truncf %[[DECAY64]] : f64 to f32
// CHECK: %[[STEP64:.*]] = arith.divf %[[LR]], %[[BC1]] : f64
// CHECK: %[[STEP:.*]] = arith.truncf %[[STEP64]] : f64 to f32
// CHECK: %[[SQBC2_64:.*]] = math.sqrt %[[BC2]] : f64
// CHECK: %[[SQBC2:.*]] = arith.truncf %[[SQBC2_64]] : f64 to f32
// CHECK: %[[R:.*]]:3 = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%arg1 : tensor<4x8xf32>) outs(%arg0, %arg2, %arg3 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
// CHECK-NEXT: ^bb0(%[[G:.*]]: f32, %[[P:.*]]: f32, %[[M:.*]]: f32, %[[V:.*]]: f32):
// p·(1 − lr·wd)
// CHECK-NEXT: %[[PD:.*]] = arith.mulf %[[P]], %[[DECAY]] : f32
// m' = β1 m + (1 − β1) g
// CHECK-NEXT: %[[BM:.*]] = arith.mulf %[[M]], %[[B1]] : f32
// CHECK-NEXT: %[[OG:.*]] = arith.mulf %[[G]], %{{.*}} : f32
// CHECK-NEXT: %[[M1:.*]] = arith.addf %[[BM]], %[[OG]] : f32
// v' = β2 v + (1 − β2) g²
// CHECK-NEXT: %[[BV:.*]] = arith.mulf %[[V]], %[[B2]] : f32
// CHECK-NEXT: %[[OG2:.*]] = arith.mulf %[[G]], %{{.*}} : f32
// CHECK-NEXT: %[[GG:.*]] = arith.mulf %[[OG2]], %[[G]] : f32
// CHECK-NEXT: %[[V1:.*]] = arith.addf %[[BV]], %[[GG]] : f32
// p' = p·(1 − lr·wd) − (lr / bc1)·m' / (sqrt(v') / sqrt(bc2) + eps)
// CHECK-NEXT: %[[SV:.*]] = math.sqrt %[[V1]] : f32
// CHECK-NEXT: %[[SVB:.*]] = arith.divf %[[SV]], %[[SQBC2]] : f32
// CHECK-NEXT: %[[DEN:.*]] = arith.addf %[[SVB]], %[[EPS]] : f32
// CHECK-NEXT: %[[NUM:.*]] = arith.mulf %[[STEP]], %[[M1]] : f32
// CHECK-NEXT: %[[UPD:.*]] = arith.divf %[[NUM]], %[[DEN]] : f32
// CHECK-NEXT: %[[P1N:.*]] = arith.subf %[[PD]], %[[UPD]] : f32
// CHECK-NEXT: linalg.yield %[[P1N]], %[[M1]], %[[V1]] : f32, f32, f32
// CHECK: return %[[R]]#0, %[[R]]#1, %[[R]]#2
// CHECK-NOT: bitttt.adamw
func.func @adamw(%p: tensor<4x8xf32>, %g: tensor<4x8xf32>, %m: tensor<4x8xf32>, %v: tensor<4x8xf32>,
                 %lr: f32, %t: i64) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %p1, %m1, %v1 = bitttt.adamw %p, %g, %m, %v lr(%lr) step(%t)
      {beta1 = 0.8 : f64, beta2 = 0.99 : f64, eps = 1.0e-7 : f64, weight_decay = 0.25 : f64} : tensor<4x8xf32>
  return %p1, %m1, %v1 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// The named broadcasts, transposes and sums the backward is made of become
// generics (so elementwise fusion folds them into the loops around them);
// GEMMs stay named.
// CHECK-LABEL: func.func @generalized(
// CHECK-NOT: linalg.broadcast
// CHECK-NOT: linalg.transpose
// CHECK-NOT: linalg.reduce
// CHECK: %[[B:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%arg0 : tensor<4xf32>) outs(%{{.*}} : tensor<4x8xf32>)
// CHECK: %[[T:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%[[B]] : tensor<4x8xf32>) outs(%{{.*}} : tensor<8x4xf32>)
// CHECK: %[[M:.*]] = linalg.matmul ins(%[[T]], %arg1 : tensor<8x4xf32>, tensor<4x8xf32>)
// CHECK: %[[R:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[M]] : tensor<8x8xf32>) outs(%{{.*}} : tensor<8xf32>)
// CHECK: arith.addf
// CHECK: return %[[R]]
func.func @generalized(%x: tensor<4xf32>, %y: tensor<4x8xf32>) -> tensor<8xf32> {
  %z = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<4x8xf32>
  %b = linalg.broadcast ins(%x : tensor<4xf32>) outs(%e0 : tensor<4x8xf32>) dimensions = [1]
  %e1 = tensor.empty() : tensor<8x4xf32>
  %t = linalg.transpose ins(%b : tensor<4x8xf32>) outs(%e1 : tensor<8x4xf32>) permutation = [1, 0]
  %e2 = tensor.empty() : tensor<8x8xf32>
  %f2 = linalg.fill ins(%z : f32) outs(%e2 : tensor<8x8xf32>) -> tensor<8x8xf32>
  %m = linalg.matmul ins(%t, %y : tensor<8x4xf32>, tensor<4x8xf32>) outs(%f2 : tensor<8x8xf32>) -> tensor<8x8xf32>
  %e3 = tensor.empty() : tensor<8xf32>
  %f3 = linalg.fill ins(%z : f32) outs(%e3 : tensor<8xf32>) -> tensor<8xf32>
  %r = linalg.reduce ins(%m : tensor<8x8xf32>) outs(%f3 : tensor<8xf32>) dimensions = [1]
    (%in: f32, %acc: f32) {
      %s = arith.addf %in, %acc : f32
      linalg.yield %s : f32
    }
  return %r : tensor<8xf32>
}

// -----

// Not this pass's: a packed BitLinear (inference), cross-entropy with
// ignore_index, a bf16 LM head.
// CHECK-LABEL: func.func @left_alone(
// CHECK-NEXT: bitttt.bitlinear %arg0, %arg1 scale %arg2
// CHECK-NEXT: bitttt.cross_entropy %arg3, %arg4 {ignore_index = 0 : i64}
// CHECK-NEXT: bitttt.lm_head %arg0, %arg5 : tensor<4x128xf32>, tensor<16x128xbf16>
// CHECK-NEXT: return
func.func @left_alone(%x: tensor<4x128xf32>, %p: !bitttt.packed_ternary<16x128>, %s: f32,
                      %l: tensor<6x16xf32>, %t: tensor<6xi32>, %wb: tensor<16x128xbf16>)
    -> (tensor<4x16xf32>, f32, tensor<4x16xf32>) {
  %y = bitttt.bitlinear %x, %p scale %s : tensor<4x128xf32>, !bitttt.packed_ternary<16x128> -> tensor<4x16xf32>
  %loss = bitttt.cross_entropy %l, %t {ignore_index = 0} : tensor<6x16xf32>, tensor<6xi32>
  %h = bitttt.lm_head %x, %wb : tensor<4x128xf32>, tensor<16x128xbf16> -> tensor<4x16xf32>
  return %y, %loss, %h : tensor<4x16xf32>, f32, tensor<4x16xf32>
}
