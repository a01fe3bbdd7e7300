//===- DropInPlaceResults.cpp - in-place updates leave the signature ------===//
#include "bitttt/Target/CPU/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/BitVector.h"

namespace mlir::bitttt {
#define GEN_PASS_DEF_BITTTTDROPINPLACERESULTS
#include "bitttt/Target/CPU/Passes.h.inc"
} // namespace mlir::bitttt

using namespace mlir;

namespace {

/// Buffers a step updates in place: the TTT state of prefill/decode, the
/// parameters and AdamW moments of training.
bool isInPlaceState(DictionaryAttr attrs) {
  return attrs && (attrs.get("bitttt.state") || attrs.get("bitttt.param") ||
                   attrs.get("bitttt.adam_m") || attrs.get("bitttt.adam_v"));
}

struct DropInPlaceResultsPass
    : mlir::bitttt::impl::BitTTTDropInPlaceResultsBase<DropInPlaceResultsPass> {
  /// Drops f's results that return one of its arguments; returns whether
  /// it changed f, or failure for a training result that is not one.
  FailureOr<bool> dropIn(func::FuncOp f) {
    if (f.isExternal())
      return false;
    auto ret = cast<func::ReturnOp>(f.getBody().back().getTerminator());
    llvm::BitVector drop(f.getNumResults());
    SmallVector<int> argOf(f.getNumResults(), -1);
    for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
      auto arg = dyn_cast<BlockArgument>(v);
      // Public functions keep their ABI but for the state, parameters and
      // moments updated in place; private ones (outlined pieces) drop any.
      bool droppable = f.isPrivate() || isInPlaceState(f.getResultAttrDict(i));
      if (droppable && arg && arg.getOwner() == &f.getBody().front() &&
          isa<MemRefType>(v.getType())) {
        drop.set(i);
        argOf[i] = arg.getArgNumber();
      }
    }
    if (drop.none())
      return false;
    // Call sites: uses of a dropped result read the call's operand.
    std::optional<SymbolTable::UseRange> uses =
        SymbolTable::getSymbolUses(f, getOperation());
    if (uses)
      for (const SymbolTable::SymbolUse &use : *uses) {
        auto call = dyn_cast<func::CallOp>(use.getUser());
        if (!call)
          continue;
        OpBuilder b(call);
        SmallVector<Type> kept;
        for (unsigned i = 0; i < call.getNumResults(); ++i)
          if (!drop.test(i))
            kept.push_back(call.getResult(i).getType());
        auto newCall = func::CallOp::create(b, call.getLoc(), f.getSymName(),
                                            kept, call.getOperands());
        unsigned next = 0;
        for (unsigned i = 0; i < call.getNumResults(); ++i)
          call.getResult(i).replaceAllUsesWith(drop.test(i)
                                                   ? call.getOperand(argOf[i])
                                                   : newCall.getResult(next++));
        call.erase();
      }
    SmallVector<Value> kept;
    SmallVector<DictionaryAttr> keptAttrs;
    for (auto [i, v] : llvm::enumerate(ret.getOperands()))
      if (!drop.test(i)) {
        kept.push_back(v);
        keptAttrs.push_back(f.getResultAttrDict(i));
      }
    OpBuilder b(ret);
    func::ReturnOp::create(b, ret.getLoc(), kept);
    ret.erase();
    SmallVector<Type> types;
    for (Value v : kept)
      types.push_back(v.getType());
    f.removeResAttrsAttr();
    f.setFunctionType(
        FunctionType::get(f.getContext(), f.getArgumentTypes(), types));
    for (auto [i, attrs] : llvm::enumerate(keptAttrs))
      if (attrs)
        f.setResultAttrs(i, attrs);
    return true;
  }

  void runOnOperation() override {
    // Until nothing changes: dropping a callee's results turns its
    // callers' returns into their own arguments.
    bool changed = true;
    while (changed) {
      changed = false;
      for (auto f : getOperation().getOps<func::FuncOp>()) {
        FailureOr<bool> r = dropIn(f);
        if (failed(r))
          return signalPassFailure();
        changed |= *r;
      }
    }
    // Settled: a state, parameter or moment still returned was copied.
    for (auto f : getOperation().getOps<func::FuncOp>())
      for (unsigned i = 0; i < f.getNumResults(); ++i)
        if (isInPlaceState(f.getResultAttrDict(i))) {
          f.emitError() << "bitttt-drop-in-place-results: result " << i
                        << " of @" << f.getSymName()
                        << " is not updated in place (bufferization made a "
                           "copy)";
          return signalPassFailure();
        }
  }
};

} // namespace
