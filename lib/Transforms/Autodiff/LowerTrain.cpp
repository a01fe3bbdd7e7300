//===- LowerTrain.cpp - training-only ops → linalg on tensors -------------===//
//
// After bitttt-autodiff: the forward BitLinears of training run as f32
// GEMMs of the quantized values (exact: integer sums below 2²⁴), the LM
// head as a GEMM, and the loss, the embedding cotangent and the optimizer
// update as linalg. Everything else is bitttt-decompose's.
//
//===----------------------------------------------------------------------===//
#include "TensorOps.h"
#include "bitttt/Dialect/BitTTTOps.h"
#include "bitttt/Transforms/Builders.h"
#include "bitttt/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::bitttt {
#define GEN_PASS_DEF_BITTTTLOWERTRAIN
#include "bitttt/Transforms/Passes.h.inc"
} // namespace mlir::bitttt

using namespace mlir;
using namespace mlir::bitttt;

namespace {

// y = ((xq · Wqᵀ) · γ) / s, the dot an f32 GEMM of integer values.
struct LatentBitLinearPattern : OpRewritePattern<BitLinearOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BitLinearOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getScale() || !isa<RankedTensorType>(op.getWeight().getType()))
      return rewriter.notifyMatchFailure(op, "packed weight");
    TensorOps t(rewriter, op.getLoc());
    auto [wf, gamma] = t.weightCodes(op.getWeight());
    Value xf = op.getInput(), scales;
    if (op.getActBits() != 0)
      std::tie(xf, scales) = t.actCodes(op.getInput());
    Value dot = t.matmul(xf, t.transposeLast2(wf));
    ArrayRef<int64_t> s = TensorOps::shape(dot);
    Value y = t.mul(dot, t.filledWith(s, gamma));
    if (scales)
      y = t.div(y, t.broadcastLast(scales, s));
    rewriter.replaceOp(op, y);
    return success();
  }
};

struct LMHeadGemmPattern : OpRewritePattern<LMHeadOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LMHeadOp op,
                                PatternRewriter &rewriter) const override {
    if (!cast<RankedTensorType>(op.getWeight().getType())
             .getElementType()
             .isF32())
      return rewriter.notifyMatchFailure(op, "bf16 weight");
    TensorOps t(rewriter, op.getLoc());
    rewriter.replaceOp(
        op, t.matmul(op.getInput(), t.transposeLast2(op.getWeight())));
    return success();
  }
};

// loss = Σ_i (max_i + log Σ_j exp(x_ij − max_i) − x_i[t_i]) / N.
struct CrossEntropyPattern : OpRewritePattern<CrossEntropyOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(CrossEntropyOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getIgnoreIndex())
      return rewriter.notifyMatchFailure(op, "ignore_index");
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    TensorBuilder tb(b);
    Value x = op.getLogits();
    int64_t rows = cast<RankedTensorType>(x.getType()).getDimSize(0);
    Type f32 = b.getF32Type();
    SmallVector<OpFoldResult> r = {b.getIndexAttr(rows)};
    AffineMap id = tb.identity(2), row = tb.dims(2, {0});
    auto [max, sum] = buildRowMaxSumExp(tb, x);
    Value picked = tb.generic(
        {x, op.getTargets()}, tb.filled(r, f32, 0.0), {id, row, row},
        {kPar, kRed}, [](ImplicitLocOpBuilder &nb, ValueRange a) -> Value {
          Value j = linalg::IndexOp::create(nb, 1);
          Value tj = arith::IndexCastOp::create(nb, nb.getIndexType(), a[1]);
          Value hit =
              arith::CmpIOp::create(nb, arith::CmpIPredicate::eq, j, tj);
          return arith::SelectOp::create(nb, hit, a[0], a[2]);
        });
    AffineMap r1 = tb.identity(1);
    AffineMap scalar = AffineMap::get(1, 0, {}, b.getContext());
    Value total = tb.generic(
        {max, sum, picked}, tb.filled({}, f32, 0.0), {r1, r1, r1, scalar},
        {kRed}, [](ImplicitLocOpBuilder &nb, ValueRange a) -> Value {
          Value lse =
              arith::AddFOp::create(nb, a[0], math::LogOp::create(nb, a[1]));
          return arith::AddFOp::create(nb, a[3],
                                       arith::SubFOp::create(nb, lse, a[2]));
        });
    Value sumLoss = tensor::ExtractOp::create(b, total, ValueRange{});
    Value loss = arith::DivFOp::create(
        b, sumLoss, arith::ConstantOp::create(b, b.getF32FloatAttr(rows)));
    rewriter.replaceOp(op, loss);
    return success();
  }
};

