// RUN: bitttt-opt %s --bitttt-decompose-train --split-input-file | FileCheck %s
// RUN: bitttt-opt %s --bitttt-decompose-train --split-input-file | FileCheck %s --check-prefix=FUNCS --implicit-check-not="func.func private"
// The training forms of the layers in the tensor primitives that
// bitttt-autodiff differentiates (numerics against the PyTorch reference:
// python/tests). Here, the structure of the unrolled mini-batch dual form:
// each mini-batch is a call of a private function built once per shape.

// FUNCS is every private function the pass builds, in the order it builds
// them, and nothing else (one per shape and commit flag, however many
// mini-batches call it).
// FUNCS: func.func private @ttt_linear_chunk_4x4x6_mb4_commit(
// FUNCS: func.func private @ttt_linear_chunk_4x2x6_mb4(
// FUNCS: func.func private @ttt_linear_chunk_1x4x4_mb4_commit(
// FUNCS: func.func private @ttt_linear_chunk_1x4x4_mb4(
// FUNCS: func.func private @ttt_seed_chunk_2x2x4_lr0x3f000000(
// FUNCS: func.func private @ttt_seed_chunk_1x4x4_lr0x3e800000_commit(
// FUNCS: func.func private @ttt_seed_chunk_1x4x4_lr0x3e800000(

