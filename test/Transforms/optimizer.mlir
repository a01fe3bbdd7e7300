// RUN: bitttt-opt %s --bitttt-optimizer --split-input-file --verify-diagnostics | FileCheck %s
// RUN: bitttt-opt %s --bitttt-optimizer="max-grad-norm=0 beta1=0.8 beta2=0.99 eps=1e-7 weight-decay=0.25" --split-input-file --verify-diagnostics | FileCheck %s --check-prefix=OPTS
// RUN: bitttt-opt %s --bitttt-optimizer="max-grad-norm=0.5" --split-input-file --verify-diagnostics | FileCheck %s --check-prefix=CLIP
// The AdamW numerics: bitttt-lower-train (lower-train.mlir) and
// python/tests against torch.optim.AdamW; here, the functions this pass
// builds and the per-parameter rules of docs/training.md.

// A hand-written @train_grad: a matrix, a norm gain and TTT's b0 (rank 2,
// but the fast-weight init: no weight decay), with the data argument
// between parameters.
// CHECK-LABEL: func.func @train_grad(
//
// @train_apply(params..., m..., v..., grads..., step, lr) ->
//   (grad_norm, params'..., m'..., v'...), in @train_grad's gradient order.
// CHECK-LABEL: func.func @train_apply(
// CHECK-SAME: %arg0: tensor<4x8xf32> {bitttt.param = "layers.0.mlp.up_proj.weight"},
// CHECK-SAME: %arg1: tensor<8xf32> {bitttt.param = "norm_f.weight"},
// CHECK-SAME: %arg2: tensor<2x4xf32> {bitttt.param = "layers.0.ttt.b0"},
// CHECK-SAME: %arg3: tensor<4x8xf32> {bitttt.adam_m = "layers.0.mlp.up_proj.weight"},
// CHECK-SAME: %arg4: tensor<8xf32> {bitttt.adam_m = "norm_f.weight"},
// CHECK-SAME: %arg5: tensor<2x4xf32> {bitttt.adam_m = "layers.0.ttt.b0"},
// CHECK-SAME: %arg6: tensor<4x8xf32> {bitttt.adam_v = "layers.0.mlp.up_proj.weight"},
// CHECK-SAME: %arg7: tensor<8xf32> {bitttt.adam_v = "norm_f.weight"},
// CHECK-SAME: %arg8: tensor<2x4xf32> {bitttt.adam_v = "layers.0.ttt.b0"},
// CHECK-SAME: %arg9: tensor<4x8xf32> {bitttt.grad = "layers.0.mlp.up_proj.weight"},
// CHECK-SAME: %arg10: tensor<8xf32> {bitttt.grad = "norm_f.weight"},
// CHECK-SAME: %arg11: tensor<2x4xf32> {bitttt.grad = "layers.0.ttt.b0"},
// CHECK-SAME: %arg12: tensor<i64> {bitttt.io = "step"},
// CHECK-SAME: %arg13: tensor<f32> {bitttt.io = "lr"})
// CHECK-SAME: -> (tensor<f32> {bitttt.io = "grad_norm"},
// CHECK-SAME: tensor<4x8xf32> {bitttt.param = "layers.0.mlp.up_proj.weight"}, tensor<8xf32> {bitttt.param = "norm_f.weight"}, tensor<2x4xf32> {bitttt.param = "layers.0.ttt.b0"},
// CHECK-SAME: tensor<4x8xf32> {bitttt.adam_m = "layers.0.mlp.up_proj.weight"}, tensor<8xf32> {bitttt.adam_m = "norm_f.weight"}, tensor<2x4xf32> {bitttt.adam_m = "layers.0.ttt.b0"},
// CHECK-SAME: tensor<4x8xf32> {bitttt.adam_v = "layers.0.mlp.up_proj.weight"}, tensor<8xf32> {bitttt.adam_v = "norm_f.weight"}, tensor<2x4xf32> {bitttt.adam_v = "layers.0.ttt.b0"})
// The global norm sqrt(Σ g²) over every parameter (whole-tensor sums).
// CHECK: %[[SQ0:.*]] = arith.mulf %arg9, %arg9 : tensor<4x8xf32>
// CHECK: %[[S0:.*]] = linalg.reduce ins(%[[SQ0]] : tensor<4x8xf32>) outs(%{{.*}} : tensor<f32>) dimensions = [0, 1]
// CHECK: %[[SQ1:.*]] = arith.mulf %arg10, %arg10 : tensor<8xf32>
// CHECK: %[[S1:.*]] = linalg.reduce ins(%[[SQ1]] : tensor<8xf32>) outs(%{{.*}} : tensor<f32>) dimensions = [0]
// CHECK: %[[S01:.*]] = arith.addf %[[S0]], %[[S1]] : tensor<f32>
// CHECK: %[[SQ2:.*]] = arith.mulf %arg11, %arg11 : tensor<2x4xf32>
// CHECK: %[[S2:.*]] = linalg.reduce ins(%[[SQ2]] : tensor<2x4xf32>) outs(%{{.*}} : tensor<f32>) dimensions = [0, 1]
// CHECK: %[[SUM:.*]] = arith.addf %[[S01]], %[[S2]] : tensor<f32>
// CHECK: %[[NORM:.*]] = math.sqrt %[[SUM]] : tensor<f32>
// The clip factor min(max_norm / (norm + 1e-6), 1), as clip_grad_norm_.
// CHECK: %[[N:.*]] = tensor.extract %[[NORM]][] : tensor<f32>
// CHECK: %[[MAX:.*]] = arith.constant 1.000000e+00 : f32
// CHECK: %[[TINY:.*]] = arith.constant 9.99999997E-7 : f32
// CHECK: %[[DEN:.*]] = arith.addf %[[N]], %[[TINY]] : f32
// CHECK: %[[RATIO:.*]] = arith.divf %[[MAX]], %[[DEN]] : f32
// CHECK: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK: %[[FACTOR:.*]] = arith.minimumf %[[RATIO]], %[[ONE]] : f32
// CHECK: %[[STEP:.*]] = tensor.extract %arg12[] : tensor<i64>
// CHECK: %[[LR:.*]] = tensor.extract %arg13[] : tensor<f32>
// One fused AdamW per parameter on the clipped gradient. The matrix decays
// by the default 0.1 (the printer leaves default-valued attributes out:
// beta1 0.9, beta2 0.95, eps 1e-8, weight_decay 0.1); the norm gain and b0
// do not.
// CHECK: %[[C0:.*]] = linalg.fill ins(%[[FACTOR]] : f32) outs(%{{.*}} : tensor<4x8xf32>)
// CHECK: %[[G0:.*]] = arith.mulf %arg9, %[[C0]] : tensor<4x8xf32>
// CHECK: %[[P0:[a-z_0-9]+]], %[[M0:[a-z_0-9]+]], %[[V0:[a-z_0-9]+]] = bitttt.adamw %arg0, %[[G0]], %arg3, %arg6 lr(%[[LR]]) step(%[[STEP]]) : tensor<4x8xf32>
// CHECK: %[[C1:.*]] = linalg.fill ins(%[[FACTOR]] : f32) outs(%{{.*}} : tensor<8xf32>)
// CHECK: %[[G1:.*]] = arith.mulf %arg10, %[[C1]] : tensor<8xf32>
// CHECK: %[[P1:[a-z_0-9]+]], %[[M1:[a-z_0-9]+]], %[[V1:[a-z_0-9]+]] = bitttt.adamw %arg1, %[[G1]], %arg4, %arg7 lr(%[[LR]]) step(%[[STEP]]) {weight_decay = 0.000000e+00 : f64} : tensor<8xf32>
// CHECK: %[[C2:.*]] = linalg.fill ins(%[[FACTOR]] : f32) outs(%{{.*}} : tensor<2x4xf32>)
// CHECK: %[[G2:.*]] = arith.mulf %arg11, %[[C2]] : tensor<2x4xf32>
// CHECK: %[[P2:[a-z_0-9]+]], %[[M2:[a-z_0-9]+]], %[[V2:[a-z_0-9]+]] = bitttt.adamw %arg2, %[[G2]], %arg5, %arg8 lr(%[[LR]]) step(%[[STEP]]) {weight_decay = 0.000000e+00 : f64} : tensor<2x4xf32>
// CHECK-NOT: bitttt.adamw
// grad_norm is the norm before clipping.
// CHECK: return %[[NORM]], %[[P0]], %[[P1]], %[[P2]], %[[M0]], %[[M1]], %[[M2]], %[[V0]], %[[V1]], %[[V2]] :
//
// @train_step(params..., m..., v..., step, lr, data...) ->
//   (loss, grad_norm, params'..., m'..., v'...): both calls.
// CHECK-LABEL: func.func @train_step(
// CHECK-SAME: %arg0: tensor<4x8xf32> {bitttt.param = "layers.0.mlp.up_proj.weight"},
// CHECK-SAME: %arg2: tensor<2x4xf32> {bitttt.param = "layers.0.ttt.b0"},
// CHECK-SAME: %arg3: tensor<4x8xf32> {bitttt.adam_m = "layers.0.mlp.up_proj.weight"},
// CHECK-SAME: %arg8: tensor<2x4xf32> {bitttt.adam_v = "layers.0.ttt.b0"},
// CHECK-SAME: %arg9: tensor<i64> {bitttt.io = "step"},
// CHECK-SAME: %arg10: tensor<f32> {bitttt.io = "lr"},
// CHECK-SAME: %arg11: tensor<2x7xi32> {bitttt.io = "tokens"})
// CHECK-SAME: -> (tensor<f32> {bitttt.io = "loss"}, tensor<f32> {bitttt.io = "grad_norm"},
// CHECK-SAME: tensor<4x8xf32> {bitttt.param = "layers.0.mlp.up_proj.weight"},
// CHECK-SAME: tensor<2x4xf32> {bitttt.adam_v = "layers.0.ttt.b0"}) {
// @train_grad gets its parameters and data interleaved as it declares them.
// CHECK-NEXT: %[[G:.*]]:4 = call @train_grad(%arg0, %arg11, %arg1, %arg2)
// CHECK-NEXT: %[[A:.*]]:10 = call @train_apply(%arg0, %arg1, %arg2, %arg3, %arg4, %arg5, %arg6, %arg7, %arg8, %[[G]]#1, %[[G]]#2, %[[G]]#3, %arg9, %arg10)
// CHECK-NEXT: return %[[G]]#0, %[[A]]#0, %[[A]]#1, %[[A]]#2, %[[A]]#3, %[[A]]#4, %[[A]]#5, %[[A]]#6, %[[A]]#7, %[[A]]#8, %[[A]]#9 :

