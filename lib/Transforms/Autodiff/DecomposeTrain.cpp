//===- DecomposeTrain.cpp - training forms of the layers → primitives -----===//
//
// `ttt_linear_seqs` / `ttt_seed_seqs` over S sequences of T tokens become
// the mini-batch dual form of DESIGN.md §1 on all sequences and heads at
// once ([S·H, n, f] batched GEMMs), with the mini-batch loop unrolled
// (static shapes), in the tensor primitives of TensorOps.h, in the
// operation order of the reference (python/bitttt_ref/ttt.py), so that
// bitttt-autodiff differentiates the inner loop, the inner LayerNorm and
// its backward mechanically.
//
//===----------------------------------------------------------------------===//
#include "../DecomposeTTT.h"
#include "TensorOps.h"
#include "bitttt/Dialect/BitTTTOps.h"
#include "bitttt/Transforms/Passes.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::bitttt {
#define GEN_PASS_DEF_BITTTTDECOMPOSETRAIN
#include "bitttt/Transforms/Passes.h.inc"
} // namespace mlir::bitttt

using namespace mlir;
using namespace mlir::bitttt;

namespace {

constexpr double kInnerLNEps = 1e-6; // DESIGN.md §1, LayerNorm inside TTT
constexpr double kSeedNormEps = 1e-6;

using Re = SmallVector<SmallVector<int64_t, 2>>;

Value bitLinear(TensorOps &t, Value x, Value w, IntegerAttr bits) {
  auto type = t.f32Type({TensorOps::shape(x)[0], TensorOps::shape(w)[0]});
  return BitLinearOp::create(t.builder(), t.location(), type, x, w, Value(),
                             bits);
}

/// Per-row LayerNorm statistics over the last dim: (x̂, σ).
std::pair<Value, Value> normalize(TensorOps &t, Value x, double eps) {
  ArrayRef<int64_t> s = TensorOps::shape(x);
  int64_t last = s.size() - 1;
  double inv = 1.0 / double(s.back());
  auto mean = [&](Value v) {
    return t.broadcastLast(t.scale(t.reduceSum(v, {last}), inv), s);
  };
  Value xc = t.sub(x, mean(x));
  Value sigma = t.sqrt(t.addScalar(mean(t.mul(xc, xc)), eps));
  return {t.div(xc, sigma), sigma};
}

struct TTTLinearSeqsPattern : OpRewritePattern<TTTLinearSeqsOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TTTLinearSeqsOp op,
                                PatternRewriter &rewriter) const override {
    TensorOps t(rewriter, op.getLoc());
    Value x = op.getInput();
    int64_t n = TensorOps::shape(x)[0], d = TensorOps::shape(x)[1];
    int64_t heads = op.getNumHeads(), f = d / heads;
    int64_t seqs = op.getSequences(), len = n / seqs, bh = seqs * heads;
    int64_t mb = op.getMiniBatch();
    IntegerAttr bits = op.getActBitsAttr();

    Value q = bitLinear(t, x, op.getQProj(), bits);
    Value k = bitLinear(t, x, op.getKProj(), bits);
    Value v = bitLinear(t, x, op.getVProj(), bits);
    // η = base_lr · sigmoid(x · lr_wᵀ + lr_b) / f   [N, H]
    Value logits = t.add(t.matmul(x, t.transposeLast2(op.getLrWeight())),
                         t.broadcast(op.getLrBias(), {n, heads}, {0}));
    Value eta = t.scale(t.sigmoid(logits),
                        op.getBaseLr().convertToDouble() / double(f));

    // [N, D] → [S·H, T, f] and [N, H] → [S·H, T].
    auto heads3 = [&](Value m) {
      Value e = t.expand(m, {seqs, len, heads, f}, Re{{0, 1}, {2, 3}});
      return t.collapse(t.transpose(e, {0, 2, 1, 3}), Re{{0, 1}, {2}, {3}});
    };
    Value qh = heads3(q), kh = heads3(k), vh = heads3(v);
    Value etah = t.collapse(
        t.transpose(t.expand(eta, {seqs, len, heads}, Re{{0, 1}, {2}}),
                    {0, 2, 1}),
        Re{{0, 1}, {2}});
    // Per-head parameters over every sequence: [H, ...] → [S·H, ...].
    Value w = t.collapse(t.broadcast(op.getW0(), {seqs, heads, f, f}, {0}),
                         Re{{0, 1}, {2}, {3}});
    Value c = t.collapse(t.broadcast(op.getB0(), {seqs, heads, f}, {0}),
                         Re{{0, 1}, {2}});
    auto perRow = [&](Value p, int64_t rows) {
      return t.collapse(t.broadcast(p, {seqs, heads, rows, f}, {0, 2}),
                        Re{{0, 1}, {2}, {3}});
    };

    Value out = t.zeros({bh, len, f});
    for (int64_t t0 = 0; t0 < len; t0 += mb) {
      int64_t m = std::min(mb, len - t0);
      Value qm = t.extractSlice(qh, {0, t0, 0}, {bh, m, f});
      Value km = t.extractSlice(kh, {0, t0, 0}, {bh, m, f});
      Value vm = t.extractSlice(vh, {0, t0, 0}, {bh, m, f});
      Value em = t.extractSlice(etah, {0, t0}, {bh, m});
      Value gamma = perRow(op.getTttNormWeight(), m);
      Value beta = perRow(op.getTttNormBias(), m);
      Value cb = t.broadcast(c, {bh, m, f}, {1});

      // Inner forward at the start state and its LayerNorm backward G.
      Value z = t.add(t.matmul(km, w), cb);
      auto [xhat, sigma] = normalize(t, z, kInnerLNEps);
      Value target = t.sub(vm, km);
      Value g = t.mul(t.sub(t.add(t.mul(gamma, xhat), beta), target), gamma);
      Value gG = t.sub(t.sub(t.scale(g, double(f)), t.rowSumBroadcast(g)),
                       t.mul(xhat, t.rowSumBroadcast(t.mul(g, xhat))));
      Value grad = t.div(gG, t.scale(sigma, double(f)));

      // E_ij = τ_i η_j (j ≤ i), A = tril(Q Kᵀ).
      SmallVector<float> mask(m * m, 0.f), tauMask(m * m, 0.f);
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j <= i; ++j) {
          mask[i * m + j] = 1.f;
          tauMask[i * m + j] = float(1.0 / double(i + 1));
        }
      Value maskB = t.broadcast(t.constant({m, m}, mask), {bh, m, m}, {0});
      Value e = t.mul(t.broadcast(t.constant({m, m}, tauMask), {bh, m, m}, {0}),
                      t.broadcast(em, {bh, m, m}, {1}));
      Value a = t.mul(t.matmul(qm, t.transposeLast2(km)), maskB);
      Value zbar =
          t.sub(t.add(t.sub(t.matmul(qm, w), t.matmul(t.mul(e, a), grad)), cb),
                t.matmul(e, grad));
      Value ln =
          t.add(t.mul(normalize(t, zbar, kInnerLNEps).first, gamma), beta);
      out = t.insertSlice(t.add(qm, ln), out, {0, t0, 0});

      // Commit a full mini-batch when another one follows.
      if (m == mb && t0 + m < len) {
        Value eg = t.mul(t.broadcast(em, {bh, m, f}, {2}), grad);
        w = t.sub(
            w, t.scale(t.matmul(t.transposeLast2(km), eg), 1.0 / double(mb)));
        c = t.sub(c, t.scale(t.reduceSum(eg, {1}), 1.0 / double(mb)));
      }
    }

    // [S·H, T, f] → [N, D], post_norm, o_proj.
    Value merged = t.collapse(
        t.transpose(t.expand(out, {seqs, heads, len, f}, Re{{0, 1}, {2}, {3}}),
                    {0, 2, 1, 3}),
        Re{{0, 1}, {2, 3}});
    Value post = LayerNormOp::create(
        rewriter, op.getLoc(), merged.getType(), merged, op.getPostNormWeight(),
        op.getPostNormBias(), rewriter.getF32FloatAttr(kInnerLNEps));
    rewriter.replaceOp(op, bitLinear(t, post, op.getOProj(), bits));
    return success();
  }
};