// TTT-Linear, 2 sequences of 6 tokens, D = 12, 2 heads of f = 6, mini-batch
// 4: the mini-batches are tokens [0, 4) and [4, 6). Every sequence and head
// at once as [S·H = 4, ., .] batched GEMMs. f = 6 ≠ mini_batch = 4 so that
// 1/f (LayerNorm means) and 1/b (the commit) are different constants.
// CHECK-LABEL: func.func @ttt_linear_seqs(
// base_lr/f = 1.5/6 for η; the rest of the constants are the chunks'.
// CHECK-DAG: %[[ETA_SCALE:.*]] = arith.constant dense<2.500000e-01> : tensor<12x2xf32>
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NOT: arith.constant dense<2.500000e-01> : tensor<4x6x6xf32>
// Q, K, V stay BitLinears (their VJP is the straight-through rule).
// CHECK: %[[Q:.*]] = bitttt.bitlinear %arg0, %arg1 : tensor<12x12xf32>, tensor<12x12xf32> -> tensor<12x12xf32>
// CHECK: %[[K:.*]] = bitttt.bitlinear %arg0, %arg2 :
// CHECK: %[[V:.*]] = bitttt.bitlinear %arg0, %arg3 :
// η = base_lr · sigmoid(x · lr_wᵀ + lr_b) / f.
// CHECK: %[[LRT:.*]] = linalg.transpose ins(%arg5 : tensor<2x12xf32>) {{.*}} permutation = [1, 0]
// CHECK: %[[LOGIT:.*]] = linalg.matmul ins(%arg0, %[[LRT]] : tensor<12x12xf32>, tensor<12x2xf32>)
// CHECK: linalg.broadcast ins(%arg6 : tensor<2xf32>)
// CHECK: math.exp
// CHECK: %[[ETA:.*]] = arith.mulf %{{.*}}, %[[ETA_SCALE]] : tensor<12x2xf32>
// [N, D] → [S·H, T, f].
// CHECK: tensor.expand_shape %[[Q]] {{\[\[}}0, 1], [2, 3]] output_shape [2, 6, 2, 6]
// CHECK: linalg.transpose {{.*}} permutation = [0, 2, 1, 3]
// CHECK: %[[QH:.*]] = tensor.collapse_shape {{.*}} : tensor<2x2x6x6xf32> into tensor<4x6x6xf32>
// CHECK: tensor.expand_shape %[[K]]
// CHECK: %[[KH:.*]] = tensor.collapse_shape {{.*}} into tensor<4x6x6xf32>
// CHECK: tensor.expand_shape %[[V]]
// CHECK: %[[VH:.*]] = tensor.collapse_shape {{.*}} into tensor<4x6x6xf32>
// CHECK: tensor.expand_shape %[[ETA]]
// CHECK: %[[ETAH:.*]] = tensor.collapse_shape {{.*}} : tensor<2x2x6xf32> into tensor<4x6xf32>
// The initial state per head, over every sequence.
// CHECK: linalg.broadcast ins(%arg11 : tensor<2x6x6xf32>) outs(%{{.*}} : tensor<2x2x6x6xf32>) dimensions = [0]
// CHECK: %[[W:.*]] = tensor.collapse_shape {{.*}} into tensor<4x6x6xf32>
// CHECK: linalg.broadcast ins(%arg12 : tensor<2x6xf32>) outs(%{{.*}} : tensor<2x2x6xf32>) dimensions = [0]
// CHECK: %[[C:.*]] = tensor.collapse_shape {{.*}} into tensor<4x6xf32>
// The output starts as zeros.
// CHECK: %[[OUT:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.*}} : tensor<4x6x6xf32>)
//
// Mini-batch 0: tokens [0, 4), the ttt_norm gain and bias over its rows.
// CHECK: %[[Q0:.*]] = tensor.extract_slice %[[QH]][0, 0, 0] [4, 4, 6] [1, 1, 1]
// CHECK: %[[K0:.*]] = tensor.extract_slice %[[KH]][0, 0, 0] [4, 4, 6] [1, 1, 1]
// CHECK: %[[V0:.*]] = tensor.extract_slice %[[VH]][0, 0, 0] [4, 4, 6] [1, 1, 1]
// CHECK: %[[E0:.*]] = tensor.extract_slice %[[ETAH]][0, 0] [4, 4] [1, 1]
// CHECK: linalg.broadcast ins(%arg7 : tensor<2x6xf32>) outs(%{{.*}} : tensor<2x2x4x6xf32>) dimensions = [0, 2]
// CHECK: %[[GA0:.*]] = tensor.collapse_shape {{.*}} : tensor<2x2x4x6xf32> into tensor<4x4x6xf32>
// CHECK: linalg.broadcast ins(%arg8 : tensor<2x6xf32>) outs(%{{.*}} : tensor<2x2x4x6xf32>) dimensions = [0, 2]
// CHECK: %[[BE0:.*]] = tensor.collapse_shape {{.*}} : tensor<2x2x4x6xf32> into tensor<4x4x6xf32>
// The one commit (a full mini-batch that another follows): (O, W', c').
// CHECK: %[[R0:.*]]:3 = call @ttt_linear_chunk_4x4x6_mb4_commit(%[[Q0]], %[[K0]], %[[V0]], %[[E0]], %[[GA0]], %[[BE0]], %[[W]], %[[C]]) : (tensor<4x4x6xf32>, tensor<4x4x6xf32>, tensor<4x4x6xf32>, tensor<4x4xf32>, tensor<4x4x6xf32>, tensor<4x4x6xf32>, tensor<4x6x6xf32>, tensor<4x6xf32>) -> (tensor<4x4x6xf32>, tensor<4x6x6xf32>, tensor<4x6xf32>)
// CHECK: %[[OUT0:.*]] = tensor.insert_slice %[[R0]]#0 into %[[OUT]][0, 0, 0] [4, 4, 6] [1, 1, 1] : tensor<4x4x6xf32> into tensor<4x6x6xf32>
//
// Mini-batch 1: tokens [4, 6), partial, from the committed state; not
// committed (O only).
// CHECK: %[[Q1:.*]] = tensor.extract_slice %[[QH]][0, 4, 0] [4, 2, 6] [1, 1, 1]
// CHECK: %[[K1:.*]] = tensor.extract_slice %[[KH]][0, 4, 0] [4, 2, 6] [1, 1, 1]
// CHECK: %[[V1:.*]] = tensor.extract_slice %[[VH]][0, 4, 0] [4, 2, 6] [1, 1, 1]
// CHECK: %[[E1:.*]] = tensor.extract_slice %[[ETAH]][0, 4] [4, 2] [1, 1]
// CHECK: linalg.broadcast ins(%arg7 : tensor<2x6xf32>) outs(%{{.*}} : tensor<2x2x2x6xf32>) dimensions = [0, 2]
// CHECK: %[[GA1:.*]] = tensor.collapse_shape {{.*}} : tensor<2x2x2x6xf32> into tensor<4x2x6xf32>
// CHECK: linalg.broadcast ins(%arg8 : tensor<2x6xf32>) outs(%{{.*}} : tensor<2x2x2x6xf32>) dimensions = [0, 2]
// CHECK: %[[BE1:.*]] = tensor.collapse_shape {{.*}} : tensor<2x2x2x6xf32> into tensor<4x2x6xf32>
// CHECK: %[[R1:.*]] = call @ttt_linear_chunk_4x2x6_mb4(%[[Q1]], %[[K1]], %[[V1]], %[[E1]], %[[GA1]], %[[BE1]], %[[R0]]#1, %[[R0]]#2) : (tensor<4x2x6xf32>, tensor<4x2x6xf32>, tensor<4x2x6xf32>, tensor<4x2xf32>, tensor<4x2x6xf32>, tensor<4x2x6xf32>, tensor<4x6x6xf32>, tensor<4x6xf32>) -> tensor<4x2x6xf32>
// CHECK: %[[OUT1:.*]] = tensor.insert_slice %[[R1]] into %[[OUT0]][0, 4, 0] [4, 2, 6] [1, 1, 1] : tensor<4x2x6xf32> into tensor<4x6x6xf32>
// No third call, no inlined inner loop.
// CHECK-NOT: call
// CHECK-NOT: linalg.batch_matmul
// Heads merged back, then post_norm and o_proj stay layer-level ops.
// CHECK: tensor.expand_shape %[[OUT1]] {{\[\[}}0, 1], [2], [3]] output_shape [2, 2, 6, 6]
// CHECK: linalg.transpose {{.*}} permutation = [0, 2, 1, 3]
// CHECK: %[[MERGED:.*]] = tensor.collapse_shape {{.*}} : tensor<2x6x2x6xf32> into tensor<12x12xf32>
// CHECK: %[[POST:.*]] = bitttt.layer_norm %[[MERGED]], %arg9, %arg10 : tensor<12x12xf32>, tensor<12xf32>
// CHECK-NOT: bitttt.layer_norm
// CHECK: %[[Y:.*]] = bitttt.bitlinear %[[POST]], %arg4 :
// CHECK-NEXT: return %[[Y]]
// CHECK-NOT: bitttt.ttt_linear_seqs
//
// The committed chunk: (Q, K, V, η, γ, β, W, c) → (O, W', c'). Constants:
// the causal and τ_i = 1/i masks of a 4-row mini-batch, 1/b for the commit
// of W and c, f and 1/f and the inner LayerNorm's ε.
// CHECK-LABEL: func.func private @ttt_linear_chunk_4x4x6_mb4_commit(
// CHECK-SAME: %arg0: tensor<4x4x6xf32>, %arg1: tensor<4x4x6xf32>, %arg2: tensor<4x4x6xf32>, %arg3: tensor<4x4xf32>, %arg4: tensor<4x4x6xf32>, %arg5: tensor<4x4x6xf32>, %arg6: tensor<4x6x6xf32>, %arg7: tensor<4x6xf32>)
// CHECK-SAME: -> (tensor<4x4x6xf32>, tensor<4x6x6xf32>, tensor<4x6xf32>)
// CHECK-DAG: %[[INVB_C:.*]] = arith.constant dense<2.500000e-01> : tensor<4x6xf32>
// CHECK-DAG: %[[INVB_W:.*]] = arith.constant dense<2.500000e-01> : tensor<4x6x6xf32>
// CHECK-DAG: %[[TAU4:.*]] = arith.constant dense<{{\[\[}}1.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00], [5.000000e-01, 5.000000e-01, 0.000000e+00, 0.000000e+00], [0.333333343, 0.333333343, 0.333333343, 0.000000e+00], [2.500000e-01, 2.500000e-01, 2.500000e-01, 2.500000e-01]]> : tensor<4x4xf32>
// CHECK-DAG: %[[TRIL4:.*]] = arith.constant dense<{{\[\[}}1.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00], [1.000000e+00, 1.000000e+00, 0.000000e+00, 0.000000e+00], [1.000000e+00, 1.000000e+00, 1.000000e+00, 0.000000e+00], [1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00]]> : tensor<4x4xf32>
// CHECK-DAG: %[[F:.*]] = arith.constant dense<6.000000e+00> : tensor<4x4x6xf32>
// CHECK-DAG: %[[EPS:.*]] = arith.constant dense<9.99999997E-7> : tensor<4x4x6xf32>
// CHECK-DAG: %[[INVF:.*]] = arith.constant dense<0.166666672> : tensor<4x4xf32>
// Inner forward at the start state: Z = K·W + c.
// CHECK: %[[CB:.*]] = linalg.broadcast ins(%arg7 : tensor<4x6xf32>) {{.*}} dimensions = [1]
// CHECK: %[[Z:.*]] = linalg.batch_matmul ins(%arg1, %arg6 : tensor<4x4x6xf32>, tensor<4x6x6xf32>)
// CHECK: %[[ZC:.*]] = arith.addf %[[Z]], %[[CB]] : tensor<4x4x6xf32>
// Its LayerNorm x̂ = (z − mean) / sqrt(var + ε), means by 1/f.
// CHECK: %[[SZ:.*]] = linalg.reduce ins(%[[ZC]] : tensor<4x4x6xf32>) {{.*}} dimensions = [2]
// CHECK: arith.mulf %[[SZ]], %[[INVF]] : tensor<4x4xf32>
// CHECK: %[[XC:.*]] = arith.subf %[[ZC]], %{{.*}} : tensor<4x4x6xf32>
// CHECK: arith.mulf %[[XC]], %[[XC]]
// CHECK: linalg.reduce
// CHECK: arith.mulf %{{.*}}, %[[INVF]] : tensor<4x4xf32>
// CHECK: arith.addf %{{.*}}, %[[EPS]] : tensor<4x4x6xf32>
// CHECK: %[[SIGMA:.*]] = math.sqrt
// CHECK: %[[XHAT:.*]] = arith.divf %[[XC]], %[[SIGMA]] : tensor<4x4x6xf32>
// The reconstruction target V − K, the loss gradient through the LayerNorm.
// CHECK: %[[TARGET:.*]] = arith.subf %arg2, %arg1 : tensor<4x4x6xf32>
// CHECK: %[[GX:.*]] = arith.mulf %arg4, %[[XHAT]]
// CHECK: %[[LNZ:.*]] = arith.addf %[[GX]], %arg5
// CHECK: %[[RES:.*]] = arith.subf %[[LNZ]], %[[TARGET]]
// CHECK: %[[G:.*]] = arith.mulf %[[RES]], %arg4
// CHECK: arith.mulf %[[G]], %[[F]]
// CHECK: %[[SF:.*]] = arith.mulf %[[SIGMA]], %[[F]] : tensor<4x4x6xf32>
// CHECK: %[[GRAD:.*]] = arith.divf %{{.*}}, %[[SF]] : tensor<4x4x6xf32>
// E = τ-mask ⊙ η_j, A = tril(Q·Kᵀ).
// CHECK: %[[TRIL4B:.*]] = linalg.broadcast ins(%[[TRIL4]] : tensor<4x4xf32>) {{.*}} dimensions = [0]
// CHECK: %[[TAU4B:.*]] = linalg.broadcast ins(%[[TAU4]] : tensor<4x4xf32>) {{.*}} dimensions = [0]
// CHECK: %[[EB:.*]] = linalg.broadcast ins(%arg3 : tensor<4x4xf32>) {{.*}} dimensions = [1]
// CHECK: %[[E:.*]] = arith.mulf %[[TAU4B]], %[[EB]] : tensor<4x4x4xf32>
// CHECK: %[[KT:.*]] = linalg.transpose ins(%arg1 : tensor<4x4x6xf32>) {{.*}} permutation = [0, 2, 1]
// CHECK: %[[QK:.*]] = linalg.batch_matmul ins(%arg0, %[[KT]] : tensor<4x4x6xf32>, tensor<4x6x4xf32>)
// CHECK: %[[A:.*]] = arith.mulf %[[QK]], %[[TRIL4B]] : tensor<4x4x4xf32>
// z̄ = Q·W − (E⊙A)·G + c − E·G, then its LayerNorm, plus Q.
// CHECK: %[[QW:.*]] = linalg.batch_matmul ins(%arg0, %arg6 :
// CHECK: %[[EA:.*]] = arith.mulf %[[E]], %[[A]] : tensor<4x4x4xf32>
// CHECK: %[[EAG:.*]] = linalg.batch_matmul ins(%[[EA]], %[[GRAD]] :
// CHECK: %[[D1:.*]] = arith.subf %[[QW]], %[[EAG]]
// CHECK: %[[D2:.*]] = arith.addf %[[D1]], %[[CB]]
// CHECK: %[[EG1:.*]] = linalg.batch_matmul ins(%[[E]], %[[GRAD]] :
// CHECK: %[[ZBAR:.*]] = arith.subf %[[D2]], %[[EG1]] : tensor<4x4x6xf32>
// CHECK: linalg.reduce ins(%[[ZBAR]] : tensor<4x4x6xf32>) {{.*}} dimensions = [2]
// CHECK: math.sqrt
// CHECK: arith.mulf %{{.*}}, %arg4 : tensor<4x4x6xf32>
// CHECK: %[[LN:.*]] = arith.addf %{{.*}}, %arg5 : tensor<4x4x6xf32>
// CHECK: %[[O:.*]] = arith.addf %arg0, %[[LN]] : tensor<4x4x6xf32>
// The commit: W' = W − Kᵀ(η⊙G)/b, c' = c − Σ_tokens(η⊙G)/b.
// CHECK: %[[ETAB:.*]] = linalg.broadcast ins(%arg3 : tensor<4x4xf32>) {{.*}} dimensions = [2]
// CHECK: %[[ETAG:.*]] = arith.mulf %[[ETAB]], %[[GRAD]] : tensor<4x4x6xf32>
// CHECK: %[[KT2:.*]] = linalg.transpose ins(%arg1 : tensor<4x4x6xf32>) {{.*}} permutation = [0, 2, 1]
// CHECK: %[[KEG:.*]] = linalg.batch_matmul ins(%[[KT2]], %[[ETAG]] : tensor<4x6x4xf32>, tensor<4x4x6xf32>)
// CHECK: %[[DW:.*]] = arith.mulf %[[KEG]], %[[INVB_W]] : tensor<4x6x6xf32>
// CHECK: %[[W1:.*]] = arith.subf %arg6, %[[DW]] : tensor<4x6x6xf32>
// CHECK: %[[SEG:.*]] = linalg.reduce ins(%[[ETAG]] : tensor<4x4x6xf32>) {{.*}} dimensions = [1]
// CHECK: %[[DC:.*]] = arith.mulf %[[SEG]], %[[INVB_C]] : tensor<4x6xf32>
// CHECK: %[[C1:.*]] = arith.subf %arg7, %[[DC]] : tensor<4x6xf32>
// CHECK: return %[[O]], %[[W1]], %[[C1]] : tensor<4x4x6xf32>, tensor<4x6x6xf32>, tensor<4x6xf32>
//
// The partial chunk: 2-row masks, O only, no update of W or c.
// CHECK-LABEL: func.func private @ttt_linear_chunk_4x2x6_mb4(
// CHECK-SAME: %arg0: tensor<4x2x6xf32>, %arg1: tensor<4x2x6xf32>, %arg2: tensor<4x2x6xf32>, %arg3: tensor<4x2xf32>, %arg4: tensor<4x2x6xf32>, %arg5: tensor<4x2x6xf32>, %arg6: tensor<4x6x6xf32>, %arg7: tensor<4x6xf32>)
// CHECK-SAME: -> tensor<4x2x6xf32>
// CHECK-DAG: %[[TAU2:.*]] = arith.constant dense<{{\[\[}}1.000000e+00, 0.000000e+00], [5.000000e-01, 5.000000e-01]]> : tensor<2x2xf32>
// CHECK-DAG: %[[TRIL2:.*]] = arith.constant dense<{{\[\[}}1.000000e+00, 0.000000e+00], [1.000000e+00, 1.000000e+00]]> : tensor<2x2xf32>
// CHECK-NOT: arith.constant dense<2.500000e-01>
// CHECK: linalg.batch_matmul ins(%arg1, %arg6 : tensor<4x2x6xf32>, tensor<4x6x6xf32>)
// CHECK: linalg.broadcast ins(%[[TRIL2]] : tensor<2x2xf32>)
// CHECK: linalg.broadcast ins(%[[TAU2]] : tensor<2x2xf32>)
// CHECK: %[[KT:.*]] = linalg.transpose ins(%arg1 : tensor<4x2x6xf32>)
// CHECK: linalg.batch_matmul ins(%arg0, %[[KT]] : tensor<4x2x6xf32>, tensor<4x6x2xf32>)
// CHECK: linalg.batch_matmul ins(%arg0, %arg6 :
// CHECK: %[[O:.*]] = arith.addf %arg0, %{{.*}} : tensor<4x2x6xf32>
// CHECK-NEXT: return %[[O]] : tensor<4x2x6xf32>
func.func @ttt_linear_seqs(%x: tensor<12x12xf32>, %q: tensor<12x12xf32>, %k: tensor<12x12xf32>,
                           %v: tensor<12x12xf32>, %o: tensor<12x12xf32>,
                           %lrw: tensor<2x12xf32>, %lrb: tensor<2xf32>,
                           %ng: tensor<2x6xf32>, %nb: tensor<2x6xf32>,
                           %pg: tensor<12xf32>, %pb: tensor<12xf32>,
                           %w0: tensor<2x6x6xf32>, %b0: tensor<2x6xf32>) -> tensor<12x12xf32> {
  %y = bitttt.ttt_linear_seqs %x proj(%q, %k, %v, %o) lr(%lrw, %lrb)
      ttt_norm(%ng, %nb) post_norm(%pg, %pb) init(%w0, %b0)
      {base_lr = 1.5 : f32, mini_batch = 4 : i64, num_heads = 2 : i64, sequences = 2 : i64}
      : tensor<12x12xf32>, tensor<12x12xf32>, tensor<2x12xf32>, tensor<2xf32>,
        tensor<2x6xf32>, tensor<12xf32>, tensor<2x6x6xf32>
  return %y : tensor<12x12xf32>
}

