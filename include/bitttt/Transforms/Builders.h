//===- Builders.h - small helpers to build linalg on tensors ----*- C++ -*-===//
//
// The decompositions build many `linalg.generic`s over 1-3 dims; these
// helpers keep each pattern to its math.
//
//===----------------------------------------------------------------------===//
#ifndef BITTTT_TRANSFORMS_BUILDERS_H
#define BITTTT_TRANSFORMS_BUILDERS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::bitttt {

using BodyFn = function_ref<Value(ImplicitLocOpBuilder &, ValueRange)>;

/// Iterator kinds, short: the decompositions spell many iterator lists.
constexpr auto kPar = utils::IteratorType::parallel;
constexpr auto kRed = utils::IteratorType::reduction;

class TensorBuilder {
public:
  explicit TensorBuilder(ImplicitLocOpBuilder &b) : b(b) {}

  ImplicitLocOpBuilder &builder() { return b; }

  /// Sizes of a ranked tensor, static where known.
  SmallVector<OpFoldResult> sizes(Value tensor);
  /// `tensor.empty` of the given sizes.
  Value empty(ArrayRef<OpFoldResult> sizes, Type elementType);
  /// `tensor.empty` filled with `value` (`linalg.fill`).
  Value filled(ArrayRef<OpFoldResult> sizes, Type elementType, double value);
  Value filledInt(ArrayRef<OpFoldResult> sizes, Type elementType,
                  int64_t value);
  /// A fresh f32 tensor of `sizes` filled with `value`, for a reduction's
  /// init. Unlike `filled` (tensor.empty + fill, which CSE merges, so that
  /// bufferization copies the shared fill into every consumer), each call
  /// allocates its own buffer (`bufferization.alloc_tensor`) and fills it:
  /// no copy.
  Value freshFilled(ArrayRef<OpFoldResult> sizes, double value);

  /// One-result `linalg.generic`: `maps` are for `inputs` then `init`; the
  /// body gets (inputs..., init element) and returns the yielded value.
  Value generic(ValueRange inputs, Value init, ArrayRef<AffineMap> maps,
                ArrayRef<utils::IteratorType> iterators, BodyFn body);

  /// Elementwise map over same-shaped (or broadcast through `maps`) inputs
  /// into a fresh tensor of `init`'s sizes and `elementType`.
  Value map(ValueRange inputs, ArrayRef<OpFoldResult> sizes, Type elementType,
            ArrayRef<AffineMap> inputMaps, BodyFn body);

  /// Elementwise update of `dest` in destination-passing style (so that
  /// bufferization can write in place): result[i] = body(inputs..., dest[i])
  /// with `inputMaps` indexing the inputs from dest's dimensions.
  Value update(Value dest, ValueRange inputs, ArrayRef<AffineMap> inputMaps,
               BodyFn body);
  /// `dest` overwritten with `value` (`linalg.fill` into it).
  Value fillInto(Value dest, double value);

  Value f32(double v);
  Value i32(int64_t v);
  Value index(int64_t v);

  /// Affine maps over `rank` dims.
  AffineMap identity(unsigned rank);
  AffineMap dims(unsigned rank, ArrayRef<unsigned> which);

private:
  ImplicitLocOpBuilder &b;
};

/// y[t, r] = element(r, t) for r < rows and t < T (dim 0 of `tokensOf`), as
/// an scf.forall over rows (run on the OpenMP pool after lowering) whose
/// iterations write their own column of y in place, with an scf.for over
/// tokens inside. `element` builds one f32 value.
Value buildRowParallel(
    TensorBuilder &tb, int64_t rows, Value tokensOf,
    function_ref<Value(ImplicitLocOpBuilder &, Value row, Value token)>
        element);

/// Per-row max and Σ exp(x − max) of a [N, V] f32 tensor (the stable
/// log-sum-exp of cross-entropy and its softmax): ([N], [N]).
std::pair<Value, Value> buildRowMaxSumExp(TensorBuilder &tb, Value x);

/// sigmoid(x) = 1 / (1 + exp(-x)) on an f32 scalar.
Value buildSigmoid(ImplicitLocOpBuilder &b, Value x);
/// silu(g)·u = g·sigmoid(g)·u on f32 scalars (SwiGLU's gate).
Value buildSiluMul(ImplicitLocOpBuilder &b, Value g, Value u);

/// True for a `!bitttt.packed_ternary` value.
bool isPackedTernary(Value v);
/// The bytes of a packed ternary weight as kernels read them (layout
/// i2_b128): `tensor<rows x row_bytes x i8>`.
RankedTensorType packedBytesType(Type packedTernary);
/// A cast of a packed argument to its bytes; bitttt-lower-ternary-matmul
/// folds these casts when it retypes the arguments.
Value castToPackedBytes(ImplicitLocOpBuilder &b, Value packed);

} // namespace mlir::bitttt

#endif // BITTTT_TRANSFORMS_BUILDERS_H
