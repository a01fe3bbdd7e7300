//===- FuseNormQuant.cpp - act_quant(rms_norm) → rms_norm_act_quant -------===//
#include "bitttt/Dialect/BitTTTOps.h"
#include "bitttt/Transforms/Passes.h"

#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::bitttt {
#define GEN_PASS_DEF_BITTTTFUSENORMQUANT
#include "bitttt/Transforms/Passes.h.inc"
} // namespace mlir::bitttt

using namespace mlir;
using namespace mlir::bitttt;

namespace {

struct FuseNormQuantPass
    : mlir::bitttt::impl::BitTTTFuseNormQuantBase<FuseNormQuantPass> {
  void runOnOperation() override {
    SmallVector<RMSNormOp> norms;
    getOperation().walk([&](RMSNormOp op) { norms.push_back(op); });
    for (RMSNormOp norm : norms) {
      // The normalized tensor must feed quantizers only, else it is needed
      // in f32 anyway (TTT's learning-rate projection reads it).
      if (norm->use_empty() ||
          !llvm::all_of(norm->getUsers(),
                        [](Operation *u) { return isa<ActQuantOp>(u); }))
        continue;
      auto first = cast<ActQuantOp>(*norm->getUsers().begin());
      ImplicitLocOpBuilder b(norm.getLoc(), first);
      b.setInsertionPointAfter(norm);
      auto fused = RMSNormActQuantOp::create(
          b, first.getCodes().getType(), first.getScales().getType(),
          norm.getInput(), norm.getWeight(), norm.getEpsAttr());
      for (Operation *user : llvm::make_early_inc_range(norm->getUsers())) {
        user->replaceAllUsesWith(fused->getResults());
        user->erase();
      }
      norm.erase();
    }
  }
};

} // namespace
