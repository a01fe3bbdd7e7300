//===- Decompose.cpp - bitttt ops to linalg on tensors --------------------===//
//
// Each pattern writes one op of DESIGN.md §1 as linalg.generics whose bodies
// follow the PyTorch reference's operation order (python/bitttt_ref/ops.py),
// so f32 results agree to rounding and int8 paths agree exactly.
//
//===----------------------------------------------------------------------===//
#include "DecomposeTTT.h"
#include "Quantize.h"
#include "bitttt/Dialect/BitTTTOps.h"
#include "bitttt/Transforms/Builders.h"
#include "bitttt/Transforms/Passes.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::bitttt {
#define GEN_PASS_DEF_BITTTTDECOMPOSE
#include "bitttt/Transforms/Passes.h.inc"
} // namespace mlir::bitttt

using namespace mlir;
using namespace mlir::bitttt;

namespace {

Value staticDimAsF32(TensorBuilder &tb, Value tensor, unsigned dim) {
  return tb.f32(double(cast<ShapedType>(tensor.getType()).getDimSize(dim)));
}

/// Per-row sum of `f(x)` over the last dim of a [T, D] tensor.
Value rowSum(TensorBuilder &tb, Value x,
             function_ref<Value(ImplicitLocOpBuilder &, Value)> term) {
  SmallVector<OpFoldResult> s = tb.sizes(x);
  return tb.generic(x, tb.freshFilled({s[0]}, 0.0),
                    {tb.identity(2), tb.dims(2, {0})}, {kPar, kRed},
                    [&](ImplicitLocOpBuilder &b, ValueRange a) -> Value {
                      return arith::AddFOp::create(b, a[1], term(b, a[0]));
                    });
}

struct ActQuantPattern : OpRewritePattern<ActQuantOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ActQuantOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    TensorBuilder tb(b);
    auto [codes, scale] = buildActQuant(tb, op.getInput());
    rewriter.replaceOp(op, {codes, scale});
    return success();
  }
};

struct WeightQuantPattern : OpRewritePattern<WeightQuantOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(WeightQuantOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    TensorBuilder tb(b);
    auto [codes, gamma] = buildWeightQuant(tb, op.getWeight());
    rewriter.replaceOp(op, {codes, gamma});
    return success();
  }
};

//===----------------------------------------------------------------------===//
// BitLinear with a latent f32 weight
//===----------------------------------------------------------------------===//

/// y[t,o] = Σ_k x[t,k]·w[o,k] as one (parallel, parallel, reduction)
/// generic; `mul` forms one product term, `acc` its accumulator type.
Value contractRows(
    TensorBuilder &tb, Value x, Value w, Type accType,
    function_ref<Value(ImplicitLocOpBuilder &, Value, Value)> term) {
  SmallVector<OpFoldResult> xs = tb.sizes(x), ws = tb.sizes(w);
  Value init = isa<FloatType>(accType)
                   ? tb.filled({xs[0], ws[0]}, accType, 0.0)
                   : tb.filledInt({xs[0], ws[0]}, accType, 0);
  return tb.generic(
      {x, w}, init,
      {tb.dims(3, {0, 2}), tb.dims(3, {1, 2}), tb.dims(3, {0, 1})},
      {kPar, kPar, kRed}, [&](ImplicitLocOpBuilder &b, ValueRange a) -> Value {
        Value p = term(b, a[0], a[1]);
        return isa<FloatType>(accType)
                   ? Value(arith::AddFOp::create(b, a[2], p))
                   : Value(arith::AddIOp::create(b, a[2], p));
      });
}

Value buildBitLinear(TensorBuilder &tb, Value x, Value w, int64_t actBits) {
  ImplicitLocOpBuilder &b = tb.builder();
  Type f32 = b.getF32Type(), i32 = b.getI32Type();
  auto [wq, gammaValue] = buildWeightQuant(tb, w);
  Value gamma = gammaValue;
  if (actBits == 0) {
    // y = (x · Wqᵀ) · γ
    Value dot = contractRows(tb, x, wq, f32,
                             [&](ImplicitLocOpBuilder &ib, Value a, Value c) {
                               Value cf = arith::SIToFPOp::create(ib, f32, c);
                               return arith::MulFOp::create(ib, a, cf);
                             });
    return tb.map(dot, tb.sizes(dot), f32, {tb.identity(2)},
                  [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                    return arith::MulFOp::create(ib, a[0], gamma);
                  });
  }
  // y = (xq · Wqᵀ) · γ / s, the dot product exact in int32.
  auto [xq, s] = buildActQuant(tb, x);
  Value dot = contractRows(tb, xq, wq, i32,
                           [&](ImplicitLocOpBuilder &ib, Value a, Value c) {
                             Value ai = arith::ExtSIOp::create(ib, i32, a);
                             Value ci = arith::ExtSIOp::create(ib, i32, c);
                             return arith::MulIOp::create(ib, ai, ci);
                           });
  return tb.map({dot, s}, tb.sizes(dot), f32, {tb.identity(2), tb.dims(2, {0})},
                [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                  Value d = arith::SIToFPOp::create(ib, f32, a[0]);
                  Value y = arith::MulFOp::create(ib, d, gamma);
                  return arith::DivFOp::create(ib, y, a[1]);
                });
}

