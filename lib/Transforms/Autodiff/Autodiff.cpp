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
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/DenseSet.h"

namespace mlir::bitttt {
#define GEN_PASS_DEF_BITTTTAUTODIFF
#include "bitttt/Transforms/Passes.h.inc"
} // namespace mlir::bitttt

using namespace mlir;
using namespace mlir::bitttt;

namespace {

/// Differentiable values are f32 (scalars or tensors): the contract's
/// training precision; anything else carries no cotangent.
bool isFloatValue(Value v) { return getElementTypeOrSelf(v.getType()).isF32(); }

/// Reverse-mode differentiation of straight-line function bodies. Calls
/// are differentiated through `<callee>_vjp` functions built once per
/// callee (they recompute the callee's forward, then run its reverse
/// sweep): the TTT mini-batch and layer functions the frontend and the
/// training decomposition outline are compiled once, not once per use.
class Differentiator {
public:
  explicit Differentiator(ModuleOp module) : module(module) {}

  /// The reverse sweep over `body` (before its terminator): `grads` holds
  /// the seeds on entry and every active value's cotangent on exit.
  LogicalResult sweep(Block &body, ArrayRef<Value> roots,
                      llvm::DenseMap<Value, Value> &grads);

  /// `@<callee>_vjp(inputs..., dresults...) -> dinputs...` (one result per
  /// f32 input; zeros where the input receives nothing).
  FailureOr<func::FuncOp> vjpOf(func::FuncOp callee);

private:
  ModuleOp module;
  llvm::DenseMap<Operation *, func::FuncOp> cache;
};

LogicalResult Differentiator::sweep(Block &body, ArrayRef<Value> roots,
                                    llvm::DenseMap<Value, Value> &grads) {
  Operation *ret = body.getTerminator();
  // Forward activity: a value is active when it depends on a root.
  llvm::DenseSet<Value> active(roots.begin(), roots.end());
  for (Operation &op : body.without_terminator()) {
    if (!llvm::any_of(op.getOperands(),
                      [&](Value v) { return active.contains(v); }))
      continue;
    if (op.getNumRegions() && !isa<linalg::LinalgOp, linalg::ReduceOp>(op))
      return op.emitOpError("bitttt-autodiff: control flow on a gradient "
                            "path is not supported (the training "
                            "decomposition emits straight-line code and "
                            "calls)");
    for (Value r : op.getResults())
      if (isFloatValue(r))
        active.insert(r);
  }
  SmallVector<Operation *> forward;
  for (Operation &op : body.without_terminator())
    if (llvm::any_of(op.getResults(),
                     [&](Value r) { return active.contains(r); }))
      forward.push_back(&op);

  OpBuilder b(ret);
  TensorOps t(b, ret->getLoc());
  for (Operation *op : llvm::reverse(forward)) {
    SmallVector<Value> dys;
    for (Value r : op->getResults())
      dys.push_back(grads.lookup(r));
    if (llvm::all_of(dys, [](Value v) { return !v; }))
      continue;
    b.setInsertionPoint(ret);
    SmallVector<Value> dxs;
    if (auto call = dyn_cast<func::CallOp>(op)) {
      auto callee = module.lookupSymbol<func::FuncOp>(call.getCallee());
      if (!callee || callee.isExternal())
        return call.emitOpError("bitttt-autodiff: cannot differentiate a "
                                "call of an external or unknown function");
      FailureOr<func::FuncOp> vjp = vjpOf(callee);
      if (failed(vjp))
        return failure();
      b.setInsertionPoint(ret);
      SmallVector<Value> args(call.getOperands());
      for (auto [r, dy] : llvm::zip(call.getResults(), dys))
        if (isFloatValue(r))
          args.push_back(dy ? dy : t.zerosLike(r));
      auto g = func::CallOp::create(b, call.getLoc(), *vjp, args);
      unsigned next = 0;
      for (Value operand : call.getOperands())
        dxs.push_back(isFloatValue(operand) ? g.getResult(next++) : Value());
    } else {
      auto rule = dyn_cast<AutodiffOpInterface>(op);
      if (!rule)
        return op->emitOpError()
               << "bitttt-autodiff: no VJP rule for '"
               << op->getName().getStringRef()
               << "' (AutodiffOpInterface; see docs/autodiff.md)";
      if (failed(rule.buildVJP(b, dys, dxs)))
        return failure();
    }
    b.setInsertionPoint(ret);
    for (auto [operand, dx] : llvm::zip(op->getOperands(), dxs)) {
      if (!dx || !active.contains(operand))
        continue;
      Value &acc = grads[operand];
      acc = acc ? t.add(acc, dx) : dx;
    }
  }
  return success();
}

FailureOr<func::FuncOp> Differentiator::vjpOf(func::FuncOp callee) {
  if (func::FuncOp done = cache.lookup(callee))
    return done;
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  SmallVector<Type> inputs(callee.getArgumentTypes());
  SmallVector<Type> results;
  for (Type type : callee.getResultTypes())
    if (getElementTypeOrSelf(type).isF32())
      inputs.push_back(type);
  for (Type type : callee.getArgumentTypes())
    if (getElementTypeOrSelf(type).isF32())
      results.push_back(type);
  std::string name = (callee.getSymName() + "_vjp").str();
  auto f = func::FuncOp::create(b, callee.getLoc(), name,
                                b.getFunctionType(inputs, results));
  f.setPrivate();
  SymbolTable(module).insert(f);
  cache[callee] = f;

  Block *entry = f.addEntryBlock();
  IRMapping map;
  for (unsigned i = 0; i < callee.getNumArguments(); ++i)
    map.map(callee.getArgument(i), entry->getArgument(i));
  b.setInsertionPointToEnd(entry);
  for (Operation &op : callee.getBody().front())
    b.clone(op, map);
  auto ret = cast<func::ReturnOp>(entry->getTerminator());

  llvm::DenseMap<Value, Value> grads;
  OpBuilder rb(ret);
  TensorOps t(rb, ret.getLoc());
  unsigned next = callee.getNumArguments();
  for (Value out : ret.getOperands()) {
    if (!isFloatValue(out))
      continue;
    Value seed = entry->getArgument(next++);
    Value &acc = grads[out];
    acc = acc ? t.add(acc, seed) : seed;
  }
  SmallVector<Value> roots;
  for (unsigned i = 0; i < callee.getNumArguments(); ++i)
    if (isFloatValue(entry->getArgument(i)))
      roots.push_back(entry->getArgument(i));
  if (failed(sweep(*entry, roots, grads)))
    return failure();
  rb.setInsertionPoint(ret);
  SmallVector<Value> dargs;
  for (Value root : roots) {
    Value g = grads.lookup(root);
    dargs.push_back(g ? g : t.zerosLike(root));
  }
  func::ReturnOp::create(rb, ret.getLoc(), dargs);
  ret.erase();
  return f;
}

LogicalResult differentiate(Differentiator &d, func::FuncOp f,
                            StringRef userName) {
  Block &body = f.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  if (ret.getNumOperands() != 1 || !isFloatValue(ret.getOperand(0)) ||
      (isa<RankedTensorType>(ret.getOperand(0).getType()) &&
       cast<RankedTensorType>(ret.getOperand(0).getType()).getRank() != 0))
    return f.emitError() << "bitttt-autodiff: function '" << userName
                         << "' must return exactly one f32 loss (a scalar or "
                            "a 0-d tensor)";

  // Parameters: the f32 tensor arguments that name a checkpoint tensor.
  SmallVector<Value> params;
  for (BlockArgument arg : f.getArguments())
    if (f.getArgAttr(arg.getArgNumber(), "bitttt.tensor") && isFloatValue(arg))
      params.push_back(arg);

  Value loss = ret.getOperand(0);
  OpBuilder b(ret);
  TensorOps t(b, f.getLoc());
  llvm::DenseMap<Value, Value> grads;
  grads[loss] =
      isa<RankedTensorType>(loss.getType())
          ? t.splat({}, 1.0)
          : arith::ConstantOp::create(b, f.getLoc(), b.getF32FloatAttr(1.0))
                .getResult();
  if (failed(d.sweep(body, params, grads)))
    return failure();
  if (llvm::none_of(params, [&](Value p) { return grads.count(p); }))
    return f.emitError("bitttt-autodiff: the loss does not depend on any "
                       "parameter");

  // (loss, gradient of each parameter in argument order).
  b.setInsertionPoint(ret);
  SmallVector<Value> results = {loss};
  for (Value p : params) {
    Value g = grads.lookup(p);
    if (!g)
      g = t.zerosLike(p);
    // Every result its own buffer: a gradient that is an argument or is
    // returned twice (d(p0 + p1)) is copied.
    // (Into a bufferization.alloc_tensor: CSE would merge a tensor.empty
    // with the one the gradient was computed into.)
    if (isa<BlockArgument>(g) || llvm::is_contained(results, g)) {
      Value fresh = bufferization::AllocTensorOp::create(
          b, ret.getLoc(), cast<RankedTensorType>(g.getType()), ValueRange{});
      g = linalg::CopyOp::create(b, ret.getLoc(), g, fresh).getResult(0);
    }
    results.push_back(g);
  }
  func::ReturnOp::create(b, ret.getLoc(), results);
  ret.erase();

  SmallVector<Type> types;
  for (Value v : results)
    types.push_back(v.getType());
  f.removeResAttrsAttr();
  f.setFunctionType(b.getFunctionType(f.getArgumentTypes(), types));
  f.setResultAttr(0, "bitttt.io", b.getStringAttr("loss"));
  for (auto [i, p] : llvm::enumerate(params))
    f.setResultAttr(
        i + 1, "bitttt.grad",
        f.getArgAttr(cast<BlockArgument>(p).getArgNumber(), "bitttt.tensor"));
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
    Differentiator d(module);
    if (failed(differentiate(d, g, funcName))) {
      g.erase();
      return signalPassFailure();
    }
    if (!keepForward)
      f.erase();
  }
};

} // namespace
