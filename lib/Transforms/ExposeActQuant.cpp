//===- ExposeActQuant.cpp - packed BitLinear → act_quant + bitlinear_q ----===//
#include "bitttt/Dialect/BitTTTOps.h"
#include "bitttt/Transforms/Passes.h"

#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::bitttt {
#define GEN_PASS_DEF_BITTTTEXPOSEACTQUANT
#include "bitttt/Transforms/Passes.h.inc"
} // namespace mlir::bitttt

using namespace mlir;
using namespace mlir::bitttt;

namespace {

struct ExposeActQuantPass
    : mlir::bitttt::impl::BitTTTExposeActQuantBase<ExposeActQuantPass> {
  void runOnOperation() override {
    getOperation().walk([](BitLinearOp op) {
      if (!isa<PackedTernaryType>(op.getWeight().getType()) ||
          op.getActBitsAttr().getInt() != 8)
        return;
      ImplicitLocOpBuilder b(op.getLoc(), op);
      auto xType = op.getInput().getType();
      auto quant = ActQuantOp::create(
          b, RankedTensorType::get(xType.getShape(), b.getI8Type()),
          RankedTensorType::get({xType.getDimSize(0)}, b.getF32Type()),
          op.getInput());
      Value y = BitLinearQOp::create(b, op.getType(), quant.getCodes(),
                                     quant.getScales(), op.getWeight(),
                                     op.getScale());
      op.replaceAllUsesWith(y);
      op.erase();
    });
  }
};

} // namespace