struct BitLinearPattern : OpRewritePattern<BitLinearOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BitLinearOp op,
                                PatternRewriter &rewriter) const override {
    if (isa<PackedTernaryType>(op.getWeight().getType()))
      return rewriter.notifyMatchFailure(op, "packed weights: kernel lowering");
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    TensorBuilder tb(b);
    Value y = buildBitLinear(tb, op.getInput(), op.getWeight(),
                             op.getActBitsAttr().getInt());
    rewriter.replaceOp(op, y);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// SwiGLU: down(silu(gate(x)) ⊙ up(x)), as three BitLinear ops.
//===----------------------------------------------------------------------===//

struct SwiGLUPattern : OpRewritePattern<SwiGLUOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SwiGLUOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    TensorBuilder tb(b);
    IntegerAttr bits = op.getActBitsAttr();
    auto hiddenType =
        RankedTensorType::get({op.getInput().getType().getDimSize(0),
                               op.getGateWeight().getType().getDimSize(0)},
                              b.getF32Type());
    Value g = BitLinearOp::create(b, hiddenType, op.getInput(),
                                  op.getGateWeight(), Value(), bits);
    Value u = BitLinearOp::create(b, hiddenType, op.getInput(),
                                  op.getUpWeight(), Value(), bits);
    Value h = SiluMulOp::create(b, hiddenType, g, u);
    rewriter.replaceOpWithNewOp<BitLinearOp>(op, op.getType(), h,
                                             op.getDownWeight(), Value(), bits);
    return success();
  }
};

// silu(g)·u with silu(g) = g·sigmoid(g) = g / (1 + exp(-g)).
struct SiluMulPattern : OpRewritePattern<SiluMulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SiluMulOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    TensorBuilder tb(b);
    Value h = tb.map({op.getGate(), op.getUp()}, tb.sizes(op.getGate()),
                     b.getF32Type(), {tb.identity(2), tb.identity(2)},
                     [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                       return buildSiluMul(ib, a[0], a[1]);
                     });
    rewriter.replaceOp(op, h);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Norms
//===----------------------------------------------------------------------===//

/// x / sqrt(mean(x²) + eps) · g for one element, given the row's Σx².
Value normalizedElement(ImplicitLocOpBuilder &b, Value x, Value sumSq, Value g,
                        Value d, Value eps) {
  Value ms = arith::DivFOp::create(b, sumSq, d);
  Value den = math::SqrtOp::create(b, arith::AddFOp::create(b, ms, eps));
  return arith::MulFOp::create(b, arith::DivFOp::create(b, x, den), g);
}

struct RMSNormPattern : OpRewritePattern<RMSNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RMSNormOp op,
                                PatternRewriter &rewriter) const override {
    Value x = op.getInput();
    if (ShapedType::isDynamic(op.getInput().getType().getDimSize(1)))
      return rewriter.notifyMatchFailure(op, "needs a static row length");
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    TensorBuilder tb(b);
    Value d = staticDimAsF32(tb, x, 1);
    Value eps = arith::ConstantOp::create(b, op.getEpsAttr());
    Value ss = rowSum(tb, x, [](ImplicitLocOpBuilder &ib, Value v) -> Value {
      return arith::MulFOp::create(ib, v, v);
    });
    Value y = tb.map({x, ss, op.getWeight()}, tb.sizes(x), b.getF32Type(),
                     {tb.identity(2), tb.dims(2, {0}), tb.dims(2, {1})},
                     [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                       return normalizedElement(ib, a[0], a[1], a[2], d, eps);
                     });
    rewriter.replaceOp(op, y);
    return success();
  }
};

/// act_quant(rms_norm(x, g)) without storing the normalized tensor: the two
/// passes that need it (the row max, the codes) recompute each element with
/// the same operations, so codes and scales equal the unfused ones.
struct RMSNormActQuantPattern : OpRewritePattern<RMSNormActQuantOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RMSNormActQuantOp op,
                                PatternRewriter &rewriter) const override {
    Value x = op.getInput();
    if (ShapedType::isDynamic(op.getInput().getType().getDimSize(1)))
      return rewriter.notifyMatchFailure(op, "needs a static row length");
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    TensorBuilder tb(b);
    SmallVector<OpFoldResult> s = tb.sizes(x);
    Value d = staticDimAsF32(tb, x, 1);
    Value eps = arith::ConstantOp::create(b, op.getEpsAttr());
    Value g = op.getWeight();
    Value ss = rowSum(tb, x, [](ImplicitLocOpBuilder &ib, Value v) -> Value {
      return arith::MulFOp::create(ib, v, v);
    });
    // The activation quantizer of rms_norm(x, g), each normalized element
    // recomputed where the quantizer needs it (never stored).
    auto [codes, scale] = buildActQuant(
        tb, s, {x, ss, g}, {tb.identity(2), tb.dims(2, {0}), tb.dims(2, {1})},
        [&](ImplicitLocOpBuilder &ib, ValueRange a) {
          return normalizedElement(ib, a[0], a[1], a[2], d, eps);
        });
    rewriter.replaceOp(op, {codes, scale});
    return success();
  }
};

