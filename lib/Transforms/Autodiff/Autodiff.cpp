//===- Autodiff.cpp - reverse-mode autodiff of a loss function ------------===//
//
// `bitttt-autodiff` turns `@<func>(params..., data...) -> loss` into
// `@<grad-func>(params..., data...) -> (loss, dloss/dparam...)`: a forward
// activity analysis (which values depend on a parameter), then one reverse
// sweep over the function's straight-line body that asks each active op for
// its vector-Jacobian product (AutodiffOpInterface) and sums the cotangents
// of values used more than once. The forward values stay live in SSA form
// and the backward reads them: the tape is the IR itself.
//
//===----------------------------------------------------------------------===//
#include "TensorOps.h"
#include "bitttt/Dialect/AutodiffInterface.h"
#include "bitttt/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/DenseSet.h"

namespace mlir::bitttt {
#define GEN_PASS_DEF_BITTTTAUTODIFF
#include "bitttt/Transforms/Passes.h.inc"
} // namespace mlir::bitttt

using namespace mlir;
using namespace mlir::bitttt;

namespace {

bool isFloatValue(Value v) {
  Type t = v.getType();
  if (auto shaped = dyn_cast<RankedTensorType>(t))
    t = shaped.getElementType();
  return isa<FloatType>(t);
}

LogicalResult differentiate(func::FuncOp f) {
  Block &body = f.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  if (ret.getNumOperands() != 1 || !isFloatValue(ret.getOperand(0)) ||
      (isa<RankedTensorType>(ret.getOperand(0).getType()) &&
       cast<RankedTensorType>(ret.getOperand(0).getType()).getRank() != 0))
    return f.emitError() << "bitttt-autodiff: function '" << f.getSymName()
                         << "' must return exactly one f32 loss (a scalar or "
                            "a 0-d tensor)";

  // Parameters: the f32 tensor arguments that name a checkpoint tensor.
  SmallVector<BlockArgument> params;
  for (BlockArgument arg : f.getArguments())
    if (f.getArgAttr(arg.getArgNumber(), "bitttt.tensor") && isFloatValue(arg))
      params.push_back(arg);

  // Forward activity: a value is active when it depends on a parameter.
  llvm::DenseSet<Value> active(params.begin(), params.end());
  for (Operation &op : body.without_terminator()) {
    if (!llvm::any_of(op.getOperands(),
                      [&](Value v) { return active.contains(v); }))
      continue;
    if (op.getNumRegions() && !isa<linalg::LinalgOp, linalg::ReduceOp>(op))
      return op.emitOpError("bitttt-autodiff: control flow on a gradient "
                            "path is not supported (the training "
                            "decomposition emits straight-line code)");
    for (Value r : op.getResults())
      if (isFloatValue(r))
        active.insert(r);
  }
  Value loss = ret.getOperand(0);
  if (!active.contains(loss))
    return f.emitError("bitttt-autodiff: the loss does not depend on any "
                       "parameter");

  OpBuilder b(ret);
  TensorOps t(b, f.getLoc());
  llvm::DenseMap<Value, Value> grads;
  grads[loss] =
      isa<RankedTensorType>(loss.getType())
          ? t.splat({}, 1.0)
          : arith::ConstantOp::create(b, f.getLoc(), b.getF32FloatAttr(1.0))
                .getResult();

  SmallVector<Operation *> forward;
  for (Operation &op : body.without_terminator())
    if (llvm::any_of(op.getResults(),
                     [&](Value r) { return active.contains(r); }))
      forward.push_back(&op);

  for (Operation *op : llvm::reverse(forward)) {
    SmallVector<Value> dys;
    for (Value r : op->getResults())
      dys.push_back(grads.lookup(r));
    if (llvm::all_of(dys, [](Value v) { return !v; }))
      continue;
    auto rule = dyn_cast<AutodiffOpInterface>(op);
    if (!rule)
      return op->emitOpError()
             << "bitttt-autodiff: no VJP rule for '"
             << op->getName().getStringRef()
             << "' (AutodiffOpInterface; see docs/autodiff.md)";
    b.setInsertionPoint(ret);
    SmallVector<Value> dxs;
    if (failed(rule.buildVJP(b, dys, dxs)))
      return failure();
    for (auto [operand, dx] : llvm::zip(op->getOperands(), dxs)) {
      if (!dx || !active.contains(operand))
        continue;
      Value &acc = grads[operand];
      acc = acc ? t.add(acc, dx) : dx;
    }
  }

  // (loss, gradient of each parameter in argument order).
  SmallVector<Value> results = {loss};
  for (BlockArgument p : params) {
    Value g = grads.lookup(p);
    results.push_back(g ? g : t.zerosLike(p));
  }
  b.setInsertionPoint(ret);
  func::ReturnOp::create(b, ret.getLoc(), results);
  ret.erase();

  SmallVector<Type> types;
  for (Value v : results)
    types.push_back(v.getType());
  f.removeResAttrsAttr();
  f.setFunctionType(b.getFunctionType(f.getArgumentTypes(), types));
  f.setResultAttr(0, "bitttt.io", b.getStringAttr("loss"));
  for (auto [i, p] : llvm::enumerate(params))
    f.setResultAttr(i + 1, "bitttt.grad",
                    f.getArgAttr(p.getArgNumber(), "bitttt.tensor"));
  return success();
}

struct AutodiffPass : mlir::bitttt::impl::BitTTTAutodiffBase<AutodiffPass> {
  using BitTTTAutodiffBase::BitTTTAutodiffBase;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto f = module.lookupSymbol<func::FuncOp>(funcName);
    if (!f) {
      module.emitError() << "bitttt-autodiff: no function '" << funcName
                         << "' to differentiate";
      return signalPassFailure();
    }
    if (module.lookupSymbol(gradFuncName)) {
      module.emitError() << "bitttt-autodiff: a symbol '" << gradFuncName
                         << "' already exists";
      return signalPassFailure();
    }
    func::FuncOp g = f.clone();
    g.setSymName(gradFuncName);
    module.push_back(g);
    if (failed(differentiate(g))) {
      g.erase();
      return signalPassFailure();
    }
    if (!keepForward)
      f.erase();
  }
};

} // namespace