// result[ids[i]] += grad[i], row by row (ids repeat: a scatter-add).
struct EmbeddingGradPattern : OpRewritePattern<EmbeddingGradOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(EmbeddingGradOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    TensorOps t(rewriter, op.getLoc());
    auto rt = cast<RankedTensorType>(op.getType());
    int64_t rows = op.getGrad().getType().getDimSize(0);
    int64_t d = rt.getDimSize(1);
    Value init = t.zeros(rt.getShape());
    Value lb = arith::ConstantIndexOp::create(b, 0);
    Value ub = arith::ConstantIndexOp::create(b, rows);
    Value one = arith::ConstantIndexOp::create(b, 1);
    auto loop = scf::ForOp::create(
        b, lb, ub, one, ValueRange{init},
        [&](OpBuilder &nb, Location loc, Value i, ValueRange iter) {
          Value id = tensor::ExtractOp::create(nb, loc, op.getIds(), i);
          Value idx =
              arith::IndexCastOp::create(nb, loc, nb.getIndexType(), id);
          SmallVector<OpFoldResult> sizes = {nb.getIndexAttr(1),
                                             nb.getIndexAttr(d)};
          SmallVector<OpFoldResult> strides = {nb.getIndexAttr(1),
                                               nb.getIndexAttr(1)};
          SmallVector<OpFoldResult> at = {idx, nb.getIndexAttr(0)};
          SmallVector<OpFoldResult> src = {i, nb.getIndexAttr(0)};
          auto rowType = RankedTensorType::get({1, d}, nb.getF32Type());
          Value acc = tensor::ExtractSliceOp::create(nb, loc, rowType, iter[0],
                                                     at, sizes, strides);
          Value g = tensor::ExtractSliceOp::create(
              nb, loc, rowType, op.getGrad(), src, sizes, strides);
          Value sum = arith::AddFOp::create(nb, loc, acc, g);
          Value next = tensor::InsertSliceOp::create(nb, loc, sum, iter[0], at,
                                                     sizes, strides);
          scf::YieldOp::create(nb, loc, next);
        });
    rewriter.replaceOp(op, loop.getResult(0));
    return success();
  }
};

// One fused pass over (p, g, m, v), written in place into p, m, v.
struct AdamWPattern : OpRewritePattern<AdamWOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AdamWOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    Type f64 = b.getF64Type(), f32 = b.getF32Type();
    auto c64 = [&](double v) {
      return arith::ConstantOp::create(b, b.getF64FloatAttr(v)).getResult();
    };
    auto c32 = [&](double v) {
      return arith::ConstantOp::create(b, b.getF32FloatAttr(v)).getResult();
    };
    double beta1 = op.getBeta1().convertToDouble();
    double beta2 = op.getBeta2().convertToDouble();
    double eps = op.getEps().convertToDouble();
    double wd = op.getWeightDecay().convertToDouble();
    // Bias corrections in f64 (as the reference's Python floats).
    Value tf = arith::SIToFPOp::create(b, f64, op.getStep());
    Value bc1 = arith::SubFOp::create(b, c64(1.0),
                                      math::PowFOp::create(b, c64(beta1), tf));
    Value bc2 = arith::SubFOp::create(b, c64(1.0),
                                      math::PowFOp::create(b, c64(beta2), tf));
    Value lr64 = arith::ExtFOp::create(b, f64, op.getLr());
    Value decay = arith::TruncFOp::create(
        b, f32,
        arith::SubFOp::create(b, c64(1.0),
                              arith::MulFOp::create(b, lr64, c64(wd))));
    Value stepSize =
        arith::TruncFOp::create(b, f32, arith::DivFOp::create(b, lr64, bc1));
    Value sqrtBc2 =
        arith::TruncFOp::create(b, f32, math::SqrtOp::create(b, bc2));
    Value vb1 = c32(beta1), vb2 = c32(beta2), vEps = c32(eps);
    Value ob1 = c32(1.0 - beta1), ob2 = c32(1.0 - beta2);

    auto type = cast<RankedTensorType>(op.getParam().getType());
    AffineMap id = b.getMultiDimIdentityMap(type.getRank());
    SmallVector<utils::IteratorType> iters(type.getRank(), kPar);
    auto generic = linalg::GenericOp::create(
        b, TypeRange{type, type, type}, ValueRange{op.getGrad()},
        ValueRange{op.getParam(), op.getExpAvg(), op.getExpAvgSq()},
        SmallVector<AffineMap>(4, id), iters,
        [&](OpBuilder &nb, Location loc, ValueRange a) {
          ImplicitLocOpBuilder ib(loc, nb);
          Value g = a[0], p = a[1], m = a[2], v = a[3];
          Value pd = arith::MulFOp::create(ib, p, decay);
          Value m1 =
              arith::AddFOp::create(ib, arith::MulFOp::create(ib, vb1, m),
                                    arith::MulFOp::create(ib, ob1, g));
          Value v1 = arith::AddFOp::create(
              ib, arith::MulFOp::create(ib, vb2, v),
              arith::MulFOp::create(ib, arith::MulFOp::create(ib, ob2, g), g));
          Value denom = arith::AddFOp::create(
              ib,
              arith::DivFOp::create(ib, math::SqrtOp::create(ib, v1), sqrtBc2),
              vEps);
          Value upd = arith::DivFOp::create(
              ib, arith::MulFOp::create(ib, stepSize, m1), denom);
          Value p1 = arith::SubFOp::create(ib, pd, upd);
          linalg::YieldOp::create(ib, ValueRange{p1, m1, v1});
        });
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

struct LowerTrainPass
    : mlir::bitttt::impl::BitTTTLowerTrainBase<LowerTrainPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<LatentBitLinearPattern, LMHeadGemmPattern, CrossEntropyPattern,
                 EmbeddingGradPattern, AdamWPattern>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    // Broadcasts, transposes and sums as generics: elementwise fusion then
    // folds them into the loops around them (the backward pass is mostly
    // such chains), leaving GEMMs named for the GEMM kernels.
    SmallVector<linalg::LinalgOp> named;
    getOperation().walk([&](Operation *op) {
      if (isa<linalg::BroadcastOp, linalg::TransposeOp, linalg::ReduceOp>(op))
        named.push_back(cast<linalg::LinalgOp>(op));
    });
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp op : named) {
      rewriter.setInsertionPoint(op);
      if (failed(linalg::generalizeNamedOp(rewriter, op)))
        return signalPassFailure();
    }
  }
};

} // namespace
