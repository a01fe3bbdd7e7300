//===- LowerLMHead.cpp - bitttt.lm_head(_q) → row-parallel vector kernel --===//
//
// logits = x · Wᵀ, the decode-time GEMV over the largest weight of a model
// (vocab × hidden). Per (row, token): a loop over column chunks of
// kUnroll × lanes, each lane group FMA'd into its own accumulator so the
// chains are independent, the ragged end read with masks, then one
// horizontal sum. `lanes` is the target's f32 vector width (CpuTargets.def);
// rows run on the runtime's thread pool (scf.forall, buildRowParallel).
// The int8 head (lm_head_q) runs the same loops on 32-byte int8 chunks with
// the target's int8 dot (docs/lm-head.md).
//
//===----------------------------------------------------------------------===//
#include "PassTarget.h"
#include "bitttt/Dialect/BitTTTOps.h"
#include "bitttt/Target/X86/Passes.h"
#include "bitttt/Transforms/Builders.h"

namespace mlir::bitttt {
#define GEN_PASS_DEF_BITTTTLOWERLMHEAD
#include "bitttt/Target/X86/Passes.h.inc"
} // namespace mlir::bitttt

using namespace mlir;
using namespace mlir::bitttt;

namespace {

/// Independent accumulators per row: enough to hide the FMA latency.
constexpr int64_t kUnroll = 4;

/// One step of the row kernel: kUnroll chunks of `lanes` columns from `col`,
/// each into its own accumulator.
SmallVector<Value> denseStep(ImplicitLocOpBuilder &b, int64_t lanes, Value x,
                             Value w, Value r, Value t, Value col,
                             ValueRange accs, bool inBounds) {
  Type f32 = b.getF32Type();
  auto xVec = VectorType::get({lanes}, f32);
  auto wType = cast<ShapedType>(w.getType()).getElementType();
  auto wVec = VectorType::get({lanes}, wType);
  Value xPad = arith::ConstantOp::create(b, b.getF32FloatAttr(0));
  Value wPad = arith::ConstantOp::create(b, b.getFloatAttr(wType, 0));
  SmallVector<Value> out;
  for (int64_t u = 0; u < kUnroll; ++u) {
    Value c = arith::AddIOp::create(
        b, col, arith::ConstantIndexOp::create(b, u * lanes));
    Value xs = vector::TransferReadOp::create(b, xVec, x, ValueRange{t, c},
                                              xPad, ArrayRef<bool>{inBounds});
    Value ws = vector::TransferReadOp::create(b, wVec, w, ValueRange{r, c},
                                              wPad, ArrayRef<bool>{inBounds});
    if (wType != f32)
      ws = arith::ExtFOp::create(b, xVec, ws);
    out.push_back(vector::FMAOp::create(b, xs, ws, accs[u]));
  }
  return out;
}

/// One step of a row kernel: kUnroll chunks from column `col`, each into
/// its own accumulator.
using RowStep = function_ref<SmallVector<Value>(
    ImplicitLocOpBuilder &, Value col, ValueRange accs, bool inBounds)>;

/// The row loop both heads share: whole steps of `chunk` columns in bounds,
/// the ragged end read with masks, the accumulators added, one horizontal
/// sum.
Value sumRow(ImplicitLocOpBuilder &lb, int64_t cols, int64_t chunk,
             ValueRange zeros, RowStep step) {
  auto index = [&](int64_t v) { return arith::ConstantIndexOp::create(lb, v); };
  int64_t full = cols / chunk;
  auto loop = scf::ForOp::create(
      lb, index(0), index(full), index(1), zeros,
      [&](OpBuilder &ob, Location loc, Value i, ValueRange accs) {
        ImplicitLocOpBuilder kb(loc, ob);
        Value col = arith::MulIOp::create(
            kb, i, arith::ConstantIndexOp::create(kb, chunk));
        scf::YieldOp::create(kb, step(kb, col, accs, true));
      });
  SmallVector<Value> accs(loop.getResults());
  if (cols % chunk)
    accs = step(lb, index(full * chunk), accs, false);
  Value sum = accs[0];
  bool isFloat = isa<FloatType>(getElementTypeOrSelf(sum.getType()));
  for (Value a : ArrayRef<Value>(accs).drop_front())
    sum = isFloat ? Value(arith::AddFOp::create(lb, sum, a))
                  : Value(arith::AddIOp::create(lb, sum, a));
  return vector::ReductionOp::create(lb, vector::CombiningKind::ADD, sum);
}

Value buildLMHead(ImplicitLocOpBuilder &b, LMHeadOp op, int64_t lanes) {
  TensorBuilder tb(b);
  Value x = op.getInput(), w = op.getWeight();
  int64_t rows = op.getWeight().getType().getDimSize(0);
  int64_t cols = op.getWeight().getType().getDimSize(1);
  int64_t chunk = lanes * kUnroll;
  auto accType = VectorType::get({lanes}, b.getF32Type());
  Value zero = arith::ConstantOp::create(
      b, DenseElementsAttr::get(accType, b.getF32FloatAttr(0)));
  SmallVector<Value> zeros(kUnroll, zero);
  return buildRowParallel(
      tb, rows, x, [&](ImplicitLocOpBuilder &lb, Value r, Value t) {
        return sumRow(lb, cols, chunk, zeros,
                      [&](ImplicitLocOpBuilder &kb, Value col, ValueRange accs,
                          bool inBounds) {
                        return denseStep(kb, lanes, x, w, r, t, col, accs,
                                         inBounds);
                      });
      });
}

/// Bytes per int8 chunk: one ymm of the dot kernel ops.
constexpr int64_t kI8Chunk = 32;

/// One step of the int8 row kernel: kUnroll chunks of 32 codes from `col`,
/// each into its own i32 accumulator. Out-of-range weights read as 0, so
/// their products vanish whatever the activation padding is.
SmallVector<Value> int8Step(ImplicitLocOpBuilder &b, bool vnni, Value x,
                            Value w, Value r, Value t, Value col,
                            ValueRange accs, bool inBounds) {
  auto bytes = VectorType::get({kI8Chunk}, b.getI8Type());
  Value pad = arith::ConstantOp::create(b, b.getI8IntegerAttr(0));
  SmallVector<Value> out;
  for (int64_t u = 0; u < kUnroll; ++u) {
    Value c = arith::AddIOp::create(
        b, col, arith::ConstantIndexOp::create(b, u * kI8Chunk));
    Value xs = vector::TransferReadOp::create(b, bytes, x, ValueRange{t, c},
                                              pad, ArrayRef<bool>{inBounds});
    Value ws = vector::TransferReadOp::create(b, bytes, w, ValueRange{r, c},
                                              pad, ArrayRef<bool>{inBounds});
    out.push_back(
        vnni ? Value(DotU8I8Op::create(b, accs[u].getType(), accs[u], xs, ws))
             : Value(DotI8I8Op::create(b, accs[u].getType(), accs[u], ws, xs)));
  }
  return out;
}

/// logits[t, r] = f32(Σ_k xq[t,k]·w[r,k]) · row_scale[r] / scales[t]
/// (docs/lm-head.md). VNNI's vpdpbusd multiplies unsigned by signed bytes:
/// the activation codes are biased once to xq + 128 (xor 0x80, as u8) and
/// 128·row_sum[r] is subtracted from the row's sum. AVX2 multiplies the
/// signed codes directly (bitttt.dot_i8_i8); row_sum is then unused.
Value buildLMHeadQ(ImplicitLocOpBuilder &b, LMHeadQOp op, bool vnni) {
  TensorBuilder tb(b);
  Value x = op.getCodes(), w = op.getWeight();
  int64_t rows = op.getWeight().getType().getDimSize(0);
  int64_t cols = op.getWeight().getType().getDimSize(1);
  if (vnni) {
    auto type = cast<RankedTensorType>(x.getType());
    Value bias = arith::ConstantOp::create(
        b, DenseElementsAttr::get(type, b.getI8IntegerAttr(-128)));
    x = arith::XOrIOp::create(b, x, bias);
  }
  int64_t chunk = kI8Chunk * kUnroll;
  auto accType = VectorType::get({8}, b.getI32Type());
  Value zero = arith::ConstantOp::create(
      b, DenseElementsAttr::get(accType, b.getI32IntegerAttr(0)));
  SmallVector<Value> zeros(kUnroll, zero);
  return buildRowParallel(
      tb, rows, x, [&](ImplicitLocOpBuilder &lb, Value r, Value t) {
        Value dot =
            sumRow(lb, cols, chunk, zeros,
                   [&](ImplicitLocOpBuilder &kb, Value col, ValueRange accs,
                       bool inBounds) {
                     return int8Step(kb, vnni, x, w, r, t, col, accs, inBounds);
                   });
        if (vnni) {
          Value rowSum =
              tensor::ExtractOp::create(lb, op.getRowSum(), ValueRange{r});
          Value bias = arith::ShLIOp::create(
              lb, rowSum,
              arith::ConstantOp::create(lb, lb.getI32IntegerAttr(7)));
          dot = arith::SubIOp::create(lb, dot, bias);
        }
        Value f = arith::SIToFPOp::create(lb, lb.getF32Type(), dot);
        Value rowScale =
            tensor::ExtractOp::create(lb, op.getRowScale(), ValueRange{r});
        Value tokScale =
            tensor::ExtractOp::create(lb, op.getScales(), ValueRange{t});
        f = arith::MulFOp::create(lb, f, rowScale);
        return Value(arith::DivFOp::create(lb, f, tokScale));
      });
}

struct LowerLMHeadPass
    : mlir::bitttt::impl::BitTTTLowerLMHeadBase<LowerLMHeadPass> {
  using BitTTTLowerLMHeadBase::BitTTTLowerLMHeadBase;

  void runOnOperation() override {
    const ::bitttt::x86::CpuTarget *cpu =
        targetForPass(getOperation(), "bitttt-lower-lm-head", target);
    if (!cpu)
      return signalPassFailure();
    WalkResult result = getOperation().walk([&](LMHeadOp op) {
      if (!op.getWeight().getType().hasStaticShape()) {
        op.emitOpError("needs a static weight shape to lower to the "
                       "row-parallel kernel");
        return WalkResult::interrupt();
      }
      ImplicitLocOpBuilder b(op.getLoc(), op);
      Value logits = buildLMHead(b, op, cpu->f32Lanes);
      op.getResult().replaceAllUsesWith(logits);
      op.erase();
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      return signalPassFailure();
    bool vnni = cpu->dot == ::bitttt::x86::DotKind::Vnni;
    result = getOperation().walk([&](LMHeadQOp op) {
      if (!op.getWeight().getType().hasStaticShape()) {
        op.emitOpError("needs a static weight shape to lower to the "
                       "row-parallel kernel");
        return WalkResult::interrupt();
      }
      ImplicitLocOpBuilder b(op.getLoc(), op);
      Value logits = buildLMHeadQ(b, op, vnni);
      op.getResult().replaceAllUsesWith(logits);
      op.erase();
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