// -----

// One sequence of 12 tokens, one head of f = 4, mini-batch 4: three full
// mini-batches. The first two commit (another follows) and call the same
// function, built once; the last does not commit, a function of its own.
// CHECK-LABEL: func.func @ttt_linear_reuse(
// CHECK: %[[W:.*]] = tensor.collapse_shape {{.*}} : tensor<1x1x4x4xf32> into tensor<1x4x4xf32>
// CHECK: %[[C:.*]] = tensor.collapse_shape {{.*}} : tensor<1x1x4xf32> into tensor<1x4xf32>
// CHECK: %[[R0:.*]]:3 = call @ttt_linear_chunk_1x4x4_mb4_commit(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[W]], %[[C]])
// CHECK: %[[O0:.*]] = tensor.insert_slice %[[R0]]#0 into %{{.*}}[0, 0, 0] [1, 4, 4] [1, 1, 1]
// CHECK: %[[R1:.*]]:3 = call @ttt_linear_chunk_1x4x4_mb4_commit(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[R0]]#1, %[[R0]]#2)
// CHECK: %[[O1:.*]] = tensor.insert_slice %[[R1]]#0 into %[[O0]][0, 4, 0] [1, 4, 4] [1, 1, 1]
// CHECK: %[[R2:.*]] = call @ttt_linear_chunk_1x4x4_mb4(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[R1]]#1, %[[R1]]#2) : ({{.*}}) -> tensor<1x4x4xf32>
// CHECK: tensor.insert_slice %[[R2]] into %[[O1]][0, 8, 0] [1, 4, 4] [1, 1, 1]
// CHECK-NOT: call
// CHECK: return
// CHECK-LABEL: func.func private @ttt_linear_chunk_1x4x4_mb4_commit(
// CHECK-SAME: -> (tensor<1x4x4xf32>, tensor<1x4x4xf32>, tensor<1x4xf32>)
// CHECK-LABEL: func.func private @ttt_linear_chunk_1x4x4_mb4(
// CHECK-SAME: -> tensor<1x4x4xf32>
func.func @ttt_linear_reuse(%x: tensor<12x4xf32>, %q: tensor<4x4xf32>, %k: tensor<4x4xf32>,
                            %v: tensor<4x4xf32>, %o: tensor<4x4xf32>,
                            %lrw: tensor<1x4xf32>, %lrb: tensor<1xf32>,
                            %ng: tensor<1x4xf32>, %nb: tensor<1x4xf32>,
                            %pg: tensor<4xf32>, %pb: tensor<4xf32>,
                            %w0: tensor<1x4x4xf32>, %b0: tensor<1x4xf32>) -> tensor<12x4xf32> {
  %y = bitttt.ttt_linear_seqs %x proj(%q, %k, %v, %o) lr(%lrw, %lrb)
      ttt_norm(%ng, %nb) post_norm(%pg, %pb) init(%w0, %b0)
      {base_lr = 1.0 : f32, mini_batch = 4 : i64, num_heads = 1 : i64, sequences = 1 : i64}
      : tensor<12x4xf32>, tensor<4x4xf32>, tensor<1x4xf32>, tensor<1xf32>,
        tensor<1x4xf32>, tensor<4xf32>, tensor<1x4x4xf32>
  return %y : tensor<12x4xf32>
}

