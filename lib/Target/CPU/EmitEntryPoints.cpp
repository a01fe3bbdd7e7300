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
#include "bitttt/Target/CPU/ArtifactAbi.h"
#include "bitttt/Target/CPU/EntryAbi.h"
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

/// The safetensors dtype of a buffer's elements; packed codes are raw bytes
/// (`bitttt.packed` part "codes"), other i8 buffers signed.
FailureOr<std::string> dtypeOf(Type element, bool packedCodes) {
  if (element.isF32())
    return std::string("F32");
  if (element.isBF16())
    return std::string("BF16");
  if (element.isF16())
    return std::string("F16");
  if (element.isInteger(64))
    return std::string("I64");
  if (element.isInteger(32))
    return std::string("I32");
  if (element.isInteger(8))
    return std::string(packedCodes ? "U8" : "I8");
  return failure();
}

/// The ABI description of `func`'s buffers (docs/abi.md): out-params of
/// buffer-results-to-out-params carry `bufferize.result`.
FailureOr<::bitttt::AbiFunction> describe(func::FuncOp func) {
  ::bitttt::AbiFunction fn;
  fn.name = func.getSymName().str();
  fn.symbol = (BITTTT_ENTRY_PREFIX + func.getSymName()).str();
  for (auto [i, type] : llvm::enumerate(func.getArgumentTypes())) {
    if (isExecArg(func, unsigned(i)))
      continue;
    auto memref = cast<MemRefType>(type);
    DictionaryAttr attrs = func.getArgAttrDict(unsigned(i));
    ::bitttt::AbiBuffer b;
    b.role = "none";
    for (StringRef role :
         {"io", "tensor", "state", "param", "adam_m", "adam_v", "grad"})
      if (auto name = attrs ? attrs.getAs<StringAttr>(("bitttt." + role).str())
                            : StringAttr()) {
        b.role = role.str();
        b.name = name.getValue().str();
      }
    if (auto range =
            attrs ? attrs.getAs<DenseI64ArrayAttr>("bitttt.range") : nullptr)
      b.range = {range[0], range[1]};
    if (auto packed =
            attrs ? attrs.getAs<DictionaryAttr>("bitttt.packed") : nullptr) {
      b.packedWeight = packed.getAs<StringAttr>("weight").getValue().str();
      b.packedPart = packed.getAs<StringAttr>("part").getValue().str();
      b.packedLayout = packed.getAs<StringAttr>("layout").getValue().str();
    }
    FailureOr<std::string> dtype =
        dtypeOf(memref.getElementType(), b.packedPart == "codes");
    if (failed(dtype))
      return func.emitError() << "buffer " << i << " has element type "
                              << memref.getElementType()
                              << ", which the entry ABI cannot describe";
    b.dtype = *dtype;
    b.shape.assign(memref.getShape().begin(), memref.getShape().end());
    bool output = attrs && attrs.get("bufferize.result");
    (output ? fn.outputs : fn.inputs).push_back(std::move(b));
  }
  return fn;
}

/// `@bitttt_abi`: the description as a NUL-terminated string constant the
/// artifact exports.
void emitDescription(ModuleOp module, const ::bitttt::EntryAbi &abi) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << ::bitttt::toJson(abi);
  text.push_back('\0');
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  auto type = LLVM::LLVMArrayType::get(b.getI8Type(), text.size());
  LLVM::GlobalOp::create(b, module.getLoc(), type, /*isConstant=*/true,
                         LLVM::Linkage::External, ::bitttt::entryAbiSymbol(),
                         b.getStringAttr(text));
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
    ::bitttt::EntryAbi abi;
    abi.version = BITTTT_ARTIFACT_ABI_VERSION;
    for (func::FuncOp func : targets) {
      FailureOr<::bitttt::AbiFunction> description = describe(func);
      if (failed(description))
        return signalPassFailure();
      abi.functions.push_back(std::move(*description));
      ImplicitLocOpBuilder b(func.getLoc(), func);
      b.setInsertionPointAfter(func);
      std::string name = (BITTTT_ENTRY_PREFIX + func.getSymName()).str();
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
    // Only the entry points and the description leave the artifact. The
    // wrapped functions and the functions they call get internal linkage:
    // LLVM then inlines each wrapped function into its one entry instead of
    // lowering a call that passes every buffer as a memref descriptor
    // (thousands of arguments: seconds of instruction selection on a
    // 20-layer model), and the per-layer functions are not exported.
    for (func::FuncOp func : module.getOps<func::FuncOp>()) {
      bool wrapped = llvm::is_contained(targets, func);
      if (func.isExternal() || (func.isPublic() && !wrapped))
        continue;
      func.setPrivate();
      func->setAttr("llvm.linkage",
                    LLVM::LinkageAttr::get(ctx, LLVM::Linkage::Internal));
    }
    if (module.lookupSymbol(::bitttt::entryAbiSymbol())) {
      module.emitError() << "'" << ::bitttt::entryAbiSymbol()
                         << "' already exists";
      return signalPassFailure();
    }
    emitDescription(module, abi);
  }
};

} // namespace
