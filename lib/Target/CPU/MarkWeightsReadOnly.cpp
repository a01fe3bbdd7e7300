//===- MarkWeightsReadOnly.cpp - weight arguments are not writable --------===//
#include "bitttt/Target/CPU/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"

namespace mlir::bitttt {
#define GEN_PASS_DEF_BITTTTMARKWEIGHTSREADONLY
#include "bitttt/Target/CPU/Passes.h.inc"
} // namespace mlir::bitttt

using namespace mlir;

namespace {

bool isWeight(DictionaryAttr attrs) {
  return attrs && attrs.get("bitttt.tensor");
}

struct MarkWeightsReadOnlyPass
    : mlir::bitttt::impl::BitTTTMarkWeightsReadOnlyBase<
          MarkWeightsReadOnlyPass> {
  void runOnOperation() override {
    auto readOnly = BoolAttr::get(&getContext(), false);
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (func.isExternal() || !func.isPublic())
        continue;
      for (unsigned i = 0; i < func.getNumArguments(); ++i)
        if (isa<TensorType>(func.getArgumentTypes()[i]) &&
            isWeight(func.getArgAttrDict(i)))
          func.setArgAttr(
              i, bufferization::BufferizationDialect::kWritableAttrName,
              readOnly);
    }
  }
};

} // namespace
