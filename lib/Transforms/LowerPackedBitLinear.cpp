//===- LowerPackedBitLinear.cpp - packed BitLinear, target-independent ---===//
//
// The part of the packed ternary BitLinear lowering that does not depend on
// the target: a BitLinear with int8 activations becomes `act_quant` +
// `bitlinear_q` (the packed weight stays, for the target's tiled kernel,
// lib/Target/X86/LowerTernaryMatmul.cpp); one with f32 activations and
// `unpack_ternary` become loops over the unpacked codes (layout i2_b128 or
// t5_b160, docs/packing.md), read through casts of the packed arguments to
// their bytes that the target pass folds when it retypes the arguments.
//
//===----------------------------------------------------------------------===//
#include "bitttt/Dialect/BitTTTOps.h"
#include "bitttt/Transforms/Builders.h"
#include "bitttt/Transforms/Passes.h"

#include "mlir/Dialect/Math/IR/Math.h"

namespace mlir::bitttt {
#define GEN_PASS_DEF_BITTTTLOWERPACKEDBITLINEAR
#include "bitttt/Transforms/Passes.h.inc"
} // namespace mlir::bitttt

using namespace mlir;
using namespace mlir::bitttt;

namespace {

/// Codes as a `tensor<R x K x i8>` of ternary values (weight = code - 1);
/// the f32-activation path and `unpack_ternary` use this. Column k is
/// sub-vector `sub` = (k mod B) / 32 of byte `lane` = k mod 32 of block
/// k / B (B = 128 or 160 weights per 32-byte block): in i2_b128 bits
/// [2·sub, 2·sub + 1]; in t5_b160 the top two bits of 3·(byte·3^sub mod 256).
Value unpackCodes(TensorBuilder &tb, Value bytes, PackedTernaryType type) {
  ImplicitLocOpBuilder &b = tb.builder();
  bool t5 = type.getLayout() == ::bitttt::format::TernaryLayout::T5B160;
  int64_t block = ::bitttt::format::blockWeights(type.getLayout());
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(type.getRows()),
                                     b.getIndexAttr(type.getCols())};
  return tb.map(
      {}, sizes, b.getI8Type(), {},
      [&](ImplicitLocOpBuilder &ib, ValueRange) -> Value {
        auto i8 = [&](int64_t v) {
          return arith::ConstantOp::create(ib, ib.getI8IntegerAttr(v));
        };
        Value r = linalg::IndexOp::create(ib, 0);
        Value k = linalg::IndexOp::create(ib, 1);
        Value blk = arith::DivUIOp::create(ib, k, tb.index(block));
        Value in = arith::RemUIOp::create(ib, k, tb.index(block));
        Value sub = arith::DivUIOp::create(ib, in, tb.index(32));
        Value lane = arith::RemUIOp::create(ib, in, tb.index(32));
        Value col = arith::AddIOp::create(
            ib, arith::MulIOp::create(ib, blk, tb.index(32)), lane);
        Value byte = tensor::ExtractOp::create(ib, bytes, ValueRange{r, col});
        Value q;
        if (t5) {
          // 3^sub mod 256 (1, 3, 9, 27, 81), byte·3^sub wrapping in i8,
          // then (m · 3) >> 8 in i16.
          Value pow = i8(1);
          for (int64_t s = 1, p = 3; s < 5; ++s, p *= 3) {
            Value is = arith::CmpIOp::create(ib, arith::CmpIPredicate::eq, sub,
                                             tb.index(s));
            pow = arith::SelectOp::create(ib, is, i8(p), pow);
          }
          Value m = arith::MulIOp::create(ib, byte, pow);
          Type i16 = ib.getI16Type();
          Value wide = arith::MulIOp::create(
              ib, arith::ExtUIOp::create(ib, i16, m),
              arith::ConstantOp::create(ib, ib.getI16IntegerAttr(3)));
          q = arith::TruncIOp::create(
              ib, ib.getI8Type(),
              arith::ShRUIOp::create(
                  ib, wide,
                  arith::ConstantOp::create(ib, ib.getI16IntegerAttr(8))));
        } else {
          Value shift = arith::IndexCastOp::create(
              ib, ib.getI8Type(), arith::MulIOp::create(ib, sub, tb.index(2)));
          q = arith::AndIOp::create(ib, arith::ShRUIOp::create(ib, byte, shift),
                                    i8(3));
        }
        return arith::SubIOp::create(ib, q, i8(1));
      });
}

