// RUN: bitttt-opt %s --bitttt-drop-in-place-results --split-input-file --verify-diagnostics | FileCheck %s
// The order of functions does not matter (callees are handled first):
// RUN: bitttt-opt %S/Inputs/drop-in-place-caller-first.mlir --bitttt-drop-in-place-results | FileCheck %S/Inputs/drop-in-place-caller-first.mlir

// After bufferization the training functions return the buffers they
// updated in place: such results (the function's own memref arguments) go,
// the rest stay with their attributes; call sites use the call's operand,
// and a caller that thereby returns its own arguments loses them too.
// CHECK-LABEL: func.func @apply(
// CHECK-SAME: %arg0: memref<4xf32> {bitttt.param = "w"}, %arg1: memref<4xf32> {bitttt.adam_m = "w"}, %arg2: memref<4xf32> {bitttt.grad = "w"})
// CHECK-SAME: -> (memref<f32> {bitttt.io = "grad_norm"}) {
// CHECK: %[[N:.*]] = memref.alloc() : memref<f32>
// CHECK-NEXT: return %[[N]] : memref<f32>
// CHECK-LABEL: func.func @step(
// CHECK-SAME: %arg0: memref<4xf32> {bitttt.param = "w"}, %arg1: memref<4xf32> {bitttt.adam_m = "w"}, %arg2: memref<4xf32>, %arg3: memref<4xf32>)
// CHECK-SAME: -> (memref<f32> {bitttt.io = "grad_norm"}) {
// CHECK-NEXT: %[[R:.*]] = call @apply(%arg0, %arg1, %arg2) : (memref<4xf32>, memref<4xf32>, memref<4xf32>) -> memref<f32>
// The dropped results' other uses read the operands.
// CHECK-NEXT: memref.copy %arg0, %arg3 : memref<4xf32> to memref<4xf32>
// CHECK-NEXT: return %[[R]] : memref<f32>
func.func @apply(%p: memref<4xf32> {bitttt.param = "w"}, %m: memref<4xf32> {bitttt.adam_m = "w"},
                 %g: memref<4xf32> {bitttt.grad = "w"})
    -> (memref<f32> {bitttt.io = "grad_norm"}, memref<4xf32> {bitttt.param = "w"},
        memref<4xf32> {bitttt.adam_m = "w"}) {
  %n = memref.alloc() : memref<f32>
  return %n, %p, %m : memref<f32>, memref<4xf32>, memref<4xf32>
}
func.func @step(%p: memref<4xf32> {bitttt.param = "w"}, %m: memref<4xf32> {bitttt.adam_m = "w"},
                %g: memref<4xf32>, %out: memref<4xf32>)
    -> (memref<f32> {bitttt.io = "grad_norm"}, memref<4xf32> {bitttt.param = "w"},
        memref<4xf32> {bitttt.adam_m = "w"}) {
  %n, %p1, %m1 = call @apply(%p, %m, %g)
      : (memref<4xf32>, memref<4xf32>, memref<4xf32>) -> (memref<f32>, memref<4xf32>, memref<4xf32>)
  memref.copy %p1, %out : memref<4xf32> to memref<4xf32>
  return %n, %p1, %m1 : memref<f32>, memref<4xf32>, memref<4xf32>
}

// -----