struct LayerNormPattern : OpRewritePattern<LayerNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LayerNormOp op,
                                PatternRewriter &rewriter) const override {
    Value x = op.getInput();
    auto type = op.getInput().getType();
    unsigned rank = type.getRank();
    unsigned wrank = op.getWeight().getType().getRank();
    if (ShapedType::isDynamic(type.getDimSize(rank - 1)))
      return rewriter.notifyMatchFailure(op, "needs a static row length");
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    TensorBuilder tb(b);
    Type f32 = b.getF32Type();
    Value n = staticDimAsF32(tb, x, rank - 1);
    Value eps = arith::ConstantOp::create(b, op.getEpsAttr());
    SmallVector<OpFoldResult> sizes = tb.sizes(x);
    SmallVector<OpFoldResult> rowSizes(sizes.begin(), sizes.end() - 1);
    SmallVector<unsigned> rowDims, weightDims;
    for (unsigned i = 0; i + 1 < rank; ++i)
      rowDims.push_back(i);
    for (unsigned i = rank - wrank; i < rank; ++i)
      weightDims.push_back(i);
    AffineMap id = tb.identity(rank), row = tb.dims(rank, rowDims),
              wmap = tb.dims(rank, weightDims);
    SmallVector<utils::IteratorType> reduceIters(rank, kPar);
    reduceIters.back() = kRed;
    // μ = mean(x), var = mean((x-μ)²): two passes, as the reference.
    Value sum =
        tb.generic(x, tb.freshFilled(rowSizes, 0.0), {id, row}, reduceIters,
                   [&](ImplicitLocOpBuilder &ib, ValueRange a) {
                     return Value(arith::AddFOp::create(ib, a[1], a[0]));
                   });
    Value mu = tb.map(sum, rowSizes, f32, {tb.identity(rank - 1)},
                      [&](ImplicitLocOpBuilder &ib, ValueRange a) {
                        return Value(arith::DivFOp::create(ib, a[0], n));
                      });
    Value sq =
        tb.generic({x, mu}, tb.freshFilled(rowSizes, 0.0), {id, row, row},
                   reduceIters, [&](ImplicitLocOpBuilder &ib, ValueRange a) {
                     Value c = arith::SubFOp::create(ib, a[0], a[1]);
                     Value c2 = arith::MulFOp::create(ib, c, c);
                     return Value(arith::AddFOp::create(ib, a[2], c2));
                   });
    Value y = tb.map({x, mu, sq, op.getWeight(), op.getBias()}, sizes, f32,
                     {id, row, row, wmap, wmap},
                     [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                       Value c = arith::SubFOp::create(ib, a[0], a[1]);
                       Value var = arith::DivFOp::create(ib, a[2], n);
                       Value den = math::SqrtOp::create(
                           ib, arith::AddFOp::create(ib, var, eps));
                       Value v = arith::DivFOp::create(ib, c, den);
                       v = arith::MulFOp::create(ib, v, a[3]);
                       return arith::AddFOp::create(ib, v, a[4]);
                     });
    rewriter.replaceOp(op, y);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Embedding and LM head
//===----------------------------------------------------------------------===//

struct EmbeddingPattern : OpRewritePattern<EmbeddingOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(EmbeddingOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    TensorBuilder tb(b);
    Value table = op.getTable();
    SmallVector<OpFoldResult> sizes = {tb.sizes(op.getIds())[0],
                                       tb.sizes(table)[1]};
    Value y = tb.map(
        op.getIds(), sizes, b.getF32Type(), {tb.dims(2, {0})},
        [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
          Value row = arith::IndexCastOp::create(ib, ib.getIndexType(), a[0]);
          Value col = linalg::IndexOp::create(ib, 1);
          return tensor::ExtractOp::create(ib, table, ValueRange{row, col});
        });
    rewriter.replaceOp(op, y);
    return success();
  }
};

struct DecomposePass : mlir::bitttt::impl::BitTTTDecomposeBase<DecomposePass> {
  using BitTTTDecomposeBase::BitTTTDecomposeBase;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<SwiGLUPattern>(&getContext());
    populateTTTDecompositionPatterns(patterns);
    if (!layersOnly)
      patterns.add<ActQuantPattern, WeightQuantPattern, BitLinearPattern,
                   SiluMulPattern, RMSNormPattern, RMSNormActQuantPattern,
                   LayerNormPattern, EmbeddingPattern>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::bitttt::populateSwiGLUDecompositionPattern(
    RewritePatternSet &patterns) {
  patterns.add<SwiGLUPattern>(patterns.getContext());
}
