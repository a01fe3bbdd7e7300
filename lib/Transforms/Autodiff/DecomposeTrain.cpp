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

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/Support/FormatVariadic.h"

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

/// The private function `name` of `module`, built by `body` (given the
/// builder at the start of its entry block and its arguments, returning
/// the results) on first use.
func::FuncOp
outlined(ModuleOp module, StringRef name, TypeRange inputs,
         function_ref<SmallVector<Value>(TensorOps &, ValueRange)> body) {
  if (auto f = module.lookupSymbol<func::FuncOp>(name))
    return f;
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  auto f = func::FuncOp::create(b, module.getLoc(), name,
                                b.getFunctionType(inputs, {}));
  f.setPrivate();
  Block *entry = f.addEntryBlock();
  b.setInsertionPointToStart(entry);
  TensorOps t(b, module.getLoc());
  SmallVector<Value> results = body(t, entry->getArguments());
  func::ReturnOp::create(b, module.getLoc(), results);
  SmallVector<Type> types;
  for (Value v : results)
    types.push_back(v.getType());
  f.setFunctionType(b.getFunctionType(inputs, types));
  return f;
}

/// One TTT-Linear mini-batch of m rows in dual form (DESIGN.md §1) on all
/// sequences and heads: (Q, K, V [BH, m, f], η [BH, m], γ, β [BH, m, f],
/// W [BH, f, f], c [BH, f]) → (O [BH, m, f], and with `commit` W', c').
SmallVector<Value> linearChunk(TensorOps &t, ValueRange a, int64_t mb,
                               bool commit) {
  Value qm = a[0], km = a[1], vm = a[2], em = a[3], gamma = a[4], beta = a[5],
        w = a[6], c = a[7];
  ArrayRef<int64_t> s = TensorOps::shape(qm);
  int64_t bh = s[0], m = s[1], f = s[2];
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
  Value am = t.mul(t.matmul(qm, t.transposeLast2(km)), maskB);
  Value zbar =
      t.sub(t.add(t.sub(t.matmul(qm, w), t.matmul(t.mul(e, am), grad)), cb),
            t.matmul(e, grad));
  Value ln = t.add(t.mul(normalize(t, zbar, kInnerLNEps).first, gamma), beta);
  SmallVector<Value> out = {t.add(qm, ln)};
  if (commit) {
    Value eg = t.mul(t.broadcast(em, {bh, m, f}, {2}), grad);
    out.push_back(t.sub(
        w, t.scale(t.matmul(t.transposeLast2(km), eg), 1.0 / double(mb))));
    out.push_back(t.sub(c, t.scale(t.reduceSum(eg, {1}), 1.0 / double(mb))));
  }
  return out;
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

    auto module = op->getParentOfType<ModuleOp>();
    Value out = t.zeros({bh, len, f});
    for (int64_t t0 = 0; t0 < len; t0 += mb) {
      int64_t m = std::min(mb, len - t0);
      bool commit = m == mb && t0 + m < len;
      SmallVector<Value> args = {t.extractSlice(qh, {0, t0, 0}, {bh, m, f}),
                                 t.extractSlice(kh, {0, t0, 0}, {bh, m, f}),
                                 t.extractSlice(vh, {0, t0, 0}, {bh, m, f}),
                                 t.extractSlice(etah, {0, t0}, {bh, m}),
                                 perRow(op.getTttNormWeight(), m),
                                 perRow(op.getTttNormBias(), m),
                                 w,
                                 c};
      std::string name = llvm::formatv("ttt_linear_chunk_{0}x{1}x{2}_mb{3}{4}",
                                       bh, m, f, mb, commit ? "_commit" : "");
      func::FuncOp chunk = outlined(module, name, ValueRange(args).getTypes(),
                                    [&](TensorOps &ct, ValueRange a) {
                                      return linearChunk(ct, a, mb, commit);
                                    });
      auto call = func::CallOp::create(rewriter, op.getLoc(), chunk, args);
      out = t.insertSlice(call.getResult(0), out, {0, t0, 0});
      if (commit) {
        w = call.getResult(1);
        c = call.getResult(2);
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

    // W starts at zero: the first mini-batch's z is zero, its commit is
    // W = inner_lr · k̂ᵀk̂; later mini-batches are calls of one function
    // per shape: (k̂ [S, m, d], W [S, d, d]) → (z, and with commit W').
    auto module = op->getParentOfType<ModuleOp>();
    Value w;
    Value out = t.zeros({seqs, len, dk});
    for (int64_t t0 = 0; t0 < len; t0 += mb) {
      int64_t m = std::min(mb, len - t0);
      bool commit = m == mb && t0 + m < len;
      Value kc = t.extractSlice(kh, {0, t0, 0}, {seqs, m, dk});
      if (!w) {
        if (commit)
          w = t.scale(t.matmul(t.transposeLast2(kc), kc), innerLr);
        continue;
      }
      std::string name = llvm::formatv(
          "ttt_seed_chunk_{0}x{1}x{2}_lr{3:x}{4}", seqs, m, dk,
          llvm::bit_cast<uint32_t>(float(innerLr)), commit ? "_commit" : "");
      SmallVector<Value> args = {kc, w};
      func::FuncOp chunk =
          outlined(module, name, ValueRange(args).getTypes(),
                   [&](TensorOps &ct, ValueRange a) -> SmallVector<Value> {
                     Value z = ct.matmul(a[0], ct.transposeLast2(a[1]));
                     if (!commit)
                       return {z};
                     Value gw =
                         ct.matmul(ct.transposeLast2(ct.sub(z, a[0])), a[0]);
                     return {z, ct.sub(a[1], ct.scale(gw, innerLr))};
                   });
      auto call = func::CallOp::create(rewriter, op.getLoc(), chunk, args);
      out = t.insertSlice(call.getResult(0), out, {0, t0, 0});
      if (commit)
        w = call.getResult(1);
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
