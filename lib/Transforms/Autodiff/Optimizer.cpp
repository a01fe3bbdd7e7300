//===- Optimizer.cpp - clipping + AdamW, and the fused train step ---------===//
//
// From @train_grad (bitttt-autodiff) builds @train_apply (global-norm clip
// and one bitttt.adamw per parameter) and @train_step (both, one call).
// docs/training.md is the contract; the weight-decay rule (rank-2
// parameters only) is written here once.
//
//===----------------------------------------------------------------------===//
#include "TensorOps.h"
#include "bitttt/Dialect/BitTTTOps.h"
#include "bitttt/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace mlir::bitttt {
#define GEN_PASS_DEF_BITTTTOPTIMIZER
#include "bitttt/Transforms/Passes.h.inc"
} // namespace mlir::bitttt

using namespace mlir;
using namespace mlir::bitttt;

namespace {

struct Param {
  StringAttr name;
  RankedTensorType type;
};

/// docs/training.md: decay the matrices (BitLinear weights, embed,
/// lm_head, lr_proj.weight), not the per-head vectors of rank 2 (TTT's b0
/// and its inner norm's gain and bias) nor anything of another rank.
bool decays(const Param &p) {
  StringRef name = p.name.getValue();
  return p.type.getRank() == 2 && !name.ends_with(".ttt.b0") &&
         !name.contains(".ttt_norm.");
}

struct OptimizerPass : mlir::bitttt::impl::BitTTTOptimizerBase<OptimizerPass> {
  using BitTTTOptimizerBase::BitTTTOptimizerBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto grad = module.lookupSymbol<func::FuncOp>("train_grad");
    if (!grad) {
      module.emitError("bitttt-optimizer: no @train_grad (run "
                       "bitttt-autodiff first)");
      return signalPassFailure();
    }
    for (StringRef name : {"train_apply", "train_step"})
      if (module.lookupSymbol(name)) {
        module.emitError() << "bitttt-optimizer: a symbol '" << name
                           << "' already exists";
        return signalPassFailure();
      }
    // Parameters in result order of @train_grad, data arguments after.
    SmallVector<Param> params;
    for (unsigned i = 1, e = grad.getNumResults(); i < e; ++i) {
      auto name = grad.getResultAttrOfType<StringAttr>(i, "bitttt.grad");
      if (!name) {
        grad.emitError() << "bitttt-optimizer: result " << i
                         << " of @train_grad has no 'bitttt.grad' name";
        return signalPassFailure();
      }
      params.push_back(
          {name, cast<RankedTensorType>(grad.getResultTypes()[i])});
    }
    SmallVector<unsigned> dataArgs;
    for (BlockArgument a : grad.getArguments())
      if (!grad.getArgAttr(a.getArgNumber(), "bitttt.tensor"))
        dataArgs.push_back(a.getArgNumber());
    if (grad.getNumArguments() - dataArgs.size() != params.size()) {
      grad.emitError("bitttt-optimizer: every 'bitttt.tensor' argument of "
                     "@train_grad must have a gradient result");
      return signalPassFailure();
    }
    func::FuncOp apply = buildApply(module, params);
    buildStep(module, grad, apply, params, dataArgs);
  }

  func::FuncOp buildApply(ModuleOp module, ArrayRef<Param> params) {
    OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
    Location loc = module.getLoc();
    auto scalarF32 = RankedTensorType::get({}, b.getF32Type());
    auto scalarI64 = RankedTensorType::get({}, b.getI64Type());
    SmallVector<Type> args, results = {scalarF32};
    for (int part = 0; part < 4; ++part)
      for (const Param &p : params)
        args.push_back(p.type);
    args.push_back(scalarI64);
    args.push_back(scalarF32);
    for (int part = 0; part < 3; ++part)
      for (const Param &p : params)
        results.push_back(p.type);
    auto f = func::FuncOp::create(b, loc, "train_apply",
                                  b.getFunctionType(args, results));
    size_t n = params.size();
    const char *roles[] = {"bitttt.param", "bitttt.adam_m", "bitttt.adam_v",
                           "bitttt.grad"};
    for (int part = 0; part < 4; ++part)
      for (size_t i = 0; i < n; ++i)
        f.setArgAttr(part * n + i, roles[part], params[i].name);
    f.setArgAttr(4 * n, "bitttt.io", b.getStringAttr("step"));
    f.setArgAttr(4 * n + 1, "bitttt.io", b.getStringAttr("lr"));
    f.setResultAttr(0, "bitttt.io", b.getStringAttr("grad_norm"));
    for (int part = 0; part < 3; ++part)
      for (size_t i = 0; i < n; ++i)
        f.setResultAttr(1 + part * n + i, roles[part], params[i].name);

    Block *body = f.addEntryBlock();
    b.setInsertionPointToStart(body);
    TensorOps t(b, loc);
    auto arg = [&](int part, size_t i) {
      return body->getArgument(part * n + i);
    };

    // norm = sqrt(Σ g²) over every parameter.
    Value sq;
    for (size_t i = 0; i < n; ++i) {
      Value g = arg(3, i);
      SmallVector<int64_t> all;
      for (int64_t d = 0; d < params[i].type.getRank(); ++d)
        all.push_back(d);
      Value s = t.reduceSum(t.mul(g, g), all);
      sq = sq ? t.add(sq, s) : s;
    }
    Value norm = t.sqrt(sq);
    Value normScalar = tensor::ExtractOp::create(b, loc, norm, ValueRange{});
    Value clip;
    if (maxGradNorm > 0) {
      // min(1, max_norm / (norm + 1e-6)), as clip_grad_norm_.
      Value c = arith::DivFOp::create(
          b, loc,
          arith::ConstantOp::create(b, loc, b.getF32FloatAttr(maxGradNorm)),
          arith::AddFOp::create(
              b, loc, normScalar,
              arith::ConstantOp::create(b, loc, b.getF32FloatAttr(1e-6))));
      clip = arith::MinimumFOp::create(
          b, loc, c, arith::ConstantOp::create(b, loc, b.getF32FloatAttr(1.0)));
    }
    Value step = tensor::ExtractOp::create(b, loc, body->getArgument(4 * n),
                                           ValueRange{});
    Value lr = tensor::ExtractOp::create(b, loc, body->getArgument(4 * n + 1),
                                         ValueRange{});
    SmallVector<Value> newP, newM, newV;
    for (size_t i = 0; i < n; ++i) {
      Value g = arg(3, i);
      if (clip)
        g = t.mul(g, t.filledWith(params[i].type.getShape(), clip));
      double wd = decays(params[i]) ? weightDecay : 0.0;
      auto upd = AdamWOp::create(
          b, loc, TypeRange{params[i].type, params[i].type, params[i].type},
          arg(0, i), g, arg(1, i), arg(2, i), lr, step,
          b.getF64FloatAttr(beta1), b.getF64FloatAttr(beta2),
          b.getF64FloatAttr(eps), b.getF64FloatAttr(wd));
      newP.push_back(upd.getParamOut());
      newM.push_back(upd.getExpAvgOut());
      newV.push_back(upd.getExpAvgSqOut());
    }
    SmallVector<Value> rets = {norm};
    llvm::append_range(rets, newP);
    llvm::append_range(rets, newM);
    llvm::append_range(rets, newV);
    func::ReturnOp::create(b, loc, rets);
    return f;
  }