// Options: no clipping (max-grad-norm=0: the norm is still computed and
// returned, the gradients go in as they are), β1, β2, ε and the decay on
// the attributes.
// OPTS-LABEL: func.func @train_apply(
// OPTS: %[[NORM:.*]] = math.sqrt
// OPTS-NOT: arith.minimumf
// OPTS-NOT: arith.divf
// OPTS: bitttt.adamw %arg0, %arg9, %arg3, %arg6 lr(%{{.*}}) step(%{{.*}}) {beta1 = 8.000000e-01 : f64, beta2 = 0.98999999999999999 : f64, eps = 9.9999999999999995E-8 : f64, weight_decay = 2.500000e-01 : f64} : tensor<4x8xf32>
// OPTS: bitttt.adamw %arg1, %arg10, %arg4, %arg7 lr(%{{.*}}) step(%{{.*}}) {beta1 = 8.000000e-01 : f64, beta2 = 0.98999999999999999 : f64, eps = 9.9999999999999995E-8 : f64, weight_decay = 0.000000e+00 : f64} : tensor<8xf32>
// OPTS: bitttt.adamw %arg2, %arg11, %arg5, %arg8 lr(%{{.*}}) step(%{{.*}}) {beta1 = 8.000000e-01 : f64, beta2 = 0.98999999999999999 : f64, eps = 9.9999999999999995E-8 : f64, weight_decay = 0.000000e+00 : f64} : tensor<2x4xf32>
// OPTS: return %[[NORM]],
// OPTS-LABEL: func.func @train_step(

