//===- TensorOps.h - the tensor primitives of training ----------*- C++ -*-===//
//
// The training decomposition and the VJP rules speak one small language of
// upstream ops on static f32 tensors: arith/math elementwise ops,
// linalg.broadcast / reduce (sum) / transpose / matmul / batch_matmul / fill,
// tensor slices and reshapes. Each has a VJP rule (VJPRules.cpp), so
// anything built from these helpers is differentiable.
//
//===----------------------------------------------------------------------===//
#ifndef BITTTT_TRANSFORMS_AUTODIFF_TENSOROPS_H
#define BITTTT_TRANSFORMS_AUTODIFF_TENSOROPS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

namespace mlir::bitttt {

class TensorOps {
public:
  TensorOps(OpBuilder &b, Location loc) : b(b), loc(loc) {}

  OpBuilder &builder() { return b; }
  Location location() const { return loc; }

  static ArrayRef<int64_t> shape(Value v) {
    return cast<RankedTensorType>(v.getType()).getShape();
  }
  RankedTensorType f32Type(ArrayRef<int64_t> shape);

  /// tensor.empty + linalg.fill.
  Value filled(ArrayRef<int64_t> shape, double value);
  Value zeros(ArrayRef<int64_t> shape) { return filled(shape, 0.0); }
  /// tensor.empty + linalg.fill with a runtime f32 scalar.
  Value filledWith(ArrayRef<int64_t> shape, Value scalar);
  Value zerosLike(Value v) { return zeros(shape(v)); }
  /// An uninitialized tensor of v's shape (a destination).
  Value emptyLike(Value v);
  /// A splat `arith.constant` (folded into the consumer's loop body by
  /// elementwise fusion, so it never becomes a buffer of its own).
  Value splat(ArrayRef<int64_t> shape, double value);
  /// A dense f32 constant of the given values.
  Value constant(ArrayRef<int64_t> shape, ArrayRef<float> values);

  Value add(Value x, Value y);
  Value sub(Value x, Value y);
  Value mul(Value x, Value y);
  Value div(Value x, Value y);
  Value neg(Value x);
  Value exp(Value x);
  Value sqrt(Value x);
  /// x · s and x + s with a scalar constant s.
  Value scale(Value x, double s) { return mul(x, splat(shape(x), s)); }
  Value addScalar(Value x, double s) { return add(x, splat(shape(x), s)); }
  /// 1 / (1 + exp(-x)).
  Value sigmoid(Value x);

  /// `linalg.broadcast` of x to `shape`, `dims` the dims of `shape` that x
  /// lacks.
  Value broadcast(Value x, ArrayRef<int64_t> shape, ArrayRef<int64_t> dims);
  /// Sum over `dims` (`linalg.reduce` with an addf body).
  Value reduceSum(Value x, ArrayRef<int64_t> dims);
  /// Sum over the last dim, broadcast back: rows of `x` summed, same shape.
  Value rowSumBroadcast(Value x);
  /// Broadcast a tensor without x's last dim back over it.
  Value broadcastLast(Value x, ArrayRef<int64_t> shape);
  Value transpose(Value x, ArrayRef<int64_t> perm);
  /// Swap the last two dims.
  Value transposeLast2(Value x);
  /// [M, K] x [K, N] or [B, M, K] x [B, K, N].
  Value matmul(Value x, Value y);

  Value extractSlice(Value x, ArrayRef<int64_t> offsets,
                     ArrayRef<int64_t> sizes);
  Value insertSlice(Value src, Value dest, ArrayRef<int64_t> offsets);
  /// A latent BitLinear weight's ternary codes as f32 and its scale γ
  /// (bitttt.weight_quant).
  std::pair<Value, Value> weightCodes(Value w);
  /// An input's int8 codes as f32 and its per-row scales s
  /// (bitttt.act_quant).
  std::pair<Value, Value> actCodes(Value x);

  Value expand(Value x, ArrayRef<int64_t> shape,
               ArrayRef<SmallVector<int64_t, 2>> reassociation);
  Value collapse(Value x, ArrayRef<SmallVector<int64_t, 2>> reassociation);

private:
  OpBuilder &b;
  Location loc;
};

} // namespace mlir::bitttt

#endif // BITTTT_TRANSFORMS_AUTODIFF_TENSOROPS_H