  void buildStep(ModuleOp module, func::FuncOp grad, func::FuncOp apply,
                 ArrayRef<Param> params, ArrayRef<unsigned> dataArgs) {
    OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
    Location loc = module.getLoc();
    size_t n = params.size();
    auto scalarF32 = RankedTensorType::get({}, b.getF32Type());
    auto scalarI64 = RankedTensorType::get({}, b.getI64Type());
    SmallVector<Type> args, results = {scalarF32, scalarF32};
    for (int part = 0; part < 3; ++part)
      for (const Param &p : params)
        args.push_back(p.type);
    args.push_back(scalarI64);
    args.push_back(scalarF32);
    for (unsigned d : dataArgs)
      args.push_back(grad.getArgumentTypes()[d]);
    for (int part = 0; part < 3; ++part)
      for (const Param &p : params)
        results.push_back(p.type);
    auto f = func::FuncOp::create(b, loc, "train_step",
                                  b.getFunctionType(args, results));
    const char *roles[] = {"bitttt.param", "bitttt.adam_m", "bitttt.adam_v"};
    for (int part = 0; part < 3; ++part)
      for (size_t i = 0; i < n; ++i) {
        f.setArgAttr(part * n + i, roles[part], params[i].name);
        f.setResultAttr(2 + part * n + i, roles[part], params[i].name);
      }
    f.setArgAttr(3 * n, "bitttt.io", b.getStringAttr("step"));
    f.setArgAttr(3 * n + 1, "bitttt.io", b.getStringAttr("lr"));
    for (auto [k, d] : llvm::enumerate(dataArgs))
      f.setArgAttrs(3 * n + 2 + k, grad.getArgAttrDict(d));
    f.setResultAttr(0, "bitttt.io", b.getStringAttr("loss"));
    f.setResultAttr(1, "bitttt.io", b.getStringAttr("grad_norm"));

    Block *body = f.addEntryBlock();
    b.setInsertionPointToStart(body);
    // @train_grad's arguments: its parameters (in its argument order, which
    // is the gradient order) and data arguments, interleaved as declared.
    SmallVector<Value> gradArgs;
    size_t nextParam = 0, nextData = 0;
    for (BlockArgument a : grad.getArguments()) {
      if (grad.getArgAttr(a.getArgNumber(), "bitttt.tensor"))
        gradArgs.push_back(body->getArgument(nextParam++));
      else
        gradArgs.push_back(body->getArgument(3 * n + 2 + nextData++));
    }
    auto g = func::CallOp::create(b, loc, grad, gradArgs);
    SmallVector<Value> applyArgs;
    for (size_t i = 0; i < 3 * n; ++i)
      applyArgs.push_back(body->getArgument(i));
    for (size_t i = 0; i < n; ++i)
      applyArgs.push_back(g.getResult(1 + i));
    applyArgs.push_back(body->getArgument(3 * n));
    applyArgs.push_back(body->getArgument(3 * n + 1));
    auto a = func::CallOp::create(b, loc, apply, applyArgs);
    SmallVector<Value> rets = {g.getResult(0)};
    llvm::append_range(rets, a.getResults());
    func::ReturnOp::create(b, loc, rets);
  }
};

} // namespace
