//===- Builders.cpp - small helpers to build linalg on tensors ------------===//
#include "lib/Transforms/Builders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::bitttt;

SmallVector<OpFoldResult> TensorBuilder::sizes(Value tensor) {
  return tensor::getMixedSizes(b, b.getLoc(), tensor);
}

Value TensorBuilder::empty(ArrayRef<OpFoldResult> sizes, Type elementType) {
  return tensor::EmptyOp::create(b, sizes, elementType);
}

Value TensorBuilder::filled(ArrayRef<OpFoldResult> sizes, Type elementType,
                            double value) {
  Value v = arith::ConstantOp::create(b, b.getFloatAttr(elementType, value));
  return linalg::FillOp::create(b, ValueRange{v},
                                ValueRange{empty(sizes, elementType)})
      .getResult(0);
}

Value TensorBuilder::filledInt(ArrayRef<OpFoldResult> sizes, Type elementType,
                               int64_t value) {
  Value v = arith::ConstantOp::create(b, b.getIntegerAttr(elementType, value));
  return linalg::FillOp::create(b, ValueRange{v},
                                ValueRange{empty(sizes, elementType)})
      .getResult(0);
}

Value TensorBuilder::generic(ValueRange inputs, Value init,
                             ArrayRef<AffineMap> maps,
                             ArrayRef<utils::IteratorType> iterators,
                             BodyFn body) {
  auto op = linalg::GenericOp::create(
      b, TypeRange{init.getType()}, inputs, ValueRange{init}, maps, iterators,
      [&](OpBuilder &nested, Location loc, ValueRange args) {
        ImplicitLocOpBuilder ib(loc, nested);
        Value result = body(ib, args);
        linalg::YieldOp::create(ib, result);
      });
  return op.getResult(0);
}

Value TensorBuilder::map(ValueRange inputs, ArrayRef<OpFoldResult> sizes,
                         Type elementType, ArrayRef<AffineMap> inputMaps,
                         BodyFn body) {
  unsigned rank = sizes.size();
  SmallVector<AffineMap> maps(inputMaps);
  maps.push_back(identity(rank));
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  return generic(inputs, empty(sizes, elementType), maps, iterators, body);
}

Value TensorBuilder::f32(double v) {
  return arith::ConstantOp::create(b, b.getF32FloatAttr(v));
}

Value TensorBuilder::i32(int64_t v) {
  return arith::ConstantOp::create(b, b.getI32IntegerAttr(v));
}

Value TensorBuilder::index(int64_t v) {
  return arith::ConstantIndexOp::create(b, v);
}

AffineMap TensorBuilder::identity(unsigned rank) {
  return AffineMap::getMultiDimIdentityMap(rank, b.getContext());
}

AffineMap TensorBuilder::dims(unsigned rank, ArrayRef<unsigned> which) {
  SmallVector<AffineExpr> exprs;
  for (unsigned d : which)
    exprs.push_back(b.getAffineDimExpr(d));
  return AffineMap::get(rank, 0, exprs, b.getContext());
}

Value mlir::bitttt::buildSigmoid(ImplicitLocOpBuilder &b, Value x) {
  Value one = arith::ConstantOp::create(b, b.getF32FloatAttr(1.0f));
  Value e = math::ExpOp::create(b, arith::NegFOp::create(b, x));
  return arith::DivFOp::create(b, one, arith::AddFOp::create(b, one, e));
}

Value mlir::bitttt::buildSiluMul(ImplicitLocOpBuilder &b, Value g, Value u) {
  Value silu = arith::MulFOp::create(b, g, buildSigmoid(b, g));
  return arith::MulFOp::create(b, silu, u);
}
