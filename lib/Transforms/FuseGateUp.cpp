//===- FuseGateUp.cpp - SwiGLU gate/up/silu·mul → gate_up_q ---------------===//
#include "bitttt/Dialect/BitTTTOps.h"
#include "bitttt/Transforms/Passes.h"

#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::bitttt {
#define GEN_PASS_DEF_BITTTTFUSEGATEUP
#include "bitttt/Transforms/Passes.h.inc"
} // namespace mlir::bitttt

using namespace mlir;
using namespace mlir::bitttt;

namespace {

struct FuseGateUpPass
    : mlir::bitttt::impl::BitTTTFuseGateUpBase<FuseGateUpPass> {
  void runOnOperation() override {
    getOperation().walk([](SiluMulOp op) {
      auto gate = op.getGate().getDefiningOp<BitLinearQOp>();
      auto up = op.getUp().getDefiningOp<BitLinearQOp>();
      // Same quantized input, same weight shape, used only here.
      if (!gate || !up || gate == up || gate.getCodes() != up.getCodes() ||
          gate.getScales() != up.getScales() ||
          gate.getWeight().getType() != up.getWeight().getType() ||
          !gate->hasOneUse() || !up->hasOneUse())
        return;
      ImplicitLocOpBuilder b(op.getLoc(), op);
      Value h = GateUpQOp::create(
          b, op.getType(), gate.getCodes(), gate.getScales(), gate.getWeight(),
          gate.getScale(), up.getWeight(), up.getScale());
      op.replaceAllUsesWith(h);
      op.erase();
      gate.erase();
      up.erase();
    });
  }
};

} // namespace
