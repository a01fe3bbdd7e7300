//===- DecomposeTTT.cpp - TTT layers → token loops ------------------------===//
//
// Inference form of the TTT layers (DESIGN.md §1): the projections and the
// inner learning rates are computed for all tokens at once, then one
// scf.for walks the tokens carrying the state (W, c, K, E, pos), where the
// first pos rows of K [H, b, f] and E [H, b, f] are the keys k_j and the
// scaled inner gradients e_j = η_j G_j of the current mini-batch. Per
// token, with n = pos + 1 and τ = 1/n:
//   Z = k·W + c and q·W in one pass over W (W is only read);
//   x̂ = LN(Z) without affine;  g = (γ⊙x̂ + β − (v − k)) ⊙ γ
//   e = η (f·g − Σg − x̂·Σ(g⊙x̂)) / (f·σ);  K[pos] = k, E[pos] = e
//   z̄ = q·W + c − τ Σ_{j<n} (q·k_j + 1) e_j;  o = q + LN_ttt(z̄)
//   when n = b: W −= Kᵀ E / b, c −= Σ_j e_j / b, pos = 0.
// The correction is q·ΣW + Σc with ΣW = Σ_j k_jᵀ e_j, Σc = Σ_j e_j never
// formed: a decoded token reads W once and touches O(b·f) more per head
// instead of reading and writing the f×f sum (docs/pipeline.md). This
// equals the dual form for every split of the sequence (the invariant the
// reference model's tests prove), so prefill and decode share it.
//
// Seed TTT keeps (W, K̂, E, pos) the same way: z = W k̂ with the start W,
// K̂[pos] = k̂, E[pos] = z − k̂, and at n = b: W −= inner_lr · Eᵀ K̂.
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

/// `pos + 1` as f32 (the 1-based position i of this token in its batch).
Value positionF32(ImplicitLocOpBuilder &b, Value pos) {
  Value i = arith::AddIOp::create(b, pos, arith::ConstantIndexOp::create(b, 1));
  Value i64 = arith::IndexCastOp::create(b, b.getI64Type(), i);
  return arith::SIToFPOp::create(b, b.getF32Type(), i64);
}

//===----------------------------------------------------------------------===//
// TTT-Linear
//===----------------------------------------------------------------------===//

/// The slice [offset, offset + size) of `t` along `dim`, whole along the
/// other dims; `dropDim` rank-reduces a slice of size 1.
struct DimSlice {
  SmallVector<OpFoldResult> offsets, sizes, strides;
  RankedTensorType type;
  DimSlice(ImplicitLocOpBuilder &b, Value t, unsigned dim, OpFoldResult offset,
           OpFoldResult size, bool dropDim) {
    auto src = cast<RankedTensorType>(t.getType());
    SmallVector<int64_t> shape;
    for (unsigned i = 0; i < src.getRank(); ++i) {
      OpFoldResult s = i == dim ? size : b.getIndexAttr(src.getDimSize(i));
      offsets.push_back(i == dim ? offset : b.getIndexAttr(0));
      sizes.push_back(s);
      strides.push_back(b.getIndexAttr(1));
      if (i != dim || !dropDim)
        shape.push_back(getConstantIntValue(s).value_or(ShapedType::kDynamic));
    }
    type = RankedTensorType::get(shape, src.getElementType());
  }
};

Value sliceDim(ImplicitLocOpBuilder &b, Value t, unsigned dim,
               OpFoldResult offset, OpFoldResult size, bool dropDim) {
  DimSlice s(b, t, dim, offset, size, dropDim);
  return tensor::ExtractSliceOp::create(b, s.type, t, s.offsets, s.sizes,
                                        s.strides);
}

Value insertDim(ImplicitLocOpBuilder &b, Value v, Value t, unsigned dim,
                OpFoldResult offset, OpFoldResult size, bool dropDim) {
  DimSlice s(b, t, dim, offset, size, dropDim);
  return tensor::InsertSliceOp::create(b, v, t, s.offsets, s.sizes, s.strides);
}

/// `body` computed elementwise (inputs indexed by `maps` from the row's
/// dims) straight into row `r` (along `dim`) of `dest`: the generic's init
/// is the row itself, so bufferization writes into dest's buffer and
/// nothing is copied.
Value writeRow(TensorBuilder &tb, Value dest, unsigned dim, Value r,
               ValueRange inputs, ArrayRef<AffineMap> maps, BodyFn body) {
  ImplicitLocOpBuilder &b = tb.builder();
  Value slot = sliceDim(b, dest, dim, r, b.getIndexAttr(1), true);
  Value row = tb.update(slot, inputs, maps,
                        [&](ImplicitLocOpBuilder &ib, ValueRange a) {
                          return body(ib, a.drop_back());
                        });
  return insertDim(b, row, dest, dim, r, b.getIndexAttr(1), true);
}