// -----

// Seed TTT, 2 sequences of 6 tokens, d = 4, mini-batch 4: W starts at zero,
// so the first mini-batch's z is zero (no call, nothing inserted: the output
// starts as zeros) and its commit, inline, is W = inner_lr · k̂ᵀk̂. The
// partial second mini-batch is a call that reads z = k̂·Wᵀ and does not
// commit. act_bits reaches both BitLinears.
// CHECK-LABEL: func.func @ttt_seed_seqs(
// CHECK-DAG: %[[LR:.*]] = arith.constant dense<5.000000e-01> : tensor<2x4x4xf32>
// CHECK-DAG: %[[EPS:.*]] = arith.constant dense<9.99999997E-7> : tensor<12x4xf32>
// CHECK: %[[K:.*]] = bitttt.bitlinear %arg0, %arg1 {act_bits = 0 : i64} : tensor<12x8xf32>, tensor<4x8xf32> -> tensor<12x4xf32>
// k̂ = k / (‖k‖ + 1e-6).
// CHECK: arith.mulf %[[K]], %[[K]]
// CHECK: linalg.reduce
// CHECK: %[[NORM:.*]] = math.sqrt
// CHECK: %[[DEN:.*]] = arith.addf %[[NORM]], %[[EPS]]
// CHECK: %[[KHAT:.*]] = arith.divf %[[K]], %[[DEN]] : tensor<12x4xf32>
// CHECK: %[[KH:.*]] = tensor.expand_shape %[[KHAT]] {{\[\[}}0, 1], [2]] output_shape [2, 6, 4]
// CHECK: %[[ZEROS:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<2x6x4xf32>)
// CHECK: %[[K0:.*]] = tensor.extract_slice %[[KH]][0, 0, 0] [2, 4, 4] [1, 1, 1]
// CHECK-NOT: tensor.insert_slice
// CHECK-NOT: call
// CHECK: %[[K0T:.*]] = linalg.transpose ins(%[[K0]] : tensor<2x4x4xf32>) {{.*}} permutation = [0, 2, 1]
// CHECK: %[[GW:.*]] = linalg.batch_matmul ins(%[[K0T]], %[[K0]] : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
// CHECK: %[[W1:.*]] = arith.mulf %[[GW]], %[[LR]] : tensor<2x4x4xf32>
// CHECK-NOT: tensor.insert_slice
// CHECK: %[[K1:.*]] = tensor.extract_slice %[[KH]][0, 4, 0] [2, 2, 4] [1, 1, 1]
// CHECK: %[[Z1:.*]] = call @ttt_seed_chunk_2x2x4_lr0x3f000000(%[[K1]], %[[W1]]) : (tensor<2x2x4xf32>, tensor<2x4x4xf32>) -> tensor<2x2x4xf32>
// CHECK: %[[OUT:.*]] = tensor.insert_slice %[[Z1]] into %[[ZEROS]][0, 4, 0] [2, 2, 4] [1, 1, 1]
// CHECK-NOT: call
// CHECK-NOT: linalg.batch_matmul
// CHECK: %[[ZALL:.*]] = tensor.collapse_shape %[[OUT]] {{\[\[}}0, 1], [2]] : tensor<2x6x4xf32> into tensor<12x4xf32>
// CHECK: %[[Y:.*]] = bitttt.bitlinear %[[ZALL]], %arg2 {act_bits = 0 : i64} : tensor<12x4xf32>, tensor<8x4xf32> -> tensor<12x8xf32>
// CHECK-NEXT: return %[[Y]]
// The chunk (k̂, W) → z = k̂·Wᵀ, named by its shape and inner_lr's bits
// (0.5 = 0x3f000000).
// CHECK-LABEL: func.func private @ttt_seed_chunk_2x2x4_lr0x3f000000(%arg0: tensor<2x2x4xf32>, %arg1: tensor<2x4x4xf32>) -> tensor<2x2x4xf32> {
// CHECK: %[[WT:.*]] = linalg.transpose ins(%arg1 : tensor<2x4x4xf32>) {{.*}} permutation = [0, 2, 1]
// CHECK: %[[Z:.*]] = linalg.batch_matmul ins(%arg0, %[[WT]] : tensor<2x2x4xf32>, tensor<2x4x4xf32>)
// CHECK-NEXT: return %[[Z]] : tensor<2x2x4xf32>
func.func @ttt_seed_seqs(%x: tensor<12x8xf32>, %down: tensor<4x8xf32>, %up: tensor<8x4xf32>) -> tensor<12x8xf32> {
  %y = bitttt.ttt_seed_seqs %x proj(%down, %up)
      {inner_lr = 5.0e-01 : f32, mini_batch = 4 : i64, sequences = 2 : i64, act_bits = 0 : i64}
      : tensor<12x8xf32>, tensor<4x8xf32>, tensor<8x4xf32>
  return %y : tensor<12x8xf32>
}

