//===- PackWeights.cpp - latent BitLinear weights → packed arguments ------===//
//
// An inference artifact takes ternary weights already packed (2 bits each)
// with their scale, not latent f32 matrices. For every function argument
// named `bitttt.tensor = "W"` whose only uses are as BitLinear weights, this
// pass replaces it by two arguments:
//   `!bitttt.packed_ternary<out x in> {bitttt.tensor = "W.codes",
//        bitttt.packed = {weight = "W", part = "codes", layout = "i2_b128"}}`
//   `tensor<f32>                      {bitttt.tensor = "W.scale",
//        bitttt.packed = {weight = "W", part = "scale", layout = "i2_b128"}}`
// and rewrites those BitLinears to the packed form. The compiler packs the
// checkpoint's data the same way when it writes the `.bitt` (never into code).
//
//===----------------------------------------------------------------------===//
#include "bitttt/Dialect/BitTTTOps.h"
#include "bitttt/Transforms/Passes.h"

#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::bitttt {
#define GEN_PASS_DEF_BITTTTPACKWEIGHTS
#include "bitttt/Transforms/Passes.h.inc"
} // namespace mlir::bitttt

using namespace mlir;
using namespace mlir::bitttt;

namespace {

constexpr StringLiteral kTensorAttr = "bitttt.tensor";
constexpr StringLiteral kPackedAttr = "bitttt.packed";
constexpr StringLiteral kLayout = "i2_b128";

/// The argument feeds only BitLinear ops, as their weight operand.
bool onlyBitLinearWeight(BlockArgument arg) {
  if (arg.use_empty())
    return false;
  for (OpOperand &use : arg.getUses()) {
    auto op = dyn_cast<BitLinearOp>(use.getOwner());
    if (!op || use.getOperandNumber() != 1)
      return false;
  }
  return true;
}

struct PackWeightsPass
    : mlir::bitttt::impl::BitTTTPackWeightsBase<PackWeightsPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal())
      return;
    Block &entry = func.getBody().front();
    MLIRContext *ctx = &getContext();
    // Walk backwards so inserting after `i` does not shift unvisited args.
    for (int i = int(func.getNumArguments()) - 1; i >= 0; --i) {
      BlockArgument arg = entry.getArgument(i);
      auto name = func.getArgAttrOfType<StringAttr>(i, kTensorAttr);
      auto type = dyn_cast<RankedTensorType>(arg.getType());
      if (!name || !type || !onlyBitLinearWeight(arg))
        continue;
      auto packedType =
          PackedTernaryType::get(ctx, type.getDimSize(0), type.getDimSize(1));
      auto scaleType = RankedTensorType::get({}, Float32Type::get(ctx));
      // The file tensors of the two parts, and what they are: the emitter
      // and the runtime read the relation from `bitttt.packed`, never from
      // the names.
      auto packedAttr = [&](StringRef part) {
        return NamedAttribute(
            kPackedAttr,
            DictionaryAttr::get(
                ctx,
                {NamedAttribute("weight", name),
                 NamedAttribute("part", StringAttr::get(ctx, part)),
                 NamedAttribute("layout", StringAttr::get(ctx, kLayout))}));
      };
      auto codesName = StringAttr::get(ctx, name.getValue() + ".codes");
      auto scaleName = StringAttr::get(ctx, name.getValue() + ".scale");
      Location loc = arg.getLoc();
      if (failed(func.insertArgument(
              i + 1, scaleType,
              DictionaryAttr::get(ctx, {NamedAttribute(kTensorAttr, scaleName),
                                        packedAttr("scale")}),
              loc)) ||
          failed(func.insertArgument(
              i + 1, packedType,
              DictionaryAttr::get(ctx, {NamedAttribute(kTensorAttr, codesName),
                                        packedAttr("codes")}),
              loc))) {
        func.emitError() << "cannot add packed arguments for '"
                         << name.getValue() << "'";
        return signalPassFailure();
      }
      Value packed = entry.getArgument(i + 1);
      Value scaleTensor = entry.getArgument(i + 2);
      for (OpOperand &use : llvm::make_early_inc_range(arg.getUses())) {
        auto op = cast<BitLinearOp>(use.getOwner());
        ImplicitLocOpBuilder b(op.getLoc(), op);
        Value scale = tensor::ExtractOp::create(b, scaleTensor, ValueRange{});
        auto packedOp = BitLinearOp::create(b, op.getType(), op.getInput(),
                                            packed, scale, op.getActBitsAttr());
        op.replaceAllUsesWith(packedOp.getResult());
        op.erase();
      }
      if (failed(func.eraseArgument(i))) {
        func.emitError() << "cannot drop the latent argument '"
                         << name.getValue() << "'";
        return signalPassFailure();
      }
    }
  }
};

} // namespace