// max-grad-norm is the numerator of the clip factor.
// CLIP-LABEL: func.func @train_apply(
// CLIP: %[[N:.*]] = tensor.extract
// CLIP: %[[MAX:.*]] = arith.constant 5.000000e-01 : f32
// CLIP: arith.addf %[[N]], %{{.*}} : f32
// CLIP: %[[RATIO:.*]] = arith.divf %[[MAX]], %{{.*}} : f32
// CLIP: arith.minimumf %[[RATIO]], %{{.*}} : f32
func.func @train_grad(%w: tensor<4x8xf32> {bitttt.tensor = "layers.0.mlp.up_proj.weight"},
                      %tok: tensor<2x7xi32> {bitttt.io = "tokens"},
                      %g: tensor<8xf32> {bitttt.tensor = "norm_f.weight"},
                      %b0: tensor<2x4xf32> {bitttt.tensor = "layers.0.ttt.b0"})
    -> (tensor<f32> {bitttt.io = "loss"},
        tensor<4x8xf32> {bitttt.grad = "layers.0.mlp.up_proj.weight"},
        tensor<8xf32> {bitttt.grad = "norm_f.weight"},
        tensor<2x4xf32> {bitttt.grad = "layers.0.ttt.b0"}) {
  %l = arith.constant dense<1.0> : tensor<f32>
  return %l, %w, %g, %b0 : tensor<f32>, tensor<4x8xf32>, tensor<8xf32>, tensor<2x4xf32>
}