// -----

// Seed TTT, one sequence of 16 tokens, mini-batch 4, inner_lr 0.25
// (0x3e800000): the first mini-batch inline, the second and third call one
// committing function (z, W' = W − inner_lr · (z − k̂)ᵀk̂), the last one that
// does not commit.
// CHECK-LABEL: func.func @ttt_seed_reuse(
// CHECK: %[[LR:.*]] = arith.constant dense<2.500000e-01> : tensor<1x4x4xf32>
// CHECK: %[[GW:.*]] = linalg.batch_matmul
// CHECK: %[[W1:.*]] = arith.mulf %[[GW]], %[[LR]] : tensor<1x4x4xf32>
// CHECK: %[[K1:.*]] = tensor.extract_slice %{{.*}}[0, 4, 0] [1, 4, 4] [1, 1, 1]
// CHECK: %[[R1:.*]]:2 = call @ttt_seed_chunk_1x4x4_lr0x3e800000_commit(%[[K1]], %[[W1]]) : (tensor<1x4x4xf32>, tensor<1x4x4xf32>) -> (tensor<1x4x4xf32>, tensor<1x4x4xf32>)
// CHECK: %[[O1:.*]] = tensor.insert_slice %[[R1]]#0 into %{{.*}}[0, 4, 0] [1, 4, 4] [1, 1, 1]
// CHECK: %[[K2:.*]] = tensor.extract_slice %{{.*}}[0, 8, 0] [1, 4, 4] [1, 1, 1]
// CHECK: %[[R2:.*]]:2 = call @ttt_seed_chunk_1x4x4_lr0x3e800000_commit(%[[K2]], %[[R1]]#1)
// CHECK: %[[O2:.*]] = tensor.insert_slice %[[R2]]#0 into %[[O1]][0, 8, 0] [1, 4, 4] [1, 1, 1]
// CHECK: %[[K3:.*]] = tensor.extract_slice %{{.*}}[0, 12, 0] [1, 4, 4] [1, 1, 1]
// CHECK: %[[Z3:.*]] = call @ttt_seed_chunk_1x4x4_lr0x3e800000(%[[K3]], %[[R2]]#1) : (tensor<1x4x4xf32>, tensor<1x4x4xf32>) -> tensor<1x4x4xf32>
// CHECK: tensor.insert_slice %[[Z3]] into %[[O2]][0, 12, 0] [1, 4, 4] [1, 1, 1]
// CHECK-NOT: call
// CHECK: return
// CHECK-LABEL: func.func private @ttt_seed_chunk_1x4x4_lr0x3e800000_commit(%arg0: tensor<1x4x4xf32>, %arg1: tensor<1x4x4xf32>) -> (tensor<1x4x4xf32>, tensor<1x4x4xf32>) {
// CHECK-DAG: %[[CLR:.*]] = arith.constant dense<2.500000e-01> : tensor<1x4x4xf32>
// CHECK: %[[WT:.*]] = linalg.transpose ins(%arg1 : tensor<1x4x4xf32>) {{.*}} permutation = [0, 2, 1]
// CHECK: %[[Z:.*]] = linalg.batch_matmul ins(%arg0, %[[WT]] : tensor<1x4x4xf32>, tensor<1x4x4xf32>)
// CHECK: %[[R:.*]] = arith.subf %[[Z]], %arg0 : tensor<1x4x4xf32>
// CHECK: %[[RT:.*]] = linalg.transpose ins(%[[R]] : tensor<1x4x4xf32>) {{.*}} permutation = [0, 2, 1]
// CHECK: %[[G:.*]] = linalg.batch_matmul ins(%[[RT]], %arg0 : tensor<1x4x4xf32>, tensor<1x4x4xf32>)
// CHECK: %[[STEP:.*]] = arith.mulf %[[G]], %[[CLR]] : tensor<1x4x4xf32>
// CHECK: %[[W2:.*]] = arith.subf %arg1, %[[STEP]] : tensor<1x4x4xf32>
// CHECK-NEXT: return %[[Z]], %[[W2]] : tensor<1x4x4xf32>, tensor<1x4x4xf32>
// CHECK-LABEL: func.func private @ttt_seed_chunk_1x4x4_lr0x3e800000(%arg0: tensor<1x4x4xf32>, %arg1: tensor<1x4x4xf32>) -> tensor<1x4x4xf32> {
// CHECK: %[[WT:.*]] = linalg.transpose ins(%arg1 : tensor<1x4x4xf32>)
// CHECK: %[[Z:.*]] = linalg.batch_matmul ins(%arg0, %[[WT]] :
// CHECK-NEXT: return %[[Z]] : tensor<1x4x4xf32>
func.func @ttt_seed_reuse(%x: tensor<16x8xf32>, %down: tensor<4x8xf32>, %up: tensor<8x4xf32>) -> tensor<16x8xf32> {
  %y = bitttt.ttt_seed_seqs %x proj(%down, %up)
      {inner_lr = 2.5e-01 : f32, mini_batch = 4 : i64, sequences = 1 : i64}
      : tensor<16x8xf32>, tensor<4x8xf32>, tensor<8x4xf32>
  return %y : tensor<16x8xf32>
}