/// Per-head sums out[h] = Σ_j term(ins...)[h, j] over [H, f]; `maps` index
/// each input from (h, j) (identity when empty).
Value headSum(TensorBuilder &tb, ValueRange ins, int64_t heads,
              function_ref<Value(ImplicitLocOpBuilder &, ValueRange)> term,
              ArrayRef<AffineMap> inputMaps = {}) {
  SmallVector<AffineMap> maps(inputMaps);
  if (maps.empty())
    maps.assign(ins.size(), tb.identity(2));
  maps.push_back(tb.dims(2, {0}));
  return tb.generic(
      ins, tb.freshFilled({tb.builder().getIndexAttr(heads)}, 0.0), maps,
      {kPar, kRed}, [&](ImplicitLocOpBuilder &b, ValueRange a) -> Value {
        return arith::AddFOp::create(b, a.back(), term(b, a.drop_back()));
      });
}

Value fma(ImplicitLocOpBuilder &b, Value acc, Value x, Value y) {
  return arith::AddFOp::create(b, acc, arith::MulFOp::create(b, x, y));
}

/// Both per-head vector-matrix products of one token in one pass over W:
/// (k·W, q·W)[h, j] = Σ_a (k, q)[h, a]·W[h, a, j]. The loop order (h, a, j)
/// reads W once, row by row, with j innermost and contiguous.
std::pair<Value, Value> headMatVec2(TensorBuilder &tb, Value k, Value q,
                                    Value w, int64_t heads, int64_t f) {
  ImplicitLocOpBuilder &b = tb.builder();
  SmallVector<OpFoldResult> hf = {b.getIndexAttr(heads), b.getIndexAttr(f)};
  Value zk = tb.freshFilled(hf, 0.0), zq = tb.freshFilled(hf, 0.0);
  AffineMap vec = tb.dims(3, {0, 1}), mat = tb.identity(3),
            out = tb.dims(3, {0, 2});
  auto op = linalg::GenericOp::create(
      b, TypeRange{zk.getType(), zq.getType()}, ValueRange{k, q, w},
      ValueRange{zk, zq}, ArrayRef<AffineMap>{vec, vec, mat, out, out},
      ArrayRef<utils::IteratorType>{kPar, kRed, kPar},
      [&](OpBuilder &nested, Location loc, ValueRange a) {
        ImplicitLocOpBuilder ib(loc, nested);
        linalg::YieldOp::create(ib, ValueRange{fma(ib, a[3], a[0], a[2]),
                                               fma(ib, a[4], a[1], a[2])});
      });
  return {op.getResult(0), op.getResult(1)};
}

