//===- PackWeights.cpp - latent BitLinear weights → packed arguments ------===//
//
// An inference artifact takes ternary weights already packed (2 or 1.6 bits
// each, the pass's `layout`) with their scale, not latent f32 matrices. For
// every function argument named `bitttt.tensor = "W"` whose only uses are as
// BitLinear weights, this pass replaces it by two arguments:
//   `!bitttt.packed_ternary<out x in> {bitttt.tensor = "W.codes",
//        bitttt.packed = {weight = "W", part = "codes", layout = "i2_b128"}}`
//   `tensor<f32>                      {bitttt.tensor = "W.scale",
//        bitttt.packed = {weight = "W", part = "scale", layout = "i2_b128"}}`
// and rewrites those BitLinears to the packed form. The compiler packs the
// checkpoint's data the same way when it writes the `.bitt` (never into code).
//
// A private function's parameter used only as BitLinear weights (the
// per-layer functions of @prefill and @decode) becomes the same pair,
// without names, when every call passes it an argument that is packed:
// the calls then pass both parts.
//
//===----------------------------------------------------------------------===//
#include "bitttt/Dialect/BitTTTOps.h"
#include "bitttt/Transforms/Passes.h"

#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "llvm/ADT/BitVector.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::bitttt {
#define GEN_PASS_DEF_BITTTTPACKWEIGHTS
#include "bitttt/Transforms/Passes.h.inc"
} // namespace mlir::bitttt

using namespace mlir;
using namespace mlir::bitttt;

namespace {

constexpr StringLiteral kTensorAttr = "bitttt.tensor";
constexpr StringLiteral kPackedAttr = "bitttt.packed";

/// A parameter of a function, as the key of the packed ones.
using Param = std::pair<Operation *, unsigned>;

struct PackWeightsPass
    : mlir::bitttt::impl::BitTTTPackWeightsBase<PackWeightsPass> {
  using BitTTTPackWeightsBase::BitTTTPackWeightsBase;
  void runOnOperation() override;

private:
  /// `arg` has uses, each a BitLinear's weight or (when `params` is given)
  /// a call operand bound to a parameter in `params`.
  static bool onlyBitLinearWeight(BlockArgument arg,
                                  const llvm::DenseSet<Param> *params) {
    if (arg.use_empty())
      return false;
    for (OpOperand &use : arg.getUses()) {
      if (auto op = dyn_cast<BitLinearOp>(use.getOwner())) {
        if (use.getOperandNumber() != 1)
          return false;
        continue;
      }
      auto call = dyn_cast<func::CallOp>(use.getOwner());
      if (!params || !call)
        return false;
      auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(
          call, call.getCalleeAttr());
      if (!callee || !params->contains({callee, use.getOperandNumber()}))
        return false;
    }
    return true;
  }

  /// Replaces argument i of func by (codes, scale) with the given
  /// attributes and rewrites its uses; false (with a diagnostic) if the
  /// signature cannot be changed.
  bool pack(func::FuncOp func, unsigned i, DictionaryAttr codesAttrs,
            DictionaryAttr scaleAttrs);

  /// Calls whose operands were packed, rebuilt once all are known.
  llvm::SetVector<Operation *> calls;
  /// For every rebuilt call: operand number -> (codes, scale).
  llvm::DenseMap<Operation *, llvm::DenseMap<unsigned, std::pair<Value, Value>>>
      packedOperands;
  /// The parsed `layout` option.
  ::bitttt::format::TernaryLayout packedLayout =
      ::bitttt::format::TernaryLayout::I2B128;
  /// The latent arguments, erased once no call passes them.
  llvm::MapVector<Operation *, SmallVector<BlockArgument>> latent;
};

bool PackWeightsPass::pack(func::FuncOp func, unsigned i,
                           DictionaryAttr codesAttrs,
                           DictionaryAttr scaleAttrs) {
  Block &entry = func.getBody().front();
  BlockArgument arg = entry.getArgument(i);
  auto type = cast<RankedTensorType>(arg.getType());
  MLIRContext *ctx = &getContext();
  auto packedType = PackedTernaryType::get(ctx, type.getDimSize(0),
                                           type.getDimSize(1), packedLayout);
  auto scaleType = RankedTensorType::get({}, Float32Type::get(ctx));
  Location loc = arg.getLoc();
  if (failed(func.insertArgument(i + 1, scaleType, scaleAttrs, loc)) ||
      failed(func.insertArgument(i + 1, packedType, codesAttrs, loc))) {
    func.emitError() << "cannot add packed arguments for argument " << i;
    return false;
  }
  Value packed = entry.getArgument(i + 1);
  Value scaleTensor = entry.getArgument(i + 2);
  for (OpOperand &use : llvm::make_early_inc_range(arg.getUses())) {
    if (auto call = dyn_cast<func::CallOp>(use.getOwner())) {
      calls.insert(call);
      packedOperands[call][use.getOperandNumber()] = {packed, scaleTensor};
      continue;
    }
    auto op = cast<BitLinearOp>(use.getOwner());
    ImplicitLocOpBuilder b(op.getLoc(), op);
    Value scale = tensor::ExtractOp::create(b, scaleTensor, ValueRange{});
    auto packedOp = BitLinearOp::create(b, op.getType(), op.getInput(), packed,
                                        scale, op.getActBitsAttr());
    op.replaceAllUsesWith(packedOp.getResult());
    op.erase();
  }
  // Calls still name the latent argument until they are rebuilt.
  latent[func].push_back(arg);
  return true;
}

void PackWeightsPass::runOnOperation() {
  ModuleOp module = getOperation();
  MLIRContext *ctx = &getContext();
  if (!::bitttt::format::parseTernaryLayout(layout, packedLayout)) {
    module.emitError() << "bitttt-pack-weights: layout '" << layout
                       << "' is not a packed layout ("
                       << ::bitttt::format::ternaryLayoutNames() << ")";
    return signalPassFailure();
  }
  auto isCandidate = [](BlockArgument arg) {
    return isa<RankedTensorType>(arg.getType()) &&
           cast<RankedTensorType>(arg.getType()).getRank() == 2;
  };

  // Private parameters used only as BitLinear weights, kept where every
  // call passes a named argument that is packed in turn.
  llvm::DenseSet<Param> params;
  for (auto func : module.getOps<func::FuncOp>())
    if (func.isPrivate() && !func.isExternal())
      for (BlockArgument arg : func.getArguments())
        if (isCandidate(arg) && onlyBitLinearWeight(arg, nullptr))
          params.insert({func, arg.getArgNumber()});
  auto namedPacked = [&](Value v) {
    auto arg = dyn_cast<BlockArgument>(v);
    if (!arg || !isCandidate(arg))
      return false;
    auto owner = dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp());
    return owner && owner.getArgAttr(arg.getArgNumber(), kTensorAttr) &&
           onlyBitLinearWeight(arg, &params);
  };
  bool changed = true;
  while (changed) {
    changed = false;
    module.walk([&](func::CallOp call) {
      auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(
          call, call.getCalleeAttr());
      if (!callee)
        return;
      for (auto [i, v] : llvm::enumerate(call.getOperands()))
        if (params.contains({callee, unsigned(i)}) && !namedPacked(v)) {
          params.erase({callee, unsigned(i)});
          changed = true;
        }
    });
  }

