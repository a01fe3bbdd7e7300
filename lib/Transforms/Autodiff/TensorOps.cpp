//===- TensorOps.cpp - the tensor primitives of training ------------------===//
#include "TensorOps.h"
#include "bitttt/Dialect/BitTTTOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::bitttt;

RankedTensorType TensorOps::f32Type(ArrayRef<int64_t> shape) {
  return RankedTensorType::get(shape, b.getF32Type());
}

Value TensorOps::filled(ArrayRef<int64_t> shape, double value) {
  Value empty = tensor::EmptyOp::create(b, loc, shape, b.getF32Type());
  Value v = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
  return linalg::FillOp::create(b, loc, v, empty).getResult(0);
}

Value TensorOps::filledWith(ArrayRef<int64_t> shape, Value scalar) {
  Value empty = tensor::EmptyOp::create(b, loc, shape, b.getF32Type());
  return linalg::FillOp::create(b, loc, scalar, empty).getResult(0);
}

std::pair<Value, Value> TensorOps::weightCodes(Value w) {
  auto wt = cast<RankedTensorType>(w.getType());
  auto q = WeightQuantOp::create(
      b, loc, RankedTensorType::get(wt.getShape(), b.getI8Type()),
      b.getF32Type(), w);
  return {arith::SIToFPOp::create(b, loc, wt, q.getCodes()), q.getScale()};
}

std::pair<Value, Value> TensorOps::actCodes(Value x) {
  auto xt = cast<RankedTensorType>(x.getType());
  auto q = ActQuantOp::create(
      b, loc, RankedTensorType::get(xt.getShape(), b.getI8Type()),
      RankedTensorType::get({xt.getDimSize(0)}, b.getF32Type()), x);
  return {arith::SIToFPOp::create(b, loc, xt, q.getCodes()), q.getScales()};
}

Value TensorOps::emptyLike(Value v) {
  return tensor::EmptyOp::create(b, loc, shape(v), b.getF32Type());
}

Value TensorOps::splat(ArrayRef<int64_t> shape, double value) {
  auto type = f32Type(shape);
  return arith::ConstantOp::create(
      b, loc, type,
      DenseElementsAttr::get(type, b.getF32FloatAttr(value).getValue()));
}

Value TensorOps::constant(ArrayRef<int64_t> shape, ArrayRef<float> values) {
  auto type = f32Type(shape);
  return arith::ConstantOp::create(b, loc, type,
                                   DenseElementsAttr::get(type, values));
}

Value TensorOps::add(Value x, Value y) {
  return arith::AddFOp::create(b, loc, x, y);
}
Value TensorOps::sub(Value x, Value y) {
  return arith::SubFOp::create(b, loc, x, y);
}
Value TensorOps::mul(Value x, Value y) {
  return arith::MulFOp::create(b, loc, x, y);
}
Value TensorOps::div(Value x, Value y) {
  return arith::DivFOp::create(b, loc, x, y);
}
Value TensorOps::neg(Value x) { return arith::NegFOp::create(b, loc, x); }
Value TensorOps::exp(Value x) { return math::ExpOp::create(b, loc, x); }
Value TensorOps::sqrt(Value x) { return math::SqrtOp::create(b, loc, x); }

Value TensorOps::sigmoid(Value x) {
  auto s = shape(x);
  return div(splat(s, 1.0), addScalar(exp(neg(x)), 1.0));
}

Value TensorOps::broadcast(Value x, ArrayRef<int64_t> shape,
                           ArrayRef<int64_t> dims) {
  Value init = tensor::EmptyOp::create(b, loc, shape, b.getF32Type());
  return linalg::BroadcastOp::create(b, loc, x, init, dims)->getResult(0);
}

Value TensorOps::reduceSum(Value x, ArrayRef<int64_t> dims) {
  SmallVector<int64_t> kept;
  ArrayRef<int64_t> s = shape(x);
  for (int64_t d = 0, e = s.size(); d < e; ++d)
    if (!llvm::is_contained(dims, d))
      kept.push_back(s[d]);
  Value init = zeros(kept);
  return linalg::ReduceOp::create(
             b, loc, ValueRange{x}, ValueRange{init}, dims,
             [](OpBuilder &nb, Location nl, ValueRange args) {
               Value sum = arith::AddFOp::create(nb, nl, args[0], args[1]);
               linalg::YieldOp::create(nb, nl, sum);
             })
      ->getResult(0);
}

Value TensorOps::broadcastLast(Value x, ArrayRef<int64_t> s) {
  return broadcast(x, s, {int64_t(s.size()) - 1});
}

Value TensorOps::rowSumBroadcast(Value x) {
  ArrayRef<int64_t> s = shape(x);
  return broadcastLast(reduceSum(x, {int64_t(s.size()) - 1}), s);
}

Value TensorOps::transpose(Value x, ArrayRef<int64_t> perm) {
  ArrayRef<int64_t> s = shape(x);
  SmallVector<int64_t> out;
  for (int64_t p : perm)
    out.push_back(s[p]);
  Value init = tensor::EmptyOp::create(b, loc, out, b.getF32Type());
  return linalg::TransposeOp::create(b, loc, x, init, perm)->getResult(0);
}

Value TensorOps::transposeLast2(Value x) {
  int64_t r = shape(x).size();
  SmallVector<int64_t> perm;
  for (int64_t d = 0; d < r - 2; ++d)
    perm.push_back(d);
  perm.push_back(r - 1);
  perm.push_back(r - 2);
  return transpose(x, perm);
}

Value TensorOps::matmul(Value x, Value y) {
  ArrayRef<int64_t> sx = shape(x), sy = shape(y);
  if (sx.size() == 2) {
    Value init = zeros({sx[0], sy[1]});
    return linalg::MatmulOp::create(b, loc, ValueRange{x, y}, ValueRange{init})
        ->getResult(0);
  }
  Value init = zeros({sx[0], sx[1], sy[2]});
  return linalg::BatchMatmulOp::create(b, loc, ValueRange{x, y},
                                       ValueRange{init})
      ->getResult(0);
}

Value TensorOps::extractSlice(Value x, ArrayRef<int64_t> offsets,
                              ArrayRef<int64_t> sizes) {
  SmallVector<int64_t> strides(offsets.size(), 1);
  auto type = RankedTensorType::get(
      sizes, cast<RankedTensorType>(x.getType()).getElementType());
  return tensor::ExtractSliceOp::create(b, loc, type, x, ValueRange{},
                                        ValueRange{}, ValueRange{}, offsets,
                                        sizes, strides);
}

Value TensorOps::insertSlice(Value src, Value dest, ArrayRef<int64_t> offsets) {
  SmallVector<int64_t> strides(offsets.size(), 1);
  return tensor::InsertSliceOp::create(b, loc, src, dest, ValueRange{},
                                       ValueRange{}, ValueRange{}, offsets,
                                       shape(src), strides);
}

Value TensorOps::expand(Value x, ArrayRef<int64_t> s,
                        ArrayRef<SmallVector<int64_t, 2>> reassociation) {
  SmallVector<ReassociationIndices> re(reassociation.begin(),
                                       reassociation.end());
  auto type = RankedTensorType::get(
      s, cast<RankedTensorType>(x.getType()).getElementType());
  return tensor::ExpandShapeOp::create(b, loc, type, x, re);
}

Value TensorOps::collapse(Value x,
                          ArrayRef<SmallVector<int64_t, 2>> reassociation) {
  SmallVector<ReassociationIndices> re(reassociation.begin(),
                                       reassociation.end());
  return tensor::CollapseShapeOp::create(b, loc, x, re);
}