/// The mini-batch commit both TTT variants share (DESIGN.md §1): with
/// i = pos + 1, when i == batch the state is committed (`commit` builds the
/// new state values) and pos becomes 0; otherwise `keep` is carried on and
/// pos becomes i. Returns the state values followed by the new pos.
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
                   tb.freshFilled({tokens, b.getIndexAttr(heads)}, 0.0),
                   {tb.dims(3, {0, 2}), tb.dims(3, {1, 2}), tb.dims(3, {0, 1})},
                   {kPar, kPar, kRed},
                   [](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                     return fma(ib, a[2], a[0], a[1]);
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
    SmallVector<Value> init = {op.getW(),        op.getC(),   op.getKeys(),
                               op.getEtaGrads(), op.getPos(), out0};

    auto loop = scf::ForOp::create(
        b, tb.index(0), tensor::DimOp::create(b, x, 0), tb.index(1), init,
        [&](OpBuilder &ob, Location loc, Value t, ValueRange s) {
          ImplicitLocOpBuilder lb(loc, ob);
          TensorBuilder ltb(lb);
          Value w = s[0], c = s[1], keys = s[2], grads = s[3], pos = s[4];
          Value qt = row(lb, q, t), kt = row(lb, k, t), vt = row(lb, v, t);
          Value et = row(lb, eta, t);
          SmallVector<OpFoldResult> hf = {lb.getIndexAttr(heads),
                                          lb.getIndexAttr(f)};
          AffineMap id2 = ltb.identity(2), perHead = ltb.dims(2, {0});

          // k·W and q·W in one read of the start-of-batch W.
          auto [kw, qw] = headMatVec2(ltb, kt, qt, w, heads, f);
          // Inner forward Z = k·W + c and its LN stats.
          Value z =
              ltb.map({kw, c}, hf, f32, {id2, id2},
                      [](ImplicitLocOpBuilder &ib, ValueRange a) {
                        return Value(arith::AddFOp::create(ib, a[0], a[1]));
                      });
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
          // K[pos] = k;  E[pos] = η (f·g − Σg − x̂·Σ(g⊙x̂)) / (f·σ), both
          // written straight into the state rows.
          Value keysNew = writeRow(
              ltb, keys, 1, pos, kt, {id2},
              [](ImplicitLocOpBuilder &, ValueRange a) { return a[0]; });
          Value gradsNew =
              writeRow(ltb, grads, 1, pos, {et, g, sumG, xhat, sumGX, sigma},
                       {perHead, id2, perHead, id2, perHead, perHead},
                       [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                         Value n = arith::SubFOp::create(
                             ib, arith::MulFOp::create(ib, fF32, a[1]), a[2]);
                         n = arith::SubFOp::create(
                             ib, n, arith::MulFOp::create(ib, a[3], a[4]));
                         Value grad = arith::DivFOp::create(
                             ib, n, arith::MulFOp::create(ib, fF32, a[5]));
                         return arith::MulFOp::create(ib, a[0], grad);
                       });
          // The rows seen so far in this mini-batch: n = pos + 1.
          Value seenIdx = arith::AddIOp::create(lb, pos, ltb.index(1));
          OpFoldResult seen = seenIdx;
          Value keysSeen =
              sliceDim(lb, keysNew, 1, lb.getIndexAttr(0), seen, false);
          Value gradsSeen =
              sliceDim(lb, gradsNew, 1, lb.getIndexAttr(0), seen, false);
          // a[h, j] = q·k_j + 1 (the 1 is Σc's share), j < n.
          Value dots = ltb.generic(
              {qt, keysSeen},
              ltb.freshFilled({lb.getIndexAttr(heads), seen}, 1.0),
              {ltb.dims(3, {0, 2}), ltb.identity(3), ltb.dims(3, {0, 1})},
              {kPar, kPar, kRed},
              [](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                return fma(ib, a[2], a[0], a[1]);
              });
          // corr[h, :] = Σ_j a[h, j] e_j  (= q·ΣW + Σc).
          Value corr = ltb.generic(
              {dots, gradsSeen}, ltb.freshFilled(hf, 0.0),
              {ltb.dims(3, {0, 1}), ltb.identity(3), ltb.dims(3, {0, 2})},
              {kPar, kRed, kPar},
              [](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                return fma(ib, a[2], a[0], a[1]);
              });
          // z̄ = q·W + c − τ corr
          Value i = positionF32(lb, pos);
          Value zbar =
              ltb.map({qw, c, corr}, hf, f32, {id2, id2, id2},
                      [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                        Value qwc = arith::AddFOp::create(ib, a[0], a[1]);
                        return arith::SubFOp::create(
                            ib, qwc, arith::DivFOp::create(ib, a[2], i));
                      });
          Value ln = LayerNormOp::create(lb, zbar.getType(), zbar, gamma, beta,
                                         lb.getF32FloatAttr(kLnEps));
          Value out =
              writeRow(ltb, s[5], 0, t, {qt, ln}, {id2, id2},
                       [](ImplicitLocOpBuilder &ib, ValueRange a) {
                         return Value(arith::AddFOp::create(ib, a[0], a[1]));
                       });

          // Commit when the mini-batch is full, in place:
          // W[h,a,:] −= Σ_r K[h,r,a] E[h,r,:] / b, c −= Σ_r E[h,r,:] / b.
          SmallVector<Value> yields = buildMiniBatchCommit(
              lb, pos, batch, {w, c, keysNew, gradsNew},
              [&](TensorBuilder &ctb) {
                Value bF32 = ctb.f32(double(batch));
                auto minusSum = [&](ImplicitLocOpBuilder &ib, ValueRange a) {
                  Value p = a.size() == 3
                                ? arith::MulFOp::create(ib, a[0], a[1])
                                : a[0];
                  return Value(arith::SubFOp::create(
                      ib, a.back(), arith::DivFOp::create(ib, p, bF32)));
                };
                Value wNew =
                    ctb.generic({keysNew, gradsNew}, w,
                                {ctb.dims(4, {0, 2, 1}), ctb.dims(4, {0, 2, 3}),
                                 ctb.dims(4, {0, 1, 3})},
                                {kPar, kPar, kRed, kPar}, minusSum);
                Value cNew = ctb.generic(gradsNew, c,
                                         {ctb.identity(3), ctb.dims(3, {0, 2})},
                                         {kPar, kRed, kPar}, minusSum);
                return SmallVector<Value>{wNew, cNew, keysNew, gradsNew};
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
    int64_t batch = op.getMiniBatchAttr().getInt();
    Value innerLr = tb.f32(op.getInnerLrAttr().getValueAsDouble());

    // k̂ = k / (‖k‖₂ + 1e-6) for every token.
    Value k = bitLinear(b, x, op.getDownWeight(), bits);
    SmallVector<OpFoldResult> ks = tb.sizes(k);
    Value ss = tb.generic(k, tb.freshFilled({ks[0]}, 0.0),
                          {tb.identity(2), tb.dims(2, {0})}, {kPar, kRed},
                          [](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                            return fma(ib, a[1], a[0], a[0]);
                          });
    Value khat = tb.map({k, ss}, ks, f32, {tb.identity(2), tb.dims(2, {0})},
                        [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                          Value norm = math::SqrtOp::create(ib, a[1]);
                          Value den = arith::AddFOp::create(
                              ib, norm, tb.f32(kSeedNormEps));
                          return arith::DivFOp::create(ib, a[0], den);
                        });

    Value z0 = tb.empty(ks, f32);
    SmallVector<Value> init = {op.getW(), op.getKeys(), op.getErrors(),
                               op.getPos(), z0};
    auto loop = scf::ForOp::create(
        b, tb.index(0), tensor::DimOp::create(b, x, 0), tb.index(1), init,
        [&](OpBuilder &ob, Location loc, Value t, ValueRange s) {
          ImplicitLocOpBuilder lb(loc, ob);
          TensorBuilder ltb(lb);
          Value w = s[0], keys = s[1], errs = s[2], pos = s[3];
          Value kt = row(lb, khat, t);
          AffineMap id1 = ltb.identity(1);
          // z = W k̂ with the start-of-batch W, straight into row t of the
          // output.
          Value zSlot = ltb.fillInto(
              sliceDim(lb, s[4], 0, t, lb.getIndexAttr(1), true), 0.0);
          Value z = ltb.generic(
              {w, kt}, zSlot,
              {ltb.dims(2, {0, 1}), ltb.dims(2, {1}), ltb.dims(2, {0})},
              {kPar, kRed},
              [](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                return fma(ib, a[2], a[0], a[1]);
              });
          Value out = insertDim(lb, z, s[4], 0, t, lb.getIndexAttr(1), true);
          // K̂[pos] = k̂, E[pos] = z − k̂.
          Value keysNew = writeRow(
              ltb, keys, 0, pos, kt, {id1},
              [](ImplicitLocOpBuilder &, ValueRange a) { return a[0]; });
          Value errsNew =
              writeRow(ltb, errs, 0, pos, {z, kt}, {id1, id1},
                       [](ImplicitLocOpBuilder &ib, ValueRange a) {
                         return Value(arith::SubFOp::create(ib, a[0], a[1]));
                       });
          // Commit when the mini-batch is full, in place:
          // W[i, :] −= inner_lr · Σ_r E[r, i] K̂[r, :].
          SmallVector<Value> yields = buildMiniBatchCommit(
              lb, pos, batch, {w, keysNew, errsNew}, [&](TensorBuilder &ctb) {
                Value wNew = ctb.generic(
                    {errsNew, keysNew}, w,
                    {ctb.dims(3, {1, 0}), ctb.dims(3, {1, 2}),
                     ctb.dims(3, {0, 2})},
                    {kPar, kRed, kPar},
                    [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                      Value p = arith::MulFOp::create(ib, a[0], a[1]);
                      return arith::SubFOp::create(
                          ib, a[2], arith::MulFOp::create(ib, innerLr, p));
                    });
                return SmallVector<Value>{wNew, keysNew, errsNew};
              });
          yields.push_back(out);
          scf::YieldOp::create(lb, yields);
        });

    Value y = bitLinear(b, loop.getResult(4), op.getUpWeight(), bits);
    rewriter.replaceOp(op, {y, loop.getResult(0), loop.getResult(1),
                            loop.getResult(2), loop.getResult(3)});
    return success();
  }
};

} // namespace

void mlir::bitttt::populateTTTDecompositionPatterns(
    RewritePatternSet &patterns) {
  patterns.add<TTTLinearPattern, TTTSeedPattern>(patterns.getContext());
}
