//===- Quantize.cpp - the BitLinear quantizers as linalg on tensors -------===//
#include "Quantize.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::bitttt;

namespace {

// Floors of DESIGN.md §1.
constexpr double kWeightEps = 1e-5;
constexpr double kActEps = 1e-5;

/// clamp(roundeven(v), lo, hi) as i8.
Value roundClampToI8(ImplicitLocOpBuilder &b, TensorBuilder &tb, Value v,
                     double lo, double hi) {
  v = math::RoundEvenOp::create(b, v);
  v = arith::MaximumFOp::create(b, v, tb.f32(lo));
  v = arith::MinimumFOp::create(b, v, tb.f32(hi));
  return arith::FPToSIOp::create(b, b.getI8Type(), v);
}

} // namespace

std::pair<Value, Value> mlir::bitttt::buildActQuant(
    TensorBuilder &tb, ArrayRef<OpFoldResult> sizes, ValueRange inputs,
    ArrayRef<AffineMap> maps,
    function_ref<Value(ImplicitLocOpBuilder &, ValueRange)> element) {
  ImplicitLocOpBuilder &b = tb.builder();
  Type f32 = b.getF32Type();
  AffineMap row = tb.dims(2, {0});
  SmallVector<AffineMap> amaxMaps(maps);
  amaxMaps.push_back(row);
  Value amax = tb.generic(inputs, tb.freshFilled({sizes[0]}, 0.0), amaxMaps,
                          {kPar, kRed},
                          [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                            Value x = element(ib, a.drop_back());
                            return arith::MaximumFOp::create(
                                ib, a.back(), math::AbsFOp::create(ib, x));
                          });
  Value scale =
      tb.map(amax, {sizes[0]}, f32, {tb.identity(1)},
             [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
               Value m = arith::MaximumFOp::create(ib, a[0], tb.f32(kActEps));
               return arith::DivFOp::create(ib, tb.f32(127.0), m);
             });
  SmallVector<Value> codeInputs(inputs);
  codeInputs.push_back(scale);
  SmallVector<AffineMap> codeMaps(maps);
  codeMaps.push_back(row);
  Value codes = tb.map(codeInputs, sizes, b.getI8Type(), codeMaps,
                       [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                         // a = (inputs..., scale, the output element)
                         size_t n = inputs.size();
                         Value x = element(ib, a.take_front(n));
                         Value v = arith::MulFOp::create(ib, x, a[n]);
                         return roundClampToI8(ib, tb, v, -128.0, 127.0);
                       });
  return {codes, scale};
}

std::pair<Value, Value> mlir::bitttt::buildActQuant(TensorBuilder &tb,
                                                    Value x) {
  return buildActQuant(
      tb, tb.sizes(x), x, {tb.identity(2)},
      [](ImplicitLocOpBuilder &, ValueRange a) { return a[0]; });
}

std::pair<Value, Value> mlir::bitttt::buildWeightQuant(TensorBuilder &tb,
                                                       Value w) {
  ImplicitLocOpBuilder &b = tb.builder();
  SmallVector<OpFoldResult> s = tb.sizes(w);
  Type f32 = b.getF32Type(), f64 = b.getF64Type();
  auto shape = cast<ShapedType>(w.getType()).getShape();
  double count = double(shape[0]) * double(shape[1]);
  Value sumAbs = tb.generic(
      w, tb.filled({}, f64, 0.0), {tb.identity(2), tb.dims(2, {})},
      {kRed, kRed}, [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
        Value abs = arith::ExtFOp::create(
            ib, f64, math::AbsFOp::create(ib, a[0]).getResult());
        return arith::AddFOp::create(ib, a[1], abs);
      });
  Value total = tensor::ExtractOp::create(b, sumAbs, ValueRange{});
  Value mean = arith::DivFOp::create(
      b, total, arith::ConstantOp::create(b, b.getF64FloatAttr(count)));
  Value gamma = arith::MaximumFOp::create(
      b, arith::TruncFOp::create(b, f32, mean), tb.f32(kWeightEps));
  Value codes = tb.map(w, s, b.getI8Type(), {tb.identity(2)},
                       [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                         Value v = arith::DivFOp::create(ib, a[0], gamma);
                         return roundClampToI8(ib, tb, v, -1.0, 1.0);
                       });
  return {codes, gamma};
}