  // Pack, last argument first so inserting after `i` does not shift the
  // ones still to visit.
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isExternal())
      continue;
    for (int i = int(func.getNumArguments()) - 1; i >= 0; --i) {
      BlockArgument arg = func.getArgument(i);
      DictionaryAttr codesAttrs, scaleAttrs;
      if (func.isPrivate()) {
        if (!params.contains({func, unsigned(i)}))
          continue;
        codesAttrs = scaleAttrs = DictionaryAttr::get(ctx);
      } else {
        auto name = func.getArgAttrOfType<StringAttr>(i, kTensorAttr);
        if (!name || !isCandidate(arg) || !onlyBitLinearWeight(arg, &params))
          continue;
        // The file tensors of the two parts, and what they are: the
        // emitter and the runtime read the relation from `bitttt.packed`,
        // never from the names.
        auto packedAttr = [&](StringRef part) {
          return NamedAttribute(
              kPackedAttr,
              DictionaryAttr::get(
                  ctx,
                  {NamedAttribute("weight", name),
                   NamedAttribute("part", StringAttr::get(ctx, part)),
                   NamedAttribute(
                       "layout",
                       StringAttr::get(ctx, ::bitttt::format::ternaryLayoutName(
                                                packedLayout)))}));
        };
        auto partName = [&](StringRef part) {
          return NamedAttribute(
              kTensorAttr, StringAttr::get(ctx, name.getValue() + "." + part));
        };
        codesAttrs =
            DictionaryAttr::get(ctx, {partName("codes"), packedAttr("codes")});
        scaleAttrs =
            DictionaryAttr::get(ctx, {partName("scale"), packedAttr("scale")});
      }
      if (!pack(func, unsigned(i), codesAttrs, scaleAttrs))
        return signalPassFailure();
    }
  }

  // Calls pass both parts in place of each packed operand.
  for (Operation *op : calls) {
    auto call = cast<func::CallOp>(op);
    const auto &parts = packedOperands[op];
    SmallVector<Value> operands;
    for (auto [i, v] : llvm::enumerate(call.getOperands())) {
      auto it = parts.find(unsigned(i));
      if (it == parts.end()) {
        operands.push_back(v);
        continue;
      }
      operands.push_back(it->second.first);
      operands.push_back(it->second.second);
    }
    OpBuilder b(call);
    auto packedCall = func::CallOp::create(b, call.getLoc(), call.getCallee(),
                                           call.getResultTypes(), operands);
    call.replaceAllUsesWith(packedCall.getResults());
    call.erase();
  }

  // The latent arguments have no uses left.
  for (auto &[op, args] : latent) {
    auto func = cast<func::FuncOp>(op);
    llvm::BitVector dead(func.getNumArguments());
    for (BlockArgument arg : args)
      dead.set(arg.getArgNumber());
    if (failed(func.eraseArguments(dead))) {
      func.emitError() << "cannot drop the latent weight arguments";
      return signalPassFailure();
    }
  }
}

} // namespace