/// act_bits = 0: y = (x · Wqᵀ) · γ in f32 over unpacked codes.
Value buildF32Kernel(TensorBuilder &tb, BitLinearOp op, Value bytes,
                     PackedTernaryType type) {
  ImplicitLocOpBuilder &b = tb.builder();
  Type f32 = b.getF32Type();
  Value w = unpackCodes(tb, bytes, type);
  Value x = op.getInput();
  SmallVector<OpFoldResult> xs = tb.sizes(x);
  Value init = tb.filled({xs[0], b.getIndexAttr(type.getRows())}, f32, 0.0);
  Value dot =
      tb.generic({x, w}, init,
                 {tb.dims(3, {0, 2}), tb.dims(3, {1, 2}), tb.dims(3, {0, 1})},
                 {utils::IteratorType::parallel, utils::IteratorType::parallel,
                  utils::IteratorType::reduction},
                 [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                   Value wf = arith::SIToFPOp::create(ib, f32, a[1]);
                   return arith::AddFOp::create(
                       ib, a[2], arith::MulFOp::create(ib, a[0], wf));
                 });
  Value gamma = op.getScale();
  return tb.map(dot, tb.sizes(dot), f32, {tb.identity(2)},
                [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                  return arith::MulFOp::create(ib, a[0], gamma);
                });
}

struct LowerPackedBitLinearPass
    : mlir::bitttt::impl::BitTTTLowerPackedBitLinearBase<
          LowerPackedBitLinearPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal())
      return;

    // Packed values must be function arguments: they become byte tensors.
    // The kernels read them through a cast that is folded away at the end.
    SmallVector<Operation *> toLower;
    WalkResult walk = func.walk([&](Operation *op) {
      for (Value v : op->getOperands()) {
        if (!isPackedTernary(v))
          continue;
        if (!isa<BlockArgument>(v) ||
            cast<BlockArgument>(v).getOwner()->getParentOp() != func) {
          op->emitError("packed_ternary operand must be a function argument "
                        "when lowering to kernels");
          return WalkResult::interrupt();
        }
        if (!isa<BitLinearOp, BitLinearQOp, GateUpQOp, UnpackTernaryOp,
                 func::CallOp>(op)) {
          op->emitError("cannot lower this use of a packed_ternary value");
          return WalkResult::interrupt();
        }
      }
      if (isa<BitLinearOp, UnpackTernaryOp>(op) &&
          llvm::any_of(op->getOperands(), isPackedTernary))
        toLower.push_back(op);
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return signalPassFailure();

    for (Operation *op : toLower) {
      ImplicitLocOpBuilder b(op->getLoc(), op);
      TensorBuilder tb(b);
      auto bytesOf = [&](Value packed) { return castToPackedBytes(b, packed); };
      Value result;
      if (auto unpack = dyn_cast<UnpackTernaryOp>(op)) {
        result = unpackCodes(tb, bytesOf(unpack.getPacked()),
                             unpack.getPacked().getType());
      } else {
        auto bl = cast<BitLinearOp>(op);
        auto type = cast<PackedTernaryType>(bl.getWeight().getType());
        if (bl.getActBitsAttr().getInt() == 8) {
          auto xType = bl.getInput().getType();
          auto quant = ActQuantOp::create(
              b, RankedTensorType::get(xType.getShape(), b.getI8Type()),
              RankedTensorType::get({xType.getDimSize(0)}, b.getF32Type()),
              bl.getInput());
          result = BitLinearQOp::create(b, bl.getType(), quant.getCodes(),
                                        quant.getScales(), bl.getWeight(),
                                        bl.getScale());
        } else {
          result = buildF32Kernel(tb, bl, bytesOf(bl.getWeight()), type);
        }
      }
      op->getResult(0).replaceAllUsesWith(result);
      op->erase();
    }

    // The packed arguments keep their type: bitttt-lower-ternary-matmul
    // lowers the int8 kernels for its target, then retypes them.
  }
};

} // namespace
