//===- Builders.cpp - small helpers to build linalg on tensors ------------===//
#include "bitttt/Transforms/Builders.h"
#include "bitttt/Dialect/BitTTTOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
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

Value TensorBuilder::freshFilled(ArrayRef<OpFoldResult> sizes, double value) {
  SmallVector<int64_t> shape;
  SmallVector<Value> dynamic;
  for (OpFoldResult s : sizes) {
    std::optional<int64_t> c = getConstantIntValue(s);
    shape.push_back(c.value_or(ShapedType::kDynamic));
    if (!c)
      dynamic.push_back(cast<Value>(s));
  }
  Value t = bufferization::AllocTensorOp::create(
      b, RankedTensorType::get(shape, b.getF32Type()), dynamic);
  return fillInto(t, value);
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

Value TensorBuilder::update(Value dest, ValueRange inputs,
                            ArrayRef<AffineMap> inputMaps, BodyFn body) {
  unsigned rank = cast<ShapedType>(dest.getType()).getRank();
  SmallVector<AffineMap> maps(inputMaps);
  maps.push_back(identity(rank));
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  return generic(inputs, dest, maps, iterators, body);
}

Value TensorBuilder::fillInto(Value dest, double value) {
  Type element = cast<ShapedType>(dest.getType()).getElementType();
  Value v = arith::ConstantOp::create(b, b.getFloatAttr(element, value));
  return linalg::FillOp::create(b, ValueRange{v}, ValueRange{dest})
      .getResult(0);
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

Value mlir::bitttt::buildRowParallel(
    TensorBuilder &tb, int64_t rows, Value tokensOf,
    function_ref<Value(ImplicitLocOpBuilder &, Value, Value)> element) {
  ImplicitLocOpBuilder &b = tb.builder();
  Value tokens = tensor::DimOp::create(b, tokensOf, 0);
  OpFoldResult tokensOfr = tb.sizes(tokensOf)[0];
  Value init = tb.empty({tokensOfr, b.getIndexAttr(rows)}, b.getF32Type());
  Value c0 = tb.index(0), c1 = tb.index(1);
  auto rowLoop = scf::ForallOp::create(
      b, ArrayRef<OpFoldResult>{b.getIndexAttr(rows)}, ValueRange{init},
      std::nullopt, [&](OpBuilder &ob, Location loc, ValueRange args) {
        ImplicitLocOpBuilder rb(loc, ob);
        Value r = args[0], shared = args[1];
        // Writing into the row's own slice of the shared output lets
        // bufferization update it in place (no temporary, no copy).
        SmallVector<OpFoldResult> offsets = {rb.getIndexAttr(0), r};
        SmallVector<OpFoldResult> sizes = {tokensOfr, rb.getIndexAttr(1)};
        SmallVector<OpFoldResult> strides = {rb.getIndexAttr(1),
                                             rb.getIndexAttr(1)};
        Value column =
            tensor::ExtractSliceOp::create(rb, shared, offsets, sizes, strides);
        auto tokLoop = scf::ForOp::create(
            rb, c0, tokens, c1, ValueRange{column},
            [&](OpBuilder &ob2, Location loc2, Value t, ValueRange iter) {
              ImplicitLocOpBuilder tbld(loc2, ob2);
              Value y = element(tbld, r, t);
              Value zero = arith::ConstantIndexOp::create(tbld, 0);
              scf::YieldOp::create(tbld,
                                   ValueRange{tensor::InsertOp::create(
                                       tbld, y, iter[0], ValueRange{t, zero})});
            });
        auto inParallel = scf::InParallelOp::create(rb);
        rb.setInsertionPointToStart(inParallel.getBody());
        tensor::ParallelInsertSliceOp::create(rb, tokLoop.getResult(0), shared,
                                              offsets, sizes, strides);
      });
  return rowLoop.getResult(0);
}

std::pair<Value, Value> mlir::bitttt::buildRowMaxSumExp(TensorBuilder &tb,
                                                        Value x) {
  ImplicitLocOpBuilder &b = tb.builder();
  Type f32 = b.getF32Type();
  SmallVector<OpFoldResult> rows = {tb.sizes(x)[0]};
  AffineMap id = tb.identity(2), row = tb.dims(2, {0});
  Value max = tb.generic(
      x, tb.filled(rows, f32, -std::numeric_limits<double>::infinity()),
      {id, row}, {kPar, kRed}, [](ImplicitLocOpBuilder &nb, ValueRange a) {
        return arith::MaximumFOp::create(nb, a[0], a[1]).getResult();
      });
  Value sum = tb.generic(
      {x, max}, tb.filled(rows, f32, 0.0), {id, row, row}, {kPar, kRed},
      [](ImplicitLocOpBuilder &nb, ValueRange a) -> Value {
        Value e =
            math::ExpOp::create(nb, arith::SubFOp::create(nb, a[0], a[1]));
        return arith::AddFOp::create(nb, a[2], e);
      });
  return {max, sum};
}

bool mlir::bitttt::isPackedTernary(Value v) {
  return isa<PackedTernaryType>(v.getType());
}

RankedTensorType mlir::bitttt::packedBytesType(Type packedTernary) {
  auto type = cast<PackedTernaryType>(packedTernary);
  return RankedTensorType::get({type.getRows(), type.getRowBytes()},
                               IntegerType::get(type.getContext(), 8));
}

Value mlir::bitttt::castToPackedBytes(ImplicitLocOpBuilder &b, Value packed) {
  return UnrealizedConversionCastOp::create(
             b, packedBytesType(packed.getType()), packed)
      .getResult(0);
}