// -----

// The rest of docs/training.md's rule: embed and lr_proj.weight are
// matrices (decay); ttt_norm's per-head gain and bias are rank 2 but do not
// decay; W0 is rank 3.
// CHECK-LABEL: func.func @train_apply(
// CHECK: bitttt.adamw %arg0, {{.*}} step(%{{[a-z_0-9]+}}) : tensor<16x4xf32>
// CHECK: bitttt.adamw %arg1, {{.*}} step(%{{[a-z_0-9]+}}) : tensor<2x4xf32>
// CHECK: bitttt.adamw %arg2, {{.*}} {weight_decay = 0.000000e+00 : f64} : tensor<2x2xf32>
// CHECK: bitttt.adamw %arg3, {{.*}} {weight_decay = 0.000000e+00 : f64} : tensor<2x2xf32>
// CHECK: bitttt.adamw %arg4, {{.*}} {weight_decay = 0.000000e+00 : f64} : tensor<2x2x2xf32>
func.func @train_grad(%e: tensor<16x4xf32> {bitttt.tensor = "embed.weight"},
                      %lw: tensor<2x4xf32> {bitttt.tensor = "layers.0.ttt.lr_proj.weight"},
                      %ng: tensor<2x2xf32> {bitttt.tensor = "layers.0.ttt.ttt_norm.weight"},
                      %nb: tensor<2x2xf32> {bitttt.tensor = "layers.0.ttt.ttt_norm.bias"},
                      %w0: tensor<2x2x2xf32> {bitttt.tensor = "layers.0.ttt.W0"})
    -> (tensor<f32> {bitttt.io = "loss"},
        tensor<16x4xf32> {bitttt.grad = "embed.weight"},
        tensor<2x4xf32> {bitttt.grad = "layers.0.ttt.lr_proj.weight"},
        tensor<2x2xf32> {bitttt.grad = "layers.0.ttt.ttt_norm.weight"},
        tensor<2x2xf32> {bitttt.grad = "layers.0.ttt.ttt_norm.bias"},
        tensor<2x2x2xf32> {bitttt.grad = "layers.0.ttt.W0"}) {
  %l = arith.constant dense<1.0> : tensor<f32>
  return %l, %e, %lw, %ng, %nb, %w0 : tensor<f32>, tensor<16x4xf32>, tensor<2x4xf32>, tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2x2xf32>
}

// -----

// expected-error @+1 {{bitttt-optimizer: no @train_grad (run bitttt-autodiff first)}}
module {
  func.func @train_loss(%w: tensor<4xf32> {bitttt.tensor = "w"}) -> tensor<f32> {
    %l = arith.constant dense<1.0> : tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// expected-error @+1 {{bitttt-optimizer: a symbol 'train_step' already exists}}
module {
  func.func @train_grad(%w: tensor<4xf32> {bitttt.tensor = "w"})
      -> (tensor<f32> {bitttt.io = "loss"}, tensor<4xf32> {bitttt.grad = "w"}) {
    %l = arith.constant dense<1.0> : tensor<f32>
    return %l, %w : tensor<f32>, tensor<4xf32>
  }
  func.func private @train_step()
}

// -----

// expected-error @+1 {{bitttt-optimizer: result 1 of @train_grad has no 'bitttt.grad' name}}
func.func @train_grad(%w: tensor<4xf32> {bitttt.tensor = "w"}) -> (tensor<f32> {bitttt.io = "loss"}, tensor<4xf32>) {
  %l = arith.constant dense<1.0> : tensor<f32>
  return %l, %w : tensor<f32>, tensor<4xf32>
}

// -----

// expected-error @+1 {{bitttt-optimizer: every 'bitttt.tensor' argument of @train_grad must have a gradient result}}
func.func @train_grad(%w: tensor<4xf32> {bitttt.tensor = "w"}, %u: tensor<4xf32> {bitttt.tensor = "u"})
    -> (tensor<f32> {bitttt.io = "loss"}, tensor<4xf32> {bitttt.grad = "w"}) {
  %l = arith.constant dense<1.0> : tensor<f32>
  return %l, %w : tensor<f32>, tensor<4xf32>
}
