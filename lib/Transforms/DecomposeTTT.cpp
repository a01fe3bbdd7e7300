//===- DecomposeTTT.cpp - TTT layers → token loops ------------------------===//
//
// Inference form of the TTT layers (DESIGN.md §1): the projections and the
// inner learning rates are computed for all tokens at once, then one
// scf.for walks the tokens carrying the state (W, c, ΣW, Σc, pos). Per
// token, with i = pos + 1 and τ = 1/i:
//   Z = k·W + c;  x̂ = LN(Z) without affine;  g = (γ⊙x̂ + β − (v − k)) ⊙ γ
//   G = (f·g − Σg − x̂·Σ(g⊙x̂)) / (f·σ)
//   ΣW += η kᵀG;  Σc += η G
//   z̄ = q·W + c − τ (q·ΣW + Σc);  o = q + LN_ttt(z̄)
//   when i = b: W −= ΣW / b, c −= Σc / b, sums and pos reset.
// This equals the dual form for every split of the sequence (the invariant
// the reference model's tests prove), so prefill and decode share it.
//
//===----------------------------------------------------------------------===//
#include "DecomposeTTT.h"

#include "bitttt/Dialect/BitTTTOps.h"
#include "bitttt/Transforms/Builders.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::bitttt;

namespace {

constexpr double kLnEps = 1e-6;
constexpr double kSeedNormEps = 1e-6;

RankedTensorType f32Tensor(ArrayRef<int64_t> shape, MLIRContext *ctx) {
  return RankedTensorType::get(shape, Float32Type::get(ctx));
}

Value bitLinear(ImplicitLocOpBuilder &b, Value x, Value w, IntegerAttr bits) {
  auto xt = cast<RankedTensorType>(x.getType());
  auto wt = cast<RankedTensorType>(w.getType());
  return BitLinearOp::create(
      b, f32Tensor({xt.getDimSize(0), wt.getDimSize(0)}, b.getContext()), x, w,
      Value(), bits);
}

/// The slice of row `t` of a [T, ...] tensor: offsets, sizes and strides.
struct RowSlice {
  SmallVector<OpFoldResult> offsets, sizes, strides;
  RowSlice(ImplicitLocOpBuilder &b, RankedTensorType type, Value t)
      : offsets(type.getRank(), b.getIndexAttr(0)),
        strides(type.getRank(), b.getIndexAttr(1)) {
    offsets[0] = t;
    sizes.push_back(b.getIndexAttr(1));
    for (int64_t d : type.getShape().drop_front())
      sizes.push_back(b.getIndexAttr(d));
  }
};

/// Row `t` of a [T, ...] tensor, rank-reduced.
Value row(ImplicitLocOpBuilder &b, Value tensor, Value t) {
  auto type = cast<RankedTensorType>(tensor.getType());
  RowSlice s(b, type, t);
  auto rowType = RankedTensorType::get(type.getShape().drop_front(),
                                       type.getElementType());
  return tensor::ExtractSliceOp::create(b, rowType, tensor, s.offsets, s.sizes,
                                        s.strides);
}

/// Writes `value` (shape = tensor's without dim 0) as row `t` of `tensor`.
Value insertRow(ImplicitLocOpBuilder &b, Value value, Value tensor, Value t) {
  RowSlice s(b, cast<RankedTensorType>(tensor.getType()), t);
  return tensor::InsertSliceOp::create(b, value, tensor, s.offsets, s.sizes,
                                       s.strides);
}

/// `pos + 1` as f32 (the 1-based position i of this token in its batch).
Value positionF32(ImplicitLocOpBuilder &b, Value pos) {
  Value i = arith::AddIOp::create(b, pos, arith::ConstantIndexOp::create(b, 1));
  Value i64 = arith::IndexCastOp::create(b, b.getI64Type(), i);
  return arith::SIToFPOp::create(b, b.getF32Type(), i64);
}

//===----------------------------------------------------------------------===//
// TTT-Linear
//===----------------------------------------------------------------------===//

/// Per-head matrix-vector product out[h,j] = init[h,j] + Σ_a v[h,a]·m[h,a,j].
Value headMatVec(TensorBuilder &tb, Value v, Value m, Value init) {
  return tb.generic(
      {v, m}, init,
      {tb.dims(3, {0, 2}), tb.dims(3, {0, 2, 1}), tb.dims(3, {0, 1})},
      {kPar, kPar, kRed}, [](ImplicitLocOpBuilder &b, ValueRange a) -> Value {
        return arith::AddFOp::create(b, a[2],
                                     arith::MulFOp::create(b, a[0], a[1]));
      });
}

/// Per-head sums out[h] = Σ_j term(ins...)[h, j] over [H, f]; `maps` index
/// each input from (h, j) (identity when empty).
Value headSum(TensorBuilder &tb, ValueRange ins, int64_t heads,
              function_ref<Value(ImplicitLocOpBuilder &, ValueRange)> term,
              ArrayRef<AffineMap> inputMaps = {}) {
  Type f32 = tb.builder().getF32Type();
  SmallVector<AffineMap> maps(inputMaps);
  if (maps.empty())
    maps.assign(ins.size(), tb.identity(2));
  maps.push_back(tb.dims(2, {0}));
  return tb.generic(
      ins, tb.filled({tb.builder().getIndexAttr(heads)}, f32, 0.0), maps,
      {kPar, kRed}, [&](ImplicitLocOpBuilder &b, ValueRange a) -> Value {
        return arith::AddFOp::create(b, a.back(), term(b, a.drop_back()));
      });
}

/// The mini-batch commit both TTT variants share (DESIGN.md §1): with
/// i = pos + 1, when i == batch the state is committed (`commit` builds the
/// new state values, sums reset) and pos becomes 0; otherwise the
/// accumulated state `keep` is carried on and pos becomes i. Returns the
/// state values followed by the new pos.
SmallVector<Value>
buildMiniBatchCommit(ImplicitLocOpBuilder &b, Value pos, int64_t batch,
                     ValueRange keep,
                     function_ref<SmallVector<Value>(TensorBuilder &)> commit) {
  Value next =
      arith::AddIOp::create(b, pos, arith::ConstantIndexOp::create(b, 1));
  Value full = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, next,
                                     arith::ConstantIndexOp::create(b, batch));
  SmallVector<Type> types(keep.getTypes());
  types.push_back(b.getIndexType());
  auto branch = scf::IfOp::create(b, types, full, /*withElseRegion=*/true);
  ImplicitLocOpBuilder cb = ImplicitLocOpBuilder::atBlockEnd(
      b.getLoc(), &branch.getThenRegion().front());
  TensorBuilder ctb(cb);
  SmallVector<Value> committed = commit(ctb);
  committed.push_back(arith::ConstantIndexOp::create(cb, 0));
  scf::YieldOp::create(cb, committed);
  ImplicitLocOpBuilder eb = ImplicitLocOpBuilder::atBlockEnd(
      b.getLoc(), &branch.getElseRegion().front());
  SmallVector<Value> kept(keep);
  kept.push_back(next);
  scf::YieldOp::create(eb, kept);
  return SmallVector<Value>(branch.getResults());
}