// -----

// SwiGLU: gate and up BitLinears, silu_mul, down BitLinear (act_bits kept).
// CHECK-LABEL: func.func @swiglu(
// CHECK-NEXT: %[[G:.*]] = bitttt.bitlinear %arg0, %arg1 {act_bits = 0 : i64} : tensor<6x8xf32>, tensor<16x8xf32> -> tensor<6x16xf32>
// CHECK-NEXT: %[[U:.*]] = bitttt.bitlinear %arg0, %arg2 {act_bits = 0 : i64} : tensor<6x8xf32>, tensor<16x8xf32> -> tensor<6x16xf32>
// CHECK-NEXT: %[[H:.*]] = bitttt.silu_mul %[[G]], %[[U]] : tensor<6x16xf32>
// CHECK-NEXT: %[[Y:.*]] = bitttt.bitlinear %[[H]], %arg3 {act_bits = 0 : i64} : tensor<6x16xf32>, tensor<8x16xf32> -> tensor<6x8xf32>
// CHECK-NEXT: return %[[Y]]
func.func @swiglu(%x: tensor<6x8xf32>, %g: tensor<16x8xf32>, %u: tensor<16x8xf32>, %d: tensor<8x16xf32>) -> tensor<6x8xf32> {
  %y = bitttt.swiglu %x, %g, %u, %d {act_bits = 0 : i64} : tensor<6x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
  return %y : tensor<6x8xf32>
}

// -----

// The inference forms are not this pass's: ttt_linear and a BitLinear stay.
// CHECK-LABEL: func.func @inference_untouched(
// CHECK-NEXT: bitttt.bitlinear
// CHECK-NEXT: return
func.func @inference_untouched(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>) -> tensor<4x16xf32> {
  %y = bitttt.bitlinear %x, %w : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}
