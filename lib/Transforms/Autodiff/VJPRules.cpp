//===- VJPRules.cpp - the vector-Jacobian product of every op -------------===//
//
// One rule per op, attached as an external model of AutodiffOpInterface.
// Two levels (docs/autodiff.md): the layer-level bitttt ops whose backward
// is not the backward of their decomposition — BitLinear's straight-through
// estimator — or is much cheaper written by hand (the norms, embedding, LM
// head, cross-entropy, silu·mul); and the tensor primitives (TensorOps.h)
// that the TTT layers decompose into, so the backward of the TTT inner loop
// (the dual form with the inner LayerNorm and its own backward inside) is
// derived mechanically rather than by hand.
//
//===----------------------------------------------------------------------===//
#include "TensorOps.h"
#include "bitttt/Dialect/AutodiffInterface.h"
#include "bitttt/Dialect/BitTTTDialect.h"
#include "bitttt/Dialect/BitTTTOps.h"
#include "bitttt/Transforms/Builders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

using namespace mlir;
using namespace mlir::bitttt;

namespace {

template <typename Concrete, typename OpT>
struct Rule : AutodiffOpInterface::ExternalModel<Concrete, OpT> {
  LogicalResult buildVJP(Operation *op, OpBuilder &b, ArrayRef<Value> dys,
                         SmallVectorImpl<Value> &dxs) const {
    TensorOps t(b, op->getLoc());
    dxs.assign(op->getNumOperands(), Value());
    if (!dys[0] && op->getNumResults() == 1)
      return success();
    return static_cast<const Concrete *>(this)->vjp(cast<OpT>(op), t, dys, dxs);
  }
};

/// The dims [0, n).
SmallVector<int64_t> leading(int64_t n) {
  SmallVector<int64_t> d;
  for (int64_t i = 0; i < n; ++i)
    d.push_back(i);
  return d;
}

//===----------------------------------------------------------------------===//
// Elementwise primitives (tensors or f32 scalars)
//===----------------------------------------------------------------------===//

struct AddF : Rule<AddF, arith::AddFOp> {
  LogicalResult vjp(arith::AddFOp, TensorOps &, ArrayRef<Value> g,
                    SmallVectorImpl<Value> &d) const {
    d[0] = g[0];
    d[1] = g[0];
    return success();
  }
};
struct SubF : Rule<SubF, arith::SubFOp> {
  LogicalResult vjp(arith::SubFOp, TensorOps &t, ArrayRef<Value> g,
                    SmallVectorImpl<Value> &d) const {
    d[0] = g[0];
    d[1] = t.neg(g[0]);
    return success();
  }
};
struct MulF : Rule<MulF, arith::MulFOp> {
  LogicalResult vjp(arith::MulFOp op, TensorOps &t, ArrayRef<Value> g,
                    SmallVectorImpl<Value> &d) const {
    d[0] = t.mul(g[0], op.getRhs());
    d[1] = t.mul(g[0], op.getLhs());
    return success();
  }
};
struct DivF : Rule<DivF, arith::DivFOp> {
  // y = a / b: da = g / b, db = -g·y / b.
  LogicalResult vjp(arith::DivFOp op, TensorOps &t, ArrayRef<Value> g,
                    SmallVectorImpl<Value> &d) const {
    Value ga = t.div(g[0], op.getRhs());
    d[0] = ga;
    d[1] = t.neg(t.mul(ga, op.getResult()));
    return success();
  }
};
struct NegF : Rule<NegF, arith::NegFOp> {
  LogicalResult vjp(arith::NegFOp, TensorOps &t, ArrayRef<Value> g,
                    SmallVectorImpl<Value> &d) const {
    d[0] = t.neg(g[0]);
    return success();
  }
};
struct Exp : Rule<Exp, math::ExpOp> {
  LogicalResult vjp(math::ExpOp op, TensorOps &t, ArrayRef<Value> g,
                    SmallVectorImpl<Value> &d) const {
    d[0] = t.mul(g[0], op.getResult());
    return success();
  }
};
struct Sqrt : Rule<Sqrt, math::SqrtOp> {
  // y = sqrt(x): dx = g / (2y).
  LogicalResult vjp(math::SqrtOp op, TensorOps &t, ArrayRef<Value> g,
                    SmallVectorImpl<Value> &d) const {
    d[0] = t.div(g[0], t.add(op.getResult(), op.getResult()));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Structured primitives
//===----------------------------------------------------------------------===//

struct Broadcast : Rule<Broadcast, linalg::BroadcastOp> {
  LogicalResult vjp(linalg::BroadcastOp op, TensorOps &t, ArrayRef<Value> g,
                    SmallVectorImpl<Value> &d) const {
    d[0] = t.reduceSum(g[0], op.getDimensions());
    return success();
  }
};

struct Reduce : Rule<Reduce, linalg::ReduceOp> {
  LogicalResult vjp(linalg::ReduceOp op, TensorOps &t, ArrayRef<Value> g,
                    SmallVectorImpl<Value> &d) const {
    Block &body = op.getCombiner().front();
    if (op.getInputs().size() != 1 || body.getOperations().size() != 2 ||
        !isa<arith::AddFOp>(body.front()))
      return op.emitOpError("has no VJP rule: only single-input sum "
                            "reductions are differentiable");
    Value x = op.getInputs()[0];
    d[0] = t.broadcast(g[0], TensorOps::shape(x), op.getDimensions());
    d[1] = g[0];
    return success();
  }
};

struct Transpose : Rule<Transpose, linalg::TransposeOp> {
  LogicalResult vjp(linalg::TransposeOp op, TensorOps &t, ArrayRef<Value> g,
                    SmallVectorImpl<Value> &d) const {
    ArrayRef<int64_t> perm = op.getPermutation();
    SmallVector<int64_t> inverse(perm.size());
    for (size_t i = 0; i < perm.size(); ++i)
      inverse[perm[i]] = i;
    d[0] = t.transpose(g[0], inverse);
    return success();
  }
};

/// C' = C + A·B: dA = g·Bᵀ, dB = Aᵀ·g, dC = g (plain or batched).
template <typename Concrete, typename OpT>
struct MatmulRule : Rule<Concrete, OpT> {
  LogicalResult vjp(OpT op, TensorOps &t, ArrayRef<Value> g,
                    SmallVectorImpl<Value> &d) const {
    if (op.hasUserDefinedMaps())
      return op.emitOpError("has no VJP rule for user-defined indexing maps");
    Value a = op.getDpsInputs()[0], bm = op.getDpsInputs()[1];
    d[0] = t.matmul(g[0], t.transposeLast2(bm));
    d[1] = t.matmul(t.transposeLast2(a), g[0]);
    d[2] = g[0];
    return success();
  }
};
struct Matmul : MatmulRule<Matmul, linalg::MatmulOp> {};
struct BatchMatmul : MatmulRule<BatchMatmul, linalg::BatchMatmulOp> {};

struct Fill : Rule<Fill, linalg::FillOp> {
  // y = fill(v): dv = Σ dy. The init's contents are overwritten: none.
  LogicalResult vjp(linalg::FillOp op, TensorOps &t, ArrayRef<Value> g,
                    SmallVectorImpl<Value> &d) const {
    SmallVector<int64_t> all;
    for (int64_t i = 0, e = TensorOps::shape(g[0]).size(); i < e; ++i)
      all.push_back(i);
    Value sum = all.empty() ? g[0] : t.reduceSum(g[0], all);
    d[0] =
        tensor::ExtractOp::create(t.builder(), t.location(), sum, ValueRange{});
    return success();
  }
};

bool isStaticUnitStride(OffsetSizeAndStrideOpInterface op) {
  return op.hasUnitStride() &&
         !ShapedType::isDynamicShape(op.getStaticOffsets()) &&
         !ShapedType::isDynamicShape(op.getStaticSizes());
}

struct ExtractSlice : Rule<ExtractSlice, tensor::ExtractSliceOp> {
  LogicalResult vjp(tensor::ExtractSliceOp op, TensorOps &t, ArrayRef<Value> g,
                    SmallVectorImpl<Value> &d) const {
    if (!isStaticUnitStride(op) ||
        op.getSourceType().getRank() != op.getResultType().getRank())
      return op.emitOpError("has no VJP rule unless static, unit-stride and "
                            "rank-preserving");
    d[0] =
        t.insertSlice(g[0], t.zerosLike(op.getSource()), op.getStaticOffsets());
    return success();
  }
};

struct InsertSlice : Rule<InsertSlice, tensor::InsertSliceOp> {
  LogicalResult vjp(tensor::InsertSliceOp op, TensorOps &t, ArrayRef<Value> g,
                    SmallVectorImpl<Value> &d) const {
    if (!isStaticUnitStride(op) ||
        op.getSourceType().getRank() != op.getResultType().getRank())
      return op.emitOpError("has no VJP rule unless static, unit-stride and "
                            "rank-preserving");
    ArrayRef<int64_t> offsets = op.getStaticOffsets();
    d[0] = t.extractSlice(g[0], offsets, op.getSourceType().getShape());
    d[1] = t.insertSlice(t.zerosLike(op.getSource()), g[0], offsets);
    return success();
  }
};

SmallVector<SmallVector<int64_t, 2>>
reassociation(ArrayRef<ReassociationIndices> re) {
  SmallVector<SmallVector<int64_t, 2>> out;
  for (const ReassociationIndices &r : re)
    out.emplace_back(r.begin(), r.end());
  return out;
}

struct ExpandShape : Rule<ExpandShape, tensor::ExpandShapeOp> {
  LogicalResult vjp(tensor::ExpandShapeOp op, TensorOps &t, ArrayRef<Value> g,
                    SmallVectorImpl<Value> &d) const {
    d[0] = t.collapse(g[0], reassociation(op.getReassociationIndices()));
    return success();
  }
};

struct CollapseShape : Rule<CollapseShape, tensor::CollapseShapeOp> {
  LogicalResult vjp(tensor::CollapseShapeOp op, TensorOps &t, ArrayRef<Value> g,
                    SmallVectorImpl<Value> &d) const {
    d[0] = t.expand(g[0], op.getSrcType().getShape(),
                    reassociation(op.getReassociationIndices()));
    return success();
  }
};

struct FromElements : Rule<FromElements, tensor::FromElementsOp> {
  LogicalResult vjp(tensor::FromElementsOp op, TensorOps &t, ArrayRef<Value> g,
                    SmallVectorImpl<Value> &d) const {
    if (op.getType().getRank() != 0)
      return op.emitOpError("has no VJP rule unless 0-d");
    d[0] = tensor::ExtractOp::create(t.builder(), t.location(), g[0],
                                     ValueRange{});
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Layer-level bitttt ops
//===----------------------------------------------------------------------===//

/// γ·Wq as f32 (the straight-through weight of a latent BitLinear).
Value dequantizedWeight(TensorOps &t, Value w) {
  auto [codes, gamma] = t.weightCodes(w);
  return t.mul(codes, t.filledWith(TensorOps::shape(w), gamma));
}

/// xq / s (act_bits 8) or x itself (act_bits 0).
Value effectiveInput(TensorOps &t, Value x, int64_t actBits) {
  if (actBits == 0)
    return x;
  auto [codes, scales] = t.actCodes(x);
  return t.div(codes, t.broadcastLast(scales, TensorOps::shape(x)));
}

struct BitLinearRule : Rule<BitLinearRule, BitLinearOp> {
  // The straight-through estimator of DESIGN.md §1:
  // dx = dy·(γ·Wq), dW = dyᵀ·(xq/s).
  LogicalResult vjp(BitLinearOp op, TensorOps &t, ArrayRef<Value> g,
                    SmallVectorImpl<Value> &d) const {
    if (op.getScale() || !isa<RankedTensorType>(op.getWeight().getType()))
      return op.emitOpError("has no VJP rule on packed weights: training "
                            "needs the latent f32 weight");
    d[0] = t.matmul(g[0], dequantizedWeight(t, op.getWeight()));
    Value xEff = effectiveInput(t, op.getInput(), op.getActBits());
    d[1] = t.matmul(t.transposeLast2(g[0]), xEff);
    return success();
  }
};

struct RMSNormRule : Rule<RMSNormRule, RMSNormOp> {
  // y = x·r⊙g, r = 1/sqrt(mean(x²) + eps): with gy = dy⊙g,
  // dx = r·gy − x·r³·mean(gy⊙x), dg = Σ_rows dy⊙x·r.
  LogicalResult vjp(RMSNormOp op, TensorOps &t, ArrayRef<Value> g,
                    SmallVectorImpl<Value> &d) const {
    Value x = op.getInput();
    ArrayRef<int64_t> s = TensorOps::shape(x);
    double n = double(s[1]);
    Value ms = t.scale(t.reduceSum(t.mul(x, x), {1}), 1.0 / n);
    Value rms = t.sqrt(t.addScalar(ms, op.getEps().convertToDouble()));
    Value r = t.div(t.splat({s[0]}, 1.0), rms);
    Value rb = t.broadcastLast(r, s);
    Value gy = t.mul(g[0], t.broadcast(op.getWeight(), s, {0}));
    Value coef = t.scale(
        t.mul(t.reduceSum(t.mul(gy, x), {1}), t.mul(r, t.mul(r, r))), 1.0 / n);
    d[0] = t.sub(t.mul(gy, rb), t.mul(x, t.broadcastLast(coef, s)));
    d[1] = t.reduceSum(t.mul(g[0], t.mul(x, rb)), {0});
    return success();
  }
};

struct LayerNormRule : Rule<LayerNormRule, LayerNormOp> {
  // x̂ = (x−μ)/σ, y = x̂⊙w + b: with gy = dy⊙w,
  // dx = (gy − mean(gy) − x̂·mean(gy⊙x̂)) / σ; dw = Σ dy⊙x̂; db = Σ dy.
  LogicalResult vjp(LayerNormOp op, TensorOps &t, ArrayRef<Value> g,
                    SmallVectorImpl<Value> &d) const {
    Value x = op.getInput();
    ArrayRef<int64_t> s = TensorOps::shape(x);
    int64_t rank = s.size();
    int64_t wrank = TensorOps::shape(op.getWeight()).size();
    double n = double(s.back());
    auto mean = [&](Value v) {
      return t.broadcastLast(t.scale(t.reduceSum(v, {rank - 1}), 1.0 / n), s);
    };
    Value xc = t.sub(x, mean(x));
    Value sigma =
        t.sqrt(t.addScalar(mean(t.mul(xc, xc)), op.getEps().convertToDouble()));
    Value xhat = t.div(xc, sigma);
    SmallVector<int64_t> lead = leading(rank - wrank);
    Value gy = t.mul(g[0], lead.empty() ? op.getWeight()
                                        : t.broadcast(op.getWeight(), s, lead));
    d[0] = t.div(t.sub(t.sub(gy, mean(gy)), t.mul(xhat, mean(t.mul(gy, xhat)))),
                 sigma);
    Value gw = t.mul(g[0], xhat);
    d[1] = lead.empty() ? gw : t.reduceSum(gw, lead);
    d[2] = lead.empty() ? g[0] : t.reduceSum(g[0], lead);
    return success();
  }
};

struct EmbeddingRule : Rule<EmbeddingRule, EmbeddingOp> {
  LogicalResult vjp(EmbeddingOp op, TensorOps &t, ArrayRef<Value> g,
                    SmallVectorImpl<Value> &d) const {
    d[0] = EmbeddingGradOp::create(t.builder(), t.location(),
                                   op.getTable().getType(), g[0], op.getIds());
    return success();
  }
};

struct LMHeadRule : Rule<LMHeadRule, LMHeadOp> {
  // logits = x·Wᵀ: dx = g·W, dW = gᵀ·x.
  LogicalResult vjp(LMHeadOp op, TensorOps &t, ArrayRef<Value> g,
                    SmallVectorImpl<Value> &d) const {
    if (!cast<RankedTensorType>(op.getWeight().getType())
             .getElementType()
             .isF32())
      return op.emitOpError("has no VJP rule for a bf16 weight");
    d[0] = t.matmul(g[0], op.getWeight());
    d[1] = t.matmul(t.transposeLast2(g[0]), op.getInput());
    return success();
  }
};

struct SiluMulRule : Rule<SiluMulRule, SiluMulOp> {
  // y = g·σ(g)·u: du = dy·g·σ, dg = dy·u·σ·(1 + g·(1 − σ)).
  LogicalResult vjp(SiluMulOp op, TensorOps &t, ArrayRef<Value> g,
                    SmallVectorImpl<Value> &d) const {
    Value gate = op.getGate(), up = op.getUp();
    ArrayRef<int64_t> s = TensorOps::shape(gate);
    Value sig = t.sigmoid(gate);
    d[1] = t.mul(g[0], t.mul(gate, sig));
    Value one = t.splat(s, 1.0);
    Value dsilu = t.mul(sig, t.add(one, t.mul(gate, t.sub(one, sig))));
    d[0] = t.mul(t.mul(g[0], up), dsilu);
    return success();
  }
};

struct CrossEntropyRule : Rule<CrossEntropyRule, CrossEntropyOp> {
  // loss = mean_i(logsumexp(x_i) − x_i[t_i]):
  // dx = (softmax(x) − onehot(t)) · dloss / N.
  LogicalResult vjp(CrossEntropyOp op, TensorOps &t, ArrayRef<Value> g,
                    SmallVectorImpl<Value> &d) const {
    if (op.getIgnoreIndex())
      return op.emitOpError("has no VJP rule with 'ignore_index'");
    ImplicitLocOpBuilder b(t.location(), t.builder());
    TensorBuilder tb(b);
    Value x = op.getLogits();
    ArrayRef<int64_t> s = TensorOps::shape(x);
    Type f32 = b.getF32Type();
    SmallVector<OpFoldResult> rows = {b.getIndexAttr(s[0])};
    SmallVector<OpFoldResult> all = tb.sizes(x);
    AffineMap id = tb.identity(2), row = tb.dims(2, {0});
    auto [max, sum] = buildRowMaxSumExp(tb, x);
    Value scale = arith::DivFOp::create(
        b, g[0], arith::ConstantOp::create(b, b.getF32FloatAttr(double(s[0]))));
    d[0] = tb.map(
        {x, max, sum, op.getTargets()}, all, f32, {id, row, row, row},
        [&](ImplicitLocOpBuilder &nb, ValueRange a) -> Value {
          Value p = arith::DivFOp::create(
              nb,
              math::ExpOp::create(nb, arith::SubFOp::create(nb, a[0], a[1])),
              a[2]);
          Value j = linalg::IndexOp::create(nb, 1);
          Value tj = arith::IndexCastOp::create(nb, nb.getIndexType(), a[3]);
          Value hit =
              arith::CmpIOp::create(nb, arith::CmpIPredicate::eq, j, tj);
          Value one = arith::ConstantOp::create(nb, nb.getF32FloatAttr(1.0));
          Value zero = arith::ConstantOp::create(nb, nb.getF32FloatAttr(0.0));
          Value onehot = arith::SelectOp::create(nb, hit, one, zero);
          return arith::MulFOp::create(nb, arith::SubFOp::create(nb, p, onehot),
                                       scale);
        });
    return success();
  }
};

} // namespace

void mlir::bitttt::registerAutodiffInterfaces(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, arith::ArithDialect *) {
    arith::AddFOp::attachInterface<AddF>(*ctx);
    arith::SubFOp::attachInterface<SubF>(*ctx);
    arith::MulFOp::attachInterface<MulF>(*ctx);
    arith::DivFOp::attachInterface<DivF>(*ctx);
    arith::NegFOp::attachInterface<NegF>(*ctx);
  });
  registry.addExtension(+[](MLIRContext *ctx, math::MathDialect *) {
    math::ExpOp::attachInterface<Exp>(*ctx);
    math::SqrtOp::attachInterface<Sqrt>(*ctx);
  });
  registry.addExtension(+[](MLIRContext *ctx, linalg::LinalgDialect *) {
    linalg::BroadcastOp::attachInterface<Broadcast>(*ctx);
    linalg::ReduceOp::attachInterface<Reduce>(*ctx);
    linalg::TransposeOp::attachInterface<Transpose>(*ctx);
    linalg::MatmulOp::attachInterface<Matmul>(*ctx);
    linalg::BatchMatmulOp::attachInterface<BatchMatmul>(*ctx);
    linalg::FillOp::attachInterface<Fill>(*ctx);
  });
  registry.addExtension(+[](MLIRContext *ctx, tensor::TensorDialect *) {
    tensor::ExtractSliceOp::attachInterface<ExtractSlice>(*ctx);
    tensor::InsertSliceOp::attachInterface<InsertSlice>(*ctx);
    tensor::ExpandShapeOp::attachInterface<ExpandShape>(*ctx);
    tensor::CollapseShapeOp::attachInterface<CollapseShape>(*ctx);
    tensor::FromElementsOp::attachInterface<FromElements>(*ctx);
  });
  registry.addExtension(+[](MLIRContext *ctx, BitTTTDialect *) {
    BitLinearOp::attachInterface<BitLinearRule>(*ctx);
    RMSNormOp::attachInterface<RMSNormRule>(*ctx);
    LayerNormOp::attachInterface<LayerNormRule>(*ctx);
    EmbeddingOp::attachInterface<EmbeddingRule>(*ctx);
    LMHeadOp::attachInterface<LMHeadRule>(*ctx);
    SiluMulOp::attachInterface<SiluMulRule>(*ctx);
    CrossEntropyOp::attachInterface<CrossEntropyRule>(*ctx);
  });
}
