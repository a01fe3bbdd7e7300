// test/Target/CPU/drop-in-place-results.mlir runs this file: the caller
// comes before its callee. The callee's in-place results are dropped first,
// so the caller's returns become its own arguments and go too (no error
// about @step's parameter result).

// CHECK-LABEL: func.func @step(
// CHECK-SAME: -> (memref<f32> {bitttt.io = "grad_norm"}) {
// CHECK-NEXT: %[[R:.*]] = call @apply(%arg0, %arg1, %arg2) : (memref<4xf32>, memref<4xf32>, memref<4xf32>) -> memref<f32>
// CHECK-NEXT: return %[[R]] : memref<f32>
// CHECK-LABEL: func.func @apply(
// CHECK-SAME: -> (memref<f32> {bitttt.io = "grad_norm"}) {
func.func @step(%p: memref<4xf32> {bitttt.param = "w"}, %m: memref<4xf32> {bitttt.adam_m = "w"},
                %g: memref<4xf32>)
    -> (memref<f32> {bitttt.io = "grad_norm"}, memref<4xf32> {bitttt.param = "w"},
        memref<4xf32> {bitttt.adam_m = "w"}) {
  %n, %p1, %m1 = call @apply(%p, %m, %g)
      : (memref<4xf32>, memref<4xf32>, memref<4xf32>) -> (memref<f32>, memref<4xf32>, memref<4xf32>)
  return %n, %p1, %m1 : memref<f32>, memref<4xf32>, memref<4xf32>
}
func.func @apply(%p: memref<4xf32> {bitttt.param = "w"}, %m: memref<4xf32> {bitttt.adam_m = "w"},
                 %g: memref<4xf32> {bitttt.grad = "w"})
    -> (memref<f32> {bitttt.io = "grad_norm"}, memref<4xf32> {bitttt.param = "w"},
        memref<4xf32> {bitttt.adam_m = "w"}) {
  %n = memref.alloc() : memref<f32>
  return %n, %p, %m : memref<f32>, memref<4xf32>, memref<4xf32>
}