struct TTTSeedSeqsPattern : OpRewritePattern<TTTSeedSeqsOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TTTSeedSeqsOp op,
                                PatternRewriter &rewriter) const override {
    TensorOps t(rewriter, op.getLoc());
    Value x = op.getInput();
    int64_t n = TensorOps::shape(x)[0];
    int64_t seqs = op.getSequences(), len = n / seqs;
    int64_t dk = TensorOps::shape(op.getDownWeight())[0];
    int64_t mb = op.getMiniBatch();
    double innerLr = op.getInnerLr().convertToDouble();
    IntegerAttr bits = op.getActBitsAttr();

    // k̂ = k / (‖k‖ + 1e-6), as [S, T, d].
    Value k = bitLinear(t, x, op.getDownWeight(), bits);
    Value norm = t.sqrt(t.rowSumBroadcast(t.mul(k, k)));
    Value khat = t.div(k, t.addScalar(norm, kSeedNormEps));
    Value kh = t.expand(khat, {seqs, len, dk}, Re{{0, 1}, {2}});

    // W starts at zero: the first mini-batch's z is zero.
    Value w;
    Value out = t.zeros({seqs, len, dk});
    for (int64_t t0 = 0; t0 < len; t0 += mb) {
      int64_t m = std::min(mb, len - t0);
      Value kc = t.extractSlice(kh, {0, t0, 0}, {seqs, m, dk});
      Value z = w ? t.matmul(kc, t.transposeLast2(w)) : Value();
      if (z)
        out = t.insertSlice(z, out, {0, t0, 0});
      if (m == mb && t0 + m < len) {
        Value r = z ? t.sub(z, kc) : t.neg(kc);
        Value gw = t.matmul(t.transposeLast2(r), kc);
        Value step = t.scale(gw, innerLr);
        w = w ? t.sub(w, step) : t.neg(step);
      }
    }
    Value zAll = t.collapse(out, Re{{0, 1}, {2}});
    rewriter.replaceOp(op, bitLinear(t, zAll, op.getUpWeight(), bits));
    return success();
  }
};

struct DecomposeTrainPass
    : mlir::bitttt::impl::BitTTTDecomposeTrainBase<DecomposeTrainPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<TTTLinearSeqsPattern, TTTSeedSeqsPattern>(&getContext());
    populateSwiGLUDecompositionPattern(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
