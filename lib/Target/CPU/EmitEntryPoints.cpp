//===- EmitEntryPoints.cpp - bitttt_entry_<f>(buffers, exec) wrappers ----===//
//
// The runtime calls every compiled function through one C signature
// (docs/abi.md, bitttt/Target/CPU/ArtifactAbi.h): a pointer to an array of
// buffer base addresses, inputs then outputs, and the executor its parallel
// loops run on (passed to the function's `bitttt.exec` argument, if any). The
// wrapper turns each address into the memref descriptor the function's lowered
// signature expects: {ptr, ptr, 0, sizes, row-major strides}. The descriptor is
// built as the LLVM struct that memrefs lower to and cast to the memref type;
// after conversion the cast pairs cancel.
//
//===----------------------------------------------------------------------===//
#include "bitttt/Target/CPU/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::bitttt {
#define GEN_PASS_DEF_BITTTTEMITENTRYPOINTS
#include "bitttt/Target/CPU/Passes.h.inc"
} // namespace mlir::bitttt

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kExecAttr = "bitttt.exec";

bool isExecArg(func::FuncOp func, unsigned i) {
  return isa<LLVM::LLVMPointerType>(func.getArgumentTypes()[i]) &&
         func.getArgAttr(i, kExecAttr);
}

/// Public, returns nothing, and every argument is a static identity-layout
/// memref (a buffer) or the `bitttt.exec` pointer.
bool qualifies(func::FuncOp func) {
  if (func.isExternal() || !func.isPublic() || func.getNumResults() != 0)
    return false;
  for (auto [i, t] : llvm::enumerate(func.getArgumentTypes())) {
    auto m = dyn_cast<MemRefType>(t);
    if (!(m && m.hasStaticShape() && m.getLayout().isIdentity()) &&
        !isExecArg(func, unsigned(i)))
      return false;
  }
  return true;
}

/// The LLVM struct an identity-layout memref of `rank` lowers to.
LLVM::LLVMStructType descriptorType(MLIRContext *ctx, int64_t rank) {
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  auto i64 = IntegerType::get(ctx, 64);
  SmallVector<Type> fields = {ptr, ptr, i64};
  if (rank > 0) {
    fields.push_back(LLVM::LLVMArrayType::get(i64, rank));
    fields.push_back(LLVM::LLVMArrayType::get(i64, rank));
  }
  return LLVM::LLVMStructType::getLiteral(ctx, fields);
}

Value buildDescriptor(ImplicitLocOpBuilder &b, Value base, MemRefType type) {
  auto structType = descriptorType(b.getContext(), type.getRank());
  Type i64 = b.getI64Type();
  Value d = LLVM::PoisonOp::create(b, structType);
  d = LLVM::InsertValueOp::create(b, d, base, ArrayRef<int64_t>{0});
  d = LLVM::InsertValueOp::create(b, d, base, ArrayRef<int64_t>{1});
  auto c = [&](int64_t v) {
    return LLVM::ConstantOp::create(b, i64, b.getI64IntegerAttr(v));
  };
  d = LLVM::InsertValueOp::create(b, d, c(0), ArrayRef<int64_t>{2});
  int64_t stride = 1;
  for (int64_t i = type.getRank() - 1; i >= 0; --i) {
    d = LLVM::InsertValueOp::create(b, d, c(type.getDimSize(i)),
                                    ArrayRef<int64_t>{3, i});
    d = LLVM::InsertValueOp::create(b, d, c(stride), ArrayRef<int64_t>{4, i});
    stride *= type.getDimSize(i);
  }
  return UnrealizedConversionCastOp::create(b, type, d).getResult(0);
}

struct EmitEntryPointsPass
    : mlir::bitttt::impl::BitTTTEmitEntryPointsBase<EmitEntryPointsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    SmallVector<func::FuncOp> targets;
    for (auto func : module.getOps<func::FuncOp>())
      if (qualifies(func))
        targets.push_back(func);
    for (func::FuncOp func : targets) {
      ImplicitLocOpBuilder b(func.getLoc(), func);
      b.setInsertionPointAfter(func);
      std::string name = ("bitttt_entry_" + func.getSymName()).str();
      if (module.lookupSymbol(name)) {
        func.emitError() << "entry point '" << name << "' already exists";
        return signalPassFailure();
      }
      auto entry =
          func::FuncOp::create(b, name, b.getFunctionType({ptr, ptr}, {}));
      Block *body = entry.addEntryBlock();
      b.setInsertionPointToStart(body);
      Value buffers = body->getArgument(0), exec = body->getArgument(1);
      SmallVector<Value> args;
      int32_t slotIndex = 0;
      for (auto [i, type] : llvm::enumerate(func.getArgumentTypes())) {
        if (isExecArg(func, unsigned(i))) {
          args.push_back(exec);
          continue;
        }
        Value slot = LLVM::GEPOp::create(b, ptr, ptr, buffers,
                                         ArrayRef<LLVM::GEPArg>{slotIndex++});
        Value base = LLVM::LoadOp::create(b, ptr, slot);
        args.push_back(buildDescriptor(b, base, cast<MemRefType>(type)));
      }
      func::CallOp::create(b, func, args);
      func::ReturnOp::create(b);
    }
  }
};

} // namespace