struct TTTLinearPattern : OpRewritePattern<TTTLinearOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(TTTLinearOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    TensorBuilder tb(b);
    MLIRContext *ctx = b.getContext();
    Type f32 = b.getF32Type();
    Value x = op.getInput();
    auto xType = op.getInput().getType();
    int64_t tokensStatic = xType.getDimSize(0), d = xType.getDimSize(1);
    int64_t heads = op.getNumHeadsAttr().getInt(), f = d / heads;
    int64_t batch = op.getMiniBatchAttr().getInt();
    IntegerAttr bits = op.getActBitsAttr();
    OpFoldResult tokens = tb.sizes(x)[0];

    // Projections for every token, split into heads: [T, H, f].
    auto heads3 = [&](Value m) -> Value {
      return tensor::ExpandShapeOp::create(
          b, f32Tensor({tokensStatic, heads, f}, ctx), m,
          ArrayRef<ReassociationIndices>{{0}, {1, 2}},
          ArrayRef<OpFoldResult>{tokens, b.getIndexAttr(heads),
                                 b.getIndexAttr(f)});
    };
    Value q = heads3(bitLinear(b, x, op.getQProj(), bits));
    Value k = heads3(bitLinear(b, x, op.getKProj(), bits));
    Value v = heads3(bitLinear(b, x, op.getVProj(), bits));

    // η[t,h] = base_lr · sigmoid(x_t · lr_wₕ + lr_bₕ) / f.
    Value baseLrOverF =
        tb.f32(op.getBaseLrAttr().getValueAsDouble() / double(f));
    Value logits =
        tb.generic({x, op.getLrWeight()},
                   tb.filled({tokens, b.getIndexAttr(heads)}, f32, 0.0),
                   {tb.dims(3, {0, 2}), tb.dims(3, {1, 2}), tb.dims(3, {0, 1})},
                   {kPar, kPar, kRed},
                   [](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                     return arith::AddFOp::create(
                         ib, a[2], arith::MulFOp::create(ib, a[0], a[1]));
                   });
    Value eta = tb.map(
        {logits, op.getLrBias()}, {tokens, b.getIndexAttr(heads)}, f32,
        {tb.identity(2), tb.dims(2, {1})},
        [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
          Value z = arith::AddFOp::create(ib, a[0], a[1]);
          return arith::MulFOp::create(ib, buildSigmoid(ib, z), baseLrOverF);
        });

    Value gamma = op.getTttNormWeight(), beta = op.getTttNormBias();
    Value fF32 = tb.f32(double(f)), epsLn = tb.f32(kLnEps);
    Value out0 =
        tb.empty({tokens, b.getIndexAttr(heads), b.getIndexAttr(f)}, f32);
    SmallVector<Value> init = {op.getW(),     op.getC(),   op.getGradW(),
                               op.getGradC(), op.getPos(), out0};

    auto loop = scf::ForOp::create(
        b, tb.index(0), tensor::DimOp::create(b, x, 0), tb.index(1), init,
        [&](OpBuilder &ob, Location loc, Value t, ValueRange s) {
          ImplicitLocOpBuilder lb(loc, ob);
          TensorBuilder ltb(lb);
          Value w = s[0], c = s[1], gw = s[2], gc = s[3], pos = s[4];
          Value qt = row(lb, q, t), kt = row(lb, k, t), vt = row(lb, v, t);
          Value et = row(lb, eta, t);
          SmallVector<OpFoldResult> hf = {lb.getIndexAttr(heads),
                                          lb.getIndexAttr(f)};
          AffineMap id2 = ltb.identity(2), perHead = ltb.dims(2, {0});

          // Inner forward at the mini-batch start state and its LN stats.
          Value z = headMatVec(ltb, kt, w, c);
          Value mean =
              headSum(ltb, z, heads, [](ImplicitLocOpBuilder &, ValueRange a) {
                return a[0];
              });
          Value mu =
              ltb.map(mean, {lb.getIndexAttr(heads)}, f32, {ltb.identity(1)},
                      [&](ImplicitLocOpBuilder &ib, ValueRange a) {
                        return Value(arith::DivFOp::create(ib, a[0], fF32));
                      });
          Value sumSq =
              headSum(ltb, {z, mu}, heads,
                      [](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                        Value dz = arith::SubFOp::create(ib, a[0], a[1]);
                        return arith::MulFOp::create(ib, dz, dz);
                      },
                      {id2, perHead});
          Value sigma =
              ltb.map(sumSq, {lb.getIndexAttr(heads)}, f32, {ltb.identity(1)},
                      [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                        Value var = arith::DivFOp::create(ib, a[0], fF32);
                        return math::SqrtOp::create(
                            ib, arith::AddFOp::create(ib, var, epsLn));
                      });
          Value xhat =
              ltb.map({z, mu, sigma}, hf, f32, {id2, perHead, perHead},
                      [](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                        return arith::DivFOp::create(
                            ib, arith::SubFOp::create(ib, a[0], a[1]), a[2]);
                      });
          // g = (γ⊙x̂ + β − (v − k)) ⊙ γ
          Value g = ltb.map(
              {xhat, gamma, beta, vt, kt}, hf, f32, {id2, id2, id2, id2, id2},
              [](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                Value y = arith::AddFOp::create(
                    ib, arith::MulFOp::create(ib, a[1], a[0]), a[2]);
                Value target = arith::SubFOp::create(ib, a[3], a[4]);
                return arith::MulFOp::create(
                    ib, arith::SubFOp::create(ib, y, target), a[1]);
              });
          Value sumG =
              headSum(ltb, g, heads, [](ImplicitLocOpBuilder &, ValueRange a) {
                return a[0];
              });
          Value sumGX =
              headSum(ltb, {g, xhat}, heads,
                      [](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                        return arith::MulFOp::create(ib, a[0], a[1]);
                      });
          // G = (f·g − Σg − x̂·Σ(g⊙x̂)) / (f·σ)
          Value grad =
              ltb.map({g, sumG, xhat, sumGX, sigma}, hf, f32,
                      {id2, perHead, id2, perHead, perHead},
                      [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                        Value n = arith::SubFOp::create(
                            ib, arith::MulFOp::create(ib, fF32, a[0]), a[1]);
                        n = arith::SubFOp::create(
                            ib, n, arith::MulFOp::create(ib, a[2], a[3]));
                        return arith::DivFOp::create(
                            ib, n, arith::MulFOp::create(ib, fF32, a[4]));
                      });
          // ΣW += η kᵀG, Σc += η G, in place in the carried sums.
          Value gwNew = ltb.update(
              gw, {et, kt, grad},
              {ltb.dims(3, {0}), ltb.dims(3, {0, 1}), ltb.dims(3, {0, 2})},
              [](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                Value p = arith::MulFOp::create(
                    ib, arith::MulFOp::create(ib, a[0], a[1]), a[2]);
                return arith::AddFOp::create(ib, a[3], p);
              });
          Value gcNew =
              ltb.update(gc, {et, grad}, {perHead, id2},
                         [](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                           return arith::AddFOp::create(
                               ib, a[2], arith::MulFOp::create(ib, a[0], a[1]));
                         });
          // z̄ = q·W + c − τ (q·ΣW + Σc)
          Value qw = headMatVec(ltb, qt, w, c);
          Value qg = headMatVec(ltb, qt, gwNew, gcNew);
          Value i = positionF32(lb, pos);
          Value zbar =
              ltb.map({qw, qg}, hf, f32, {id2, id2},
                      [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                        return arith::SubFOp::create(
                            ib, a[0], arith::DivFOp::create(ib, a[1], i));
                      });
          Value ln = LayerNormOp::create(lb, zbar.getType(), zbar, gamma, beta,
                                         lb.getF32FloatAttr(kLnEps));
          Value o =
              ltb.map({qt, ln}, hf, f32, {id2, id2},
                      [](ImplicitLocOpBuilder &ib, ValueRange a) {
                        return Value(arith::AddFOp::create(ib, a[0], a[1]));
                      });
          Value out = insertRow(lb, o, s[5], t);

          // Commit when the mini-batch is full: W −= ΣW / b, c −= Σc / b,
          // in place; the sums restart from zero.
          SmallVector<Value> yields = buildMiniBatchCommit(
              lb, pos, batch, {w, c, gwNew, gcNew}, [&](TensorBuilder &ctb) {
                Value bF32 = ctb.f32(double(batch));
                auto step = [&](Value state, Value sum) {
                  unsigned rank =
                      cast<RankedTensorType>(state.getType()).getRank();
                  return ctb.update(
                      state, sum, ctb.identity(rank),
                      [&](ImplicitLocOpBuilder &ib, ValueRange a) {
                        return Value(arith::SubFOp::create(
                            ib, a[1], arith::DivFOp::create(ib, a[0], bF32)));
                      });
                };
                return SmallVector<Value>{step(w, gwNew), step(c, gcNew),
                                          ctb.fillInto(gwNew, 0.0),
                                          ctb.fillInto(gcNew, 0.0)};
              });
          yields.push_back(out);
          scf::YieldOp::create(lb, yields);
        });

    // Heads back to [T, D] → post_norm → o_proj.
    Value merged = tensor::CollapseShapeOp::create(
        b, loop.getResult(5), ArrayRef<ReassociationIndices>{{0}, {1, 2}});
    Value post =
        LayerNormOp::create(b, merged.getType(), merged, op.getPostNormWeight(),
                            op.getPostNormBias(), b.getF32FloatAttr(kLnEps));
    Value y = bitLinear(b, post, op.getOProj(), bits);
    rewriter.replaceOp(op, {y, loop.getResult(0), loop.getResult(1),
                            loop.getResult(2), loop.getResult(3),
                            loop.getResult(4)});
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Seed TTT
//===----------------------------------------------------------------------===//

struct TTTSeedPattern : OpRewritePattern<TTTSeedOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(TTTSeedOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    TensorBuilder tb(b);
    Type f32 = b.getF32Type();
    Value x = op.getInput();
    IntegerAttr bits = op.getActBitsAttr();
    int64_t dim = op.getDownWeight().getType().getDimSize(0);
    int64_t batch = op.getMiniBatchAttr().getInt();
    Value innerLr = tb.f32(op.getInnerLrAttr().getValueAsDouble());

    // k̂ = k / (‖k‖₂ + 1e-6) for every token.
    Value k = bitLinear(b, x, op.getDownWeight(), bits);
    SmallVector<OpFoldResult> ks = tb.sizes(k);
    Value ss = tb.generic(
        k, tb.filled({ks[0]}, f32, 0.0), {tb.identity(2), tb.dims(2, {0})},
        {kPar, kRed}, [](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
          return arith::AddFOp::create(ib, a[1],
                                       arith::MulFOp::create(ib, a[0], a[0]));
        });
    Value khat = tb.map({k, ss}, ks, f32, {tb.identity(2), tb.dims(2, {0})},
                        [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                          Value norm = math::SqrtOp::create(ib, a[1]);
                          Value den = arith::AddFOp::create(
                              ib, norm, tb.f32(kSeedNormEps));
                          return arith::DivFOp::create(ib, a[0], den);
                        });

    Value z0 = tb.empty(ks, f32);
    SmallVector<Value> init = {op.getW(), op.getGradW(), op.getPos(), z0};
    auto loop = scf::ForOp::create(
        b, tb.index(0), tensor::DimOp::create(b, x, 0), tb.index(1), init,
        [&](OpBuilder &ob, Location loc, Value t, ValueRange s) {
          ImplicitLocOpBuilder lb(loc, ob);
          TensorBuilder ltb(lb);
          Value w = s[0], gw = s[1], pos = s[2];
          Value kt = row(lb, khat, t);
          SmallVector<OpFoldResult> dd = {lb.getIndexAttr(dim),
                                          lb.getIndexAttr(dim)};
          // z = W k̂ with the start-of-batch W.
          Value z = ltb.generic(
              {w, kt}, ltb.filled({lb.getIndexAttr(dim)}, f32, 0.0),
              {ltb.dims(2, {0, 1}), ltb.dims(2, {1}), ltb.dims(2, {0})},
              {kPar, kRed},
              [](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                return arith::AddFOp::create(
                    ib, a[2], arith::MulFOp::create(ib, a[0], a[1]));
              });
          // ΣW += (z − k̂) k̂ᵀ, in place.
          Value gwNew =
              ltb.update(gw, {z, kt, kt},
                         {ltb.dims(2, {0}), ltb.dims(2, {0}), ltb.dims(2, {1})},
                         [](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                           Value e = arith::SubFOp::create(ib, a[0], a[1]);
                           return arith::AddFOp::create(
                               ib, a[3], arith::MulFOp::create(ib, e, a[2]));
                         });
          Value out = insertRow(lb, z, s[3], t);
          // Commit when the mini-batch is full: W −= inner_lr · ΣW.
          SmallVector<Value> yields = buildMiniBatchCommit(
              lb, pos, batch, {w, gwNew}, [&](TensorBuilder &ctb) {
                Value wNew = ctb.update(
                    w, gwNew, ctb.identity(2),
                    [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                      return arith::SubFOp::create(
                          ib, a[1], arith::MulFOp::create(ib, innerLr, a[0]));
                    });
                return SmallVector<Value>{wNew, ctb.fillInto(gwNew, 0.0)};
              });
          yields.push_back(out);
          scf::YieldOp::create(lb, yields);
        });

    Value y = bitLinear(b, loop.getResult(3), op.getUpWeight(), bits);
    rewriter.replaceOp(
        op, {y, loop.getResult(0), loop.getResult(1), loop.getResult(2)});
    return success();
  }
};

} // namespace

void mlir::bitttt::populateTTTDecompositionPatterns(
    RewritePatternSet &patterns) {
  patterns.add<TTTLinearPattern, TTTSeedPattern>(patterns.getContext());
}
