// RUN: bitttt-opt %s --bitttt-autodiff --split-input-file --verify-diagnostics | FileCheck %s
// RUN: bitttt-opt %s --bitttt-autodiff=keep-forward=true --split-input-file --verify-diagnostics | FileCheck %s --check-prefix=KEEP
// RUN: bitttt-opt %s --bitttt-autodiff=grad-func=my_grad --split-input-file --verify-diagnostics | FileCheck %s --check-prefix=NAMED
// RUN: not bitttt-opt %s --bitttt-autodiff=func=nope --split-input-file 2>&1 | FileCheck %s --check-prefix=NOFUNC
// A loss that is not one f32 (scalar or 0-d tensor):
// RUN: bitttt-opt %S/Inputs/autodiff-bad-loss.mlir --bitttt-autodiff --split-input-file --verify-diagnostics
// The message names the user's function whatever the gradient function is
// called:
// RUN: bitttt-opt %S/Inputs/autodiff-bad-loss.mlir --bitttt-autodiff=grad-func=my_grad --split-input-file --verify-diagnostics
// The VJPs' numerics are checked against PyTorch in python/tests; here, the
// signature of the gradient function and the structure of the rules.

// NOFUNC: error: bitttt-autodiff: no function 'nope' to differentiate

// The gradient function: the loss function's arguments, then (loss, one
// gradient per parameter in argument order — not sorted by name — each
// marked with the parameter's name). Data arguments (no bitttt.tensor) get
// no gradient. %w is used twice, so its two cotangents are summed; %unused
// gets a zero gradient.
// CHECK-LABEL: func.func @train_grad(
// CHECK-SAME: %arg0: tensor<4xf32> {bitttt.tensor = "zeta.weight"},
// CHECK-SAME: %arg1: tensor<4xf32>,
// CHECK-SAME: %arg2: tensor<4xf32> {bitttt.tensor = "alpha.unused"})
// CHECK-SAME: -> (tensor<f32> {bitttt.io = "loss"}, tensor<4xf32> {bitttt.grad = "zeta.weight"}, tensor<4xf32> {bitttt.grad = "alpha.unused"})
// The forward stays (the backward reads its values).
// CHECK: %[[SQ:.*]] = arith.mulf %arg0, %arg0 : tensor<4xf32>
// CHECK: %[[PROD:.*]] = arith.mulf %[[SQ]], %arg1 : tensor<4xf32>
// CHECK: %[[LOSS:.*]] = linalg.reduce ins(%[[PROD]] : tensor<4xf32>)
// Seed dloss = 1, then the VJPs in reverse order.
// CHECK: %[[ONE:.*]] = arith.constant dense<1.000000e+00> : tensor<f32>
// CHECK: %[[DPROD:.*]] = linalg.broadcast ins(%[[ONE]] : tensor<f32>) {{.*}} dimensions = [0]
// CHECK: %[[DSQ:.*]] = arith.mulf %[[DPROD]], %arg1 : tensor<4xf32>
// CHECK: %[[DW1:.*]] = arith.mulf %[[DSQ]], %arg0 : tensor<4xf32>
// CHECK: %[[DW2:.*]] = arith.mulf %[[DSQ]], %arg0 : tensor<4xf32>
// CHECK: %[[DW:.*]] = arith.addf %[[DW1]], %[[DW2]] : tensor<4xf32>
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[DU:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.*}} : tensor<4xf32>) -> tensor<4xf32>
// CHECK: return %[[LOSS]], %[[DW]], %[[DU]] : tensor<f32>, tensor<4xf32>, tensor<4xf32>
// The loss function is replaced...
// CHECK-NOT: func.func @train_loss
// ...unless keep-forward=true: both, the loss function unchanged.
// KEEP-LABEL: func.func @train_loss(
// KEEP-SAME: -> tensor<f32> {
// KEEP: return %{{.*}} : tensor<f32>
// KEEP-LABEL: func.func @train_grad(
// KEEP-SAME: -> (tensor<f32> {bitttt.io = "loss"}, tensor<4xf32> {bitttt.grad = "zeta.weight"}, tensor<4xf32> {bitttt.grad = "alpha.unused"})
// grad-func names the gradient function.
// NAMED-NOT: @train_grad
// NAMED-LABEL: func.func @my_grad(
// NAMED-SAME: -> (tensor<f32> {bitttt.io = "loss"}, tensor<4xf32> {bitttt.grad = "zeta.weight"}, tensor<4xf32> {bitttt.grad = "alpha.unused"})
// NAMED-NOT: @train_loss
func.func @train_loss(%w: tensor<4xf32> {bitttt.tensor = "zeta.weight"}, %x: tensor<4xf32>,
                      %u: tensor<4xf32> {bitttt.tensor = "alpha.unused"}) -> tensor<f32> {
  %a = arith.mulf %w, %w : tensor<4xf32>
  %b = arith.mulf %a, %x : tensor<4xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %init = linalg.fill ins(%z : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %s = linalg.reduce ins(%b : tensor<4xf32>) outs(%init : tensor<f32>) dimensions = [0]
    (%in: f32, %acc: f32) {
      %t = arith.addf %in, %acc : f32
      linalg.yield %t : f32
    }
  return %s : tensor<f32>
}

// -----

// BitLinear's straight-through estimator: dx = dy·(γ·Wq), dW = dyᵀ·(xq/s).
// CHECK-LABEL: func.func @train_grad(
// CHECK-SAME: %arg0: tensor<4x8xf32>, %arg1: tensor<16x8xf32> {bitttt.tensor = "layers.0.mlp.up_proj.weight"})
// CHECK-SAME: -> (tensor<f32> {bitttt.io = "loss"}, tensor<16x8xf32> {bitttt.grad = "layers.0.mlp.up_proj.weight"})
// CHECK: bitttt.bitlinear %arg0, %arg1 : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32>
// CHECK: %[[DY:.*]] = linalg.broadcast ins(%{{.*}} : tensor<f32>) outs(%{{.*}} : tensor<4x16xf32>) dimensions = [0, 1]
// dx: the dequantized ternary weight γ·Wq.
// CHECK: %[[CODES:.*]], %[[GAMMA:.*]] = bitttt.weight_quant %arg1 : tensor<16x8xf32> -> tensor<16x8xi8>
// CHECK: %[[WF:.*]] = arith.sitofp %[[CODES]] : tensor<16x8xi8> to tensor<16x8xf32>
// CHECK: %[[GB:.*]] = linalg.fill ins(%[[GAMMA]] : f32) outs(%{{.*}} : tensor<16x8xf32>)
// CHECK: %[[WDQ:.*]] = arith.mulf %[[WF]], %[[GB]] : tensor<16x8xf32>
// CHECK: linalg.matmul ins(%[[DY]], %[[WDQ]] : tensor<4x16xf32>, tensor<16x8xf32>) outs(%{{.*}} : tensor<4x8xf32>)
// dW: the effective (quantized) input xq/s.
// CHECK: %[[XQ:.*]], %[[S:.*]] = bitttt.act_quant %arg0 : tensor<4x8xf32> -> tensor<4x8xi8>, tensor<4xf32>
// CHECK: %[[XF:.*]] = arith.sitofp %[[XQ]] : tensor<4x8xi8> to tensor<4x8xf32>
// CHECK: %[[SB:.*]] = linalg.broadcast ins(%[[S]] : tensor<4xf32>) outs(%{{.*}} : tensor<4x8xf32>) dimensions = [1]
// CHECK: %[[XE:.*]] = arith.divf %[[XF]], %[[SB]] : tensor<4x8xf32>
// CHECK: %[[DYT:.*]] = linalg.transpose ins(%[[DY]] : tensor<4x16xf32>) outs(%{{.*}} : tensor<16x4xf32>) permutation = [1, 0]
// CHECK: %[[DW:.*]] = linalg.matmul ins(%[[DYT]], %[[XE]] : tensor<16x4xf32>, tensor<4x8xf32>) outs(%{{.*}} : tensor<16x8xf32>)
// CHECK: return %{{.*}}, %[[DW]] : tensor<f32>, tensor<16x8xf32>
func.func @train_loss(%x: tensor<4x8xf32>,
                      %w: tensor<16x8xf32> {bitttt.tensor = "layers.0.mlp.up_proj.weight"}) -> tensor<f32> {
  %y = bitttt.bitlinear %x, %w : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %init = linalg.fill ins(%z : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %s = linalg.reduce ins(%y : tensor<4x16xf32>) outs(%init : tensor<f32>) dimensions = [0, 1]
    (%in: f32, %acc: f32) {
      %t = arith.addf %in, %acc : f32
      linalg.yield %t : f32
    }
  return %s : tensor<f32>
}

// -----

// act_bits = 0: the input is not quantized, dW = dyᵀ·x.
// CHECK-LABEL: func.func @train_grad(
// CHECK: bitttt.weight_quant %arg1
// CHECK-NOT: bitttt.act_quant
// CHECK: %[[DYT:.*]] = linalg.transpose
// CHECK: %[[DW:.*]] = linalg.matmul ins(%[[DYT]], %arg0 : tensor<16x4xf32>, tensor<4x8xf32>)
// CHECK: return %{{.*}}, %[[DW]]
func.func @train_loss(%x: tensor<4x8xf32>,
                      %w: tensor<16x8xf32> {bitttt.tensor = "w"}) -> tensor<f32> {
  %y = bitttt.bitlinear %x, %w {act_bits = 0} : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %init = linalg.fill ins(%z : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %s = linalg.reduce ins(%y : tensor<4x16xf32>) outs(%init : tensor<f32>) dimensions = [0, 1]
    (%in: f32, %acc: f32) {
      %t = arith.addf %in, %acc : f32
      linalg.yield %t : f32
    }
  return %s : tensor<f32>
}

// -----

// A scalar f32 loss (cross-entropy) through the layer-level rules: the LM
// head (dx = g·W, dW = gᵀ·x), RMSNorm (row reductions, dg summed over rows)
// and the embedding (a scatter-add, bitttt.embedding_grad). The ids and
// targets are data.
// CHECK-LABEL: func.func @train_grad(
// CHECK-SAME: %arg0: tensor<6xi32> {bitttt.io = "tokens"}
// CHECK-SAME: -> (f32 {bitttt.io = "loss"}, tensor<16x8xf32> {bitttt.grad = "embed.weight"}, tensor<8xf32> {bitttt.grad = "norm_f.weight"}, tensor<16x8xf32> {bitttt.grad = "lm_head.weight"})
// CHECK: %[[H:.*]] = bitttt.embedding %arg1[%arg0]
// CHECK: %[[N:.*]] = bitttt.rms_norm %[[H]], %arg2
// CHECK: %[[L:.*]] = bitttt.lm_head %[[N]], %arg3
// CHECK: %[[LOSS:.*]] = bitttt.cross_entropy %[[L]], %arg4
// CHECK: arith.constant 1.000000e+00 : f32
// Softmax − one-hot, scaled by dloss / N (N = 6 rows).
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK: arith.maximumf
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK: math.exp
// CHECK: arith.constant 6.000000e+00 : f32
// CHECK: %[[DL:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK: linalg.index 1
// CHECK: arith.select
// CHECK: linalg.matmul ins(%[[DL]], %arg3 : tensor<6x16xf32>, tensor<16x8xf32>)
// CHECK: %[[DLT:.*]] = linalg.transpose ins(%[[DL]] : tensor<6x16xf32>) {{.*}} permutation = [1, 0]
// CHECK: %[[DHEAD:.*]] = linalg.matmul ins(%[[DLT]], %[[N]] : tensor<16x6xf32>, tensor<6x8xf32>)
// CHECK: %[[DG:.*]] = linalg.reduce ins(%{{.*}} : tensor<6x8xf32>) outs(%{{.*}} : tensor<8xf32>) dimensions = [0]
// CHECK: %[[DEMB:.*]] = bitttt.embedding_grad %{{.*}}[%arg0] : tensor<6x8xf32>, tensor<6xi32> -> tensor<16x8xf32>
// CHECK: return %[[LOSS]], %[[DEMB]], %[[DG]], %[[DHEAD]] : f32, tensor<16x8xf32>, tensor<8xf32>, tensor<16x8xf32>
func.func @train_loss(%t: tensor<6xi32> {bitttt.io = "tokens"},
                      %emb: tensor<16x8xf32> {bitttt.tensor = "embed.weight"},
                      %g: tensor<8xf32> {bitttt.tensor = "norm_f.weight"},
                      %head: tensor<16x8xf32> {bitttt.tensor = "lm_head.weight"},
                      %tg: tensor<6xi32> {bitttt.io = "targets"}) -> f32 {
  %h = bitttt.embedding %emb[%t] : tensor<16x8xf32>, tensor<6xi32> -> tensor<6x8xf32>
  %n = bitttt.rms_norm %h, %g : tensor<6x8xf32>, tensor<8xf32>
  %l = bitttt.lm_head %n, %head : tensor<6x8xf32>, tensor<16x8xf32> -> tensor<6x16xf32>
  %loss = bitttt.cross_entropy %l, %tg : tensor<6x16xf32>, tensor<6xi32>
  return %loss : f32
}

// -----

// d(p0 + p1): both gradients are the one cotangent; every gradient result
// is its own buffer, so the second is a copy of it.
// CHECK-LABEL: func.func @train_grad(
// CHECK-SAME: -> (tensor<f32> {bitttt.io = "loss"}, tensor<3x5xf32> {bitttt.grad = "p0"}, tensor<3x5xf32> {bitttt.grad = "p1"})
// CHECK: %[[LOSS:.*]] = linalg.reduce
// CHECK: %[[DY:.*]] = linalg.broadcast ins(%{{.*}} : tensor<f32>) outs(%{{.*}} : tensor<3x5xf32>) dimensions = [0, 1]
// CHECK-NEXT: %[[E:.*]] = bufferization.alloc_tensor() : tensor<3x5xf32>
// CHECK-NEXT: %[[DY2:.*]] = linalg.copy ins(%[[DY]] : tensor<3x5xf32>) outs(%[[E]] : tensor<3x5xf32>) -> tensor<3x5xf32>
// CHECK-NEXT: return %[[LOSS]], %[[DY]], %[[DY2]] : tensor<f32>, tensor<3x5xf32>, tensor<3x5xf32>
func.func @train_loss(%p0: tensor<3x5xf32> {bitttt.tensor = "p0"},
                      %p1: tensor<3x5xf32> {bitttt.tensor = "p1"}) -> tensor<f32> {
  %y = arith.addf %p0, %p1 : tensor<3x5xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %init = linalg.fill ins(%z : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %s = linalg.reduce ins(%y : tensor<3x5xf32>) outs(%init : tensor<f32>) dimensions = [0, 1]
    (%in: f32, %acc: f32) {
      %t = arith.addf %in, %acc : f32
      linalg.yield %t : f32
    }
  return %s : tensor<f32>
}

// -----

// A call on the gradient path goes through @<callee>_vjp(inputs...,
// d results...) -> (d of each f32 input), built once however many calls
// use it: it recomputes the callee's forward, then runs its reverse sweep.
// The i32 input (data) is passed along and gets no cotangent; an unused
// result (%t) gets a zero cotangent. The callee itself stays.
// CHECK-LABEL: func.func private @piece(
// CHECK-SAME: -> (tensor<4xf32>, tensor<4xf32>)
// CHECK-LABEL: func.func @train_grad(
// CHECK-SAME: %arg0: tensor<4xf32> {bitttt.tensor = "w"}, %arg1: tensor<4xi32> {bitttt.io = "tokens"}, %arg2: tensor<4xf32>)
// CHECK-SAME: -> (tensor<f32> {bitttt.io = "loss"}, tensor<4xf32> {bitttt.grad = "w"})
// The forward calls stay.
// CHECK: %[[C0:.*]]:2 = call @piece(%arg0, %arg1, %arg2) : (tensor<4xf32>, tensor<4xi32>, tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>)
// CHECK: %[[C1:.*]]:2 = call @piece(%[[C0]]#0, %arg1, %[[C0]]#1)
// CHECK: %[[LOSS:.*]] = linalg.reduce ins(%[[C1]]#0 : tensor<4xf32>)
// CHECK: %[[DQ:.*]] = linalg.broadcast ins(%{{.*}} : tensor<f32>) outs(%{{.*}} : tensor<4xf32>) dimensions = [0]
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[DT:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.*}} : tensor<4xf32>) -> tensor<4xf32>
// The reverse: the second call's VJP first, on that call's operands; its
// cotangents of (%p, %s) are the seeds of the first call's VJP.
// CHECK: %[[G1:.*]]:2 = call @piece_vjp(%[[C0]]#0, %arg1, %[[C0]]#1, %[[DQ]], %[[DT]]) : (tensor<4xf32>, tensor<4xi32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>)
// CHECK: %[[G0:.*]]:2 = call @piece_vjp(%arg0, %arg1, %arg2, %[[G1]]#0, %[[G1]]#1) : (tensor<4xf32>, tensor<4xi32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>)
// CHECK-NOT: call
// CHECK: return %[[LOSS]], %[[G0]]#0 : tensor<f32>, tensor<4xf32>
// CHECK-LABEL: func.func private @piece_vjp(
// CHECK-SAME: %arg0: tensor<4xf32>, %arg1: tensor<4xi32>, %arg2: tensor<4xf32>, %arg3: tensor<4xf32>, %arg4: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
// The recomputed forward: m = a·float(k).
// CHECK: %[[KF:.*]] = arith.sitofp %arg1 : tensor<4xi32> to tensor<4xf32>
// CHECK: %[[M:.*]] = arith.mulf %arg0, %[[KF]] : tensor<4xf32>
// p = m·b, s = a + b: da = ds + dp·b·float(k), db = ds + dp·m.
// CHECK: %[[DM:.*]] = arith.mulf %arg3, %arg2 : tensor<4xf32>
// CHECK: %[[DPM:.*]] = arith.mulf %arg3, %[[M]] : tensor<4xf32>
// CHECK: %[[DB:.*]] = arith.addf %arg4, %[[DPM]] : tensor<4xf32>
// CHECK: %[[DMK:.*]] = arith.mulf %[[DM]], %[[KF]] : tensor<4xf32>
// CHECK: %[[DA:.*]] = arith.addf %arg4, %[[DMK]] : tensor<4xf32>
// CHECK: return %[[DA]], %[[DB]] : tensor<4xf32>, tensor<4xf32>
// CHECK-NOT: func.func private @piece_vjp
func.func private @piece(%a: tensor<4xf32>, %k: tensor<4xi32>, %b: tensor<4xf32>)
    -> (tensor<4xf32>, tensor<4xf32>) {
  %kf = arith.sitofp %k : tensor<4xi32> to tensor<4xf32>
  %m = arith.mulf %a, %kf : tensor<4xf32>
  %p = arith.mulf %m, %b : tensor<4xf32>
  %s = arith.addf %a, %b : tensor<4xf32>
  return %p, %s : tensor<4xf32>, tensor<4xf32>
}
func.func @train_loss(%w: tensor<4xf32> {bitttt.tensor = "w"}, %k: tensor<4xi32> {bitttt.io = "tokens"},
                      %x: tensor<4xf32>) -> tensor<f32> {
  %p, %s = call @piece(%w, %k, %x)
      : (tensor<4xf32>, tensor<4xi32>, tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>)
  %q, %t = call @piece(%p, %k, %s)
      : (tensor<4xf32>, tensor<4xi32>, tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>)
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %init = linalg.fill ins(%z : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %r = linalg.reduce ins(%q : tensor<4xf32>) outs(%init : tensor<f32>) dimensions = [0]
    (%in: f32, %acc: f32) {
      %u = arith.addf %in, %acc : f32
      linalg.yield %u : f32
    }
  return %r : tensor<f32>
}

// -----

// linalg.fill of an active scalar: dv = Σ dy over every dim (a 0-d sum,
// extracted), which then seeds the cross-entropy rule as its dloss. The
// fill of the reduction's init (a constant) gets nothing.
// CHECK-LABEL: func.func @train_grad(
// CHECK-SAME: -> (tensor<f32> {bitttt.io = "loss"}, tensor<4x6xf32> {bitttt.grad = "p0"})
// CHECK: %[[L:.*]] = bitttt.cross_entropy %arg0, %arg1
// CHECK: %[[Y:.*]] = linalg.fill ins(%[[L]] : f32) outs(%{{.*}} : tensor<3x5xf32>)
// CHECK: %[[LOSS:.*]] = linalg.reduce ins(%[[Y]] : tensor<3x5xf32>)
// CHECK: %[[DY:.*]] = linalg.broadcast ins(%{{.*}} : tensor<f32>) outs(%{{.*}} : tensor<3x5xf32>) dimensions = [0, 1]
// CHECK: %[[Z:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[INIT:.*]] = linalg.fill ins(%[[Z]] : f32) outs(%{{.*}} : tensor<f32>)
// CHECK: %[[SUM:.*]] = linalg.reduce ins(%[[DY]] : tensor<3x5xf32>) outs(%[[INIT]] : tensor<f32>) dimensions = [0, 1]
// CHECK: arith.addf
// CHECK: %[[DV:.*]] = tensor.extract %[[SUM]][] : tensor<f32>
// Cross-entropy's dlogits = (softmax − one-hot) · dloss / N (N = 4 rows).
// CHECK: %[[N:.*]] = arith.constant 4.000000e+00 : f32
// CHECK: %[[SCALE:.*]] = arith.divf %[[DV]], %[[N]] : f32
// CHECK: %[[DP:.*]] = linalg.generic
// CHECK: arith.mulf %{{.*}}, %[[SCALE]] : f32
// CHECK: return %[[LOSS]], %[[DP]] : tensor<f32>, tensor<4x6xf32>
func.func @train_loss(%p0: tensor<4x6xf32> {bitttt.tensor = "p0"},
                      %tg: tensor<4xi32> {bitttt.io = "targets"}) -> tensor<f32> {
  %l = bitttt.cross_entropy %p0, %tg : tensor<4x6xf32>, tensor<4xi32>
  %e = tensor.empty() : tensor<3x5xf32>
  %y = linalg.fill ins(%l : f32) outs(%e : tensor<3x5xf32>) -> tensor<3x5xf32>
  %z = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<f32>
  %init = linalg.fill ins(%z : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %s = linalg.reduce ins(%y : tensor<3x5xf32>) outs(%init : tensor<f32>) dimensions = [0, 1]
    (%in: f32, %acc: f32) {
      %t = arith.addf %in, %acc : f32
      linalg.yield %t : f32
    }
  return %s : tensor<f32>
}

// -----

// The gradient function's name must be free (grad-func=my_grad: that name).
// expected-error-re @+1 {{bitttt-autodiff: a symbol '{{train_grad|my_grad}}' already exists}}
module {
  func.func @train_loss(%w: tensor<f32> {bitttt.tensor = "w"}) -> tensor<f32> {
    return %w : tensor<f32>
  }
  func.func private @train_grad()
  func.func private @my_grad()
}

// -----

// Control flow on a gradient path.
func.func @train_loss(%w: tensor<f32> {bitttt.tensor = "w"}) -> tensor<f32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  // expected-error @+1 {{'scf.for' op bitttt-autodiff: control flow on a gradient path is not supported}}
  %r = scf.for %i = %c0 to %c4 step %c1 iter_args(%acc = %w) -> tensor<f32> {
    %n = arith.addf %acc, %acc : tensor<f32>
    scf.yield %n : tensor<f32>
  }
  return %r : tensor<f32>
}

// -----

// An active op without a VJP rule is named.
func.func @train_loss(%w: tensor<f32> {bitttt.tensor = "w"}) -> tensor<f32> {
  // expected-error @+1 {{'math.tanh' op bitttt-autodiff: no VJP rule for 'math.tanh'}}
  %t = math.tanh %w : tensor<f32>
  return %t : tensor<f32>
}

// -----

// A loss that no parameter reaches.
// expected-error @+1 {{bitttt-autodiff: the loss does not depend on any parameter}}
func.func @train_loss(%w: tensor<f32> {bitttt.tensor = "w"}, %x: tensor<f32>) -> tensor<f32> {
  %y = arith.addf %x, %x : tensor<f32>
  return %y : tensor<f32>
}