// A public function keeps its ABI: an argument returned as it is stays
// unless it is a parameter or a moment. In a private function (an outlined
// piece) any memref argument returned as it is goes, with or without a
// training attribute, and its call sites read the operand. A tensor result
// (before bufferization) and a fresh buffer stay; declarations are left
// alone.
// CHECK-LABEL: func.func @plain(
// CHECK-SAME: %arg0: memref<4xf32>, %arg1: memref<8xf32>) -> (memref<4xf32>, memref<2xf32>, memref<8xf32>) {
// CHECK: %[[A:.*]] = memref.alloc() : memref<2xf32>
// CHECK-NEXT: return %arg0, %[[A]], %arg1 : memref<4xf32>, memref<2xf32>, memref<8xf32>
// CHECK-LABEL: func.func @mixed(
// CHECK-SAME: %arg0: memref<4xf32> {bitttt.param = "w"}, %arg1: memref<4xf32>) -> memref<4xf32> {
// CHECK-NEXT: return %arg1 : memref<4xf32>
// CHECK-LABEL: func.func private @piece(
// CHECK-SAME: %arg0: memref<4xf32>, %arg1: memref<8xf32>) -> memref<2xf32> {
// CHECK: %[[A:.*]] = memref.alloc() : memref<2xf32>
// CHECK-NEXT: return %[[A]] : memref<2xf32>
// CHECK-LABEL: func.func @caller(
// CHECK-SAME: %arg0: memref<4xf32>, %arg1: memref<8xf32>, %arg2: memref<4xf32>, %arg3: memref<8xf32>) -> memref<2xf32> {
// CHECK-NEXT: %[[Y:.*]] = call @piece(%arg0, %arg1) : (memref<4xf32>, memref<8xf32>) -> memref<2xf32>
// CHECK-NEXT: memref.copy %arg0, %arg2 : memref<4xf32> to memref<4xf32>
// CHECK-NEXT: memref.copy %arg1, %arg3 : memref<8xf32> to memref<8xf32>
// CHECK-NEXT: return %[[Y]] : memref<2xf32>
// CHECK-LABEL: func.func @tensors(
// CHECK-SAME: -> tensor<4xf32>
// CHECK-NEXT: return %arg0 : tensor<4xf32>
// CHECK-LABEL: func.func private @tensor_piece(
// CHECK-SAME: -> tensor<4xf32>
// CHECK-NEXT: return %arg0 : tensor<4xf32>
// CHECK-LABEL: func.func private @external(memref<4xf32>) -> memref<4xf32>
func.func @plain(%a: memref<4xf32>, %b: memref<8xf32>) -> (memref<4xf32>, memref<2xf32>, memref<8xf32>) {
  %x = memref.alloc() : memref<2xf32>
  return %a, %x, %b : memref<4xf32>, memref<2xf32>, memref<8xf32>
}
func.func @mixed(%p: memref<4xf32> {bitttt.param = "w"}, %a: memref<4xf32>)
    -> (memref<4xf32> {bitttt.param = "w"}, memref<4xf32>) {
  return %p, %a : memref<4xf32>, memref<4xf32>
}
func.func private @piece(%a: memref<4xf32>, %b: memref<8xf32>) -> (memref<4xf32>, memref<2xf32>, memref<8xf32>) {
  %x = memref.alloc() : memref<2xf32>
  return %a, %x, %b : memref<4xf32>, memref<2xf32>, memref<8xf32>
}
func.func @caller(%a: memref<4xf32>, %b: memref<8xf32>, %oa: memref<4xf32>, %ob: memref<8xf32>) -> memref<2xf32> {
  %x, %y, %z = call @piece(%a, %b) : (memref<4xf32>, memref<8xf32>) -> (memref<4xf32>, memref<2xf32>, memref<8xf32>)
  memref.copy %x, %oa : memref<4xf32> to memref<4xf32>
  memref.copy %z, %ob : memref<8xf32> to memref<8xf32>
  return %y : memref<2xf32>
}
func.func @tensors(%a: tensor<4xf32>) -> tensor<4xf32> {
  return %a : tensor<4xf32>
}
func.func private @tensor_piece(%a: tensor<4xf32>) -> tensor<4xf32> {
  return %a : tensor<4xf32>
}
func.func private @external(memref<4xf32>) -> memref<4xf32>

// -----

// A parameter or moment result that is not its argument: a copy crept in,
// and the step would not update the model.
// expected-error @+1 {{bitttt-drop-in-place-results: result 1 of @copied is not updated in place (bufferization made a copy)}}
func.func @copied(%p: memref<4xf32> {bitttt.param = "w"})
    -> (memref<f32> {bitttt.io = "grad_norm"}, memref<4xf32> {bitttt.param = "w"}) {
  %n = memref.alloc() : memref<f32>
  %c = memref.alloc() : memref<4xf32>
  memref.copy %p, %c : memref<4xf32> to memref<4xf32>
  return %n, %c : memref<f32>, memref<4xf32>
}

// -----

// expected-error @+1 {{bitttt-drop-in-place-results: result 0 of @moment is not updated in place (bufferization made a copy)}}
func.func @moment(%v: memref<4xf32> {bitttt.adam_v = "w"}) -> (memref<4xf32> {bitttt.adam_v = "w"}) {
  %c = memref.alloc() : memref<4xf32>
  return %c : memref<4xf32>
}

// -----

// A private piece that returns a fresh buffer keeps that result, so the
// parameter its public caller returns is not its argument: reported once
// every function has settled, at the caller (the piece has no attributes).
func.func private @piece(%p: memref<4xf32>) -> memref<4xf32> {
  %c = memref.alloc() : memref<4xf32>
  memref.copy %p, %c : memref<4xf32> to memref<4xf32>
  return %c : memref<4xf32>
}
// expected-error @+1 {{bitttt-drop-in-place-results: result 0 of @step is not updated in place (bufferization made a copy)}}
func.func @step(%p: memref<4xf32> {bitttt.param = "w"}) -> (memref<4xf32> {bitttt.param = "w"}) {
  %p1 = call @piece(%p) : (memref<4xf32>) -> memref<4xf32>
  return %p1 : memref<4xf32>
}
