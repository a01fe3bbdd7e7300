//===- OutlineParallelLoops.cpp - parallel loops → the runtime's threads --===//
//
// Compiled code has no threads of its own: each outermost 1-D scf.parallel of
// an entry function becomes a call to the parallel_for the runtime hands the
// call (include/bitttt/Target/CPU/ArtifactAbi.h), as IREE's runtime hands
// work to its task system. The loop body is outlined into
//
//   func.func private @<f>_loop<k>(%closure: !llvm.ptr, %begin: i64, %end: i64)
//
// which runs iterations [begin, end); the values it uses from the function
// travel in a closure struct on the caller's stack. A memref of static shape
// and strides travels as its two pointers and its offset only, and the body
// rebuilds its descriptor with the sizes and strides as constants, so the
// outlined code is optimized as if it were inline. Constants are cloned into
// the body. The function gets a trailing `!llvm.ptr {bitttt.exec}` argument
// (the `const bitttt_exec *`); a NULL exec or parallel_for runs the body on
// the caller, over the whole range. A private function called from an entry
// (a per-layer function) gets the same trailing argument, and its calls pass
// the caller's exec on.
//
//===----------------------------------------------------------------------===//
#include "bitttt/Target/CPU/ArtifactAbi.h"
#include "bitttt/Target/CPU/Passes.h"

#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/DenseSet.h"

#include <cstddef>

namespace mlir::bitttt {
#define GEN_PASS_DEF_BITTTTOUTLINEPARALLELLOOPS
#include "bitttt/Target/CPU/Passes.h.inc"
} // namespace mlir::bitttt

using namespace mlir;

static_assert(offsetof(bitttt_exec, ctx) == 0 &&
                  offsetof(bitttt_exec, parallel_for) == sizeof(void *),
              "the generated code reads bitttt_exec as {ptr ctx, ptr fn}");

namespace {

constexpr StringLiteral kExecAttr = "bitttt.exec";

/// How one value of the function reaches the outlined body.
struct Capture {
  Value value;
  /// Closure fields: one LLVM value, or for a static memref its allocated
  /// and aligned pointers and its offset.
  SmallVector<Type> fields;
  bool staticMemRef = false;
};

bool isStaticMemRef(MemRefType type) {
  SmallVector<int64_t> strides;
  int64_t offset;
  return type.hasStaticShape() &&
         succeeded(type.getStridesAndOffset(strides, offset)) &&
         llvm::none_of(strides, ShapedType::isDynamic);
}

FailureOr<Capture> classify(Value v, const LLVMTypeConverter &converter) {
  Capture c;
  c.value = v;
  MLIRContext *ctx = v.getContext();
  Type type = v.getType();
  if (auto memref = dyn_cast<MemRefType>(type)) {
    if (isStaticMemRef(memref)) {
      auto ptr = LLVM::LLVMPointerType::get(ctx);
      c.fields = {ptr, ptr, IntegerType::get(ctx, 64)};
      c.staticMemRef = true;
      return c;
    }
  }
  if (isa<IndexType>(type)) {
    c.fields = {IntegerType::get(ctx, 64)};
    return c;
  }
  if (isa<MemRefType, IntegerType, FloatType, VectorType,
          LLVM::LLVMPointerType>(type)) {
    Type converted = converter.convertType(type);
    if (converted && LLVM::isCompatibleType(converted)) {
      c.fields = {converted};
      return c;
    }
  }
  return failure();
}

class Outliner {
public:
  Outliner(ModuleOp module, func::FuncOp func)
      : module(module), func(func), converter(module.getContext()),
        ptr(LLVM::LLVMPointerType::get(module.getContext())),
        i64(IntegerType::get(module.getContext(), 64)) {}

  LogicalResult outline(scf::ParallelOp loop, unsigned index);
  /// The function's exec argument, added on first use.
  Value exec();

private:
  Value descriptorOf(ImplicitLocOpBuilder &b, Value memref);
  /// The values of `c` read back from the closure, as the original type.
  Value unpack(ImplicitLocOpBuilder &b, const Capture &c, Value closure,
               LLVM::LLVMStructType closureType, unsigned &field);

  ModuleOp module;
  func::FuncOp func;
  LLVMTypeConverter converter;
  Type ptr, i64;
  Value execArg;
};

Value Outliner::exec() {
  if (execArg)
    return execArg;
  unsigned n = func.getNumArguments();
  MLIRContext *ctx = func.getContext();
  (void)func.insertArgument(
      n, ptr,
      DictionaryAttr::get(ctx, {NamedAttribute(StringAttr::get(ctx, kExecAttr),
                                               UnitAttr::get(ctx))}),
      func.getLoc());
  execArg = func.getArgument(n);
  return execArg;
}

Value Outliner::descriptorOf(ImplicitLocOpBuilder &b, Value memref) {
  Type desc = converter.convertType(memref.getType());
  return UnrealizedConversionCastOp::create(b, desc, memref).getResult(0);
}

Value Outliner::unpack(ImplicitLocOpBuilder &b, const Capture &c, Value closure,
                       LLVM::LLVMStructType closureType, unsigned &field) {
  auto load = [&]() -> Value {
    Value slot = LLVM::GEPOp::create(b, ptr, closureType, closure,
                                     ArrayRef<LLVM::GEPArg>{0, int32_t(field)});
    return LLVM::LoadOp::create(b, closureType.getBody()[field++], slot);
  };
  Type type = c.value.getType();
  if (c.staticMemRef) {
    auto memref = cast<MemRefType>(type);
    SmallVector<int64_t> strides;
    int64_t offset;
    (void)memref.getStridesAndOffset(strides, offset);
    Value allocated = load(), aligned = load(), loadedOffset = load();
    auto constant = [&](int64_t v) -> Value {
      return LLVM::ConstantOp::create(b, i64, b.getI64IntegerAttr(v));
    };
    Type descType = converter.convertType(memref);
    Value d = LLVM::PoisonOp::create(b, descType);
    d = LLVM::InsertValueOp::create(b, d, allocated, ArrayRef<int64_t>{0});
    d = LLVM::InsertValueOp::create(b, d, aligned, ArrayRef<int64_t>{1});
    d = LLVM::InsertValueOp::create(
        b, d, ShapedType::isDynamic(offset) ? loadedOffset : constant(offset),
        ArrayRef<int64_t>{2});
    for (int64_t i = 0; i < memref.getRank(); ++i) {
      d = LLVM::InsertValueOp::create(b, d, constant(memref.getDimSize(i)),
                                      ArrayRef<int64_t>{3, i});
      d = LLVM::InsertValueOp::create(b, d, constant(strides[i]),
                                      ArrayRef<int64_t>{4, i});
    }
    return UnrealizedConversionCastOp::create(b, type, d).getResult(0);
  }
  Value v = load();
  if (isa<IndexType>(type))
    return arith::IndexCastOp::create(b, type, v);
  if (v.getType() != type)
    return UnrealizedConversionCastOp::create(b, type, v).getResult(0);
  return v;
}

LogicalResult Outliner::outline(scf::ParallelOp loop, unsigned index) {
  MLIRContext *ctx = module.getContext();
  Location loc = loop.getLoc();

  // What the body reads from the function: constants are cloned, the rest
  // captured. The loop's lower bound and step are needed for the iv.
  llvm::SetVector<Value> used;
  getUsedValuesDefinedAbove(loop.getRegion(), used);
  Value lb = loop.getLowerBound()[0], step = loop.getStep()[0];
  used.insert(lb);
  used.insert(step);
  SmallVector<Value> constants;
  SmallVector<Capture> captures;
  for (Value v : used) {
    if (Operation *def = v.getDefiningOp();
        def && def->hasTrait<OpTrait::ConstantLike>()) {
      constants.push_back(v);
      continue;
    }
    FailureOr<Capture> c = classify(v, converter);
    if (failed(c))
      return loop.emitOpError()
             << "uses a value of type " << v.getType()
             << ", which cannot be passed to an outlined loop body";
    captures.push_back(*c);
  }
  SmallVector<Type> fields;
  for (const Capture &c : captures)
    fields.append(c.fields);
  auto closureType = LLVM::LLVMStructType::getLiteral(ctx, fields);

  // The outlined body: iterations [begin, end).
  OpBuilder mb(ctx);
  mb.setInsertionPointAfter(func);
  std::string name =
      (func.getSymName() + "_loop" + std::to_string(index)).str();
  auto bodyType = FunctionType::get(ctx, {ptr, i64, i64}, {});
  auto body = func::FuncOp::create(mb, loc, name, bodyType);
  body.setPrivate();
  // Internal to the artifact: only the function pointer leaves it.
  body->setAttr("llvm.linkage",
                LLVM::LinkageAttr::get(ctx, LLVM::Linkage::Internal));
  SymbolTable(module).insert(body);
  {
    Block *entry = body.addEntryBlock();
    ImplicitLocOpBuilder b(loc, entry, entry->begin());
    IRMapping map;
    for (Value v : constants)
      map.map(v, b.clone(*v.getDefiningOp())->getResult(0));
    unsigned field = 0;
    for (const Capture &c : captures)
      map.map(c.value, unpack(b, c, entry->getArgument(0), closureType, field));
    Type index = b.getIndexType();
    Value begin = arith::IndexCastOp::create(b, index, entry->getArgument(1));
    Value end = arith::IndexCastOp::create(b, index, entry->getArgument(2));
    Value one = arith::ConstantIndexOp::create(b, 1);
    auto inner = scf::ForOp::create(b, begin, end, one);
    b.setInsertionPointToStart(inner.getBody());
    Value iv = arith::AddIOp::create(
        b, map.lookup(lb),
        arith::MulIOp::create(b, inner.getInductionVar(), map.lookup(step)));
    map.map(loop.getInductionVars()[0], iv);
    for (Operation &op : loop.getBody()->without_terminator())
      b.clone(op, map);
    b.setInsertionPointToEnd(entry);
    func::ReturnOp::create(b);
  }

  // The call site: fill the closure, hand the body to exec->parallel_for,
  // or run it here.
  Value execPtr = exec();
  Block &entryBlock = func.getBody().front();
  ImplicitLocOpBuilder ab(loc, &entryBlock, entryBlock.begin());
  Value count1 = LLVM::ConstantOp::create(ab, i64, ab.getI64IntegerAttr(1));
  Value closure = LLVM::AllocaOp::create(ab, ptr, closureType, count1);

  ImplicitLocOpBuilder b(loc, loop);
  unsigned field = 0;
  auto store = [&](Value v) {
    Value slot =
        LLVM::GEPOp::create(b, ptr, closureType, closure,
                            ArrayRef<LLVM::GEPArg>{0, int32_t(field++)});
    LLVM::StoreOp::create(b, v, slot);
  };
  for (const Capture &c : captures) {
    Type type = c.value.getType();
    if (c.staticMemRef) {
      Value d = descriptorOf(b, c.value);
      for (int64_t i = 0; i < 3; ++i)
        store(LLVM::ExtractValueOp::create(b, c.fields[i], d,
                                           ArrayRef<int64_t>{i}));
    } else if (isa<IndexType>(type)) {
      store(arith::IndexCastOp::create(b, i64, c.value));
    } else if (c.fields[0] != type) {
      store(UnrealizedConversionCastOp::create(b, c.fields[0], c.value)
                .getResult(0));
    } else {
      store(c.value);
    }
  }
  // n = max(0, ceil((ub - lb) / step)).
  Value span = arith::SubIOp::create(b, loop.getUpperBound()[0], lb);
  Value n = arith::CeilDivSIOp::create(b, span, step);
  n = arith::MaxSIOp::create(b, n, arith::ConstantIndexOp::create(b, 0));
  Value n64 = arith::IndexCastOp::create(b, i64, n);
  Value zero64 = LLVM::ConstantOp::create(b, i64, b.getI64IntegerAttr(0));
  Value fn =
      func::ConstantOp::create(b, bodyType, FlatSymbolRefAttr::get(ctx, name));
  Value fnPtr = UnrealizedConversionCastOp::create(b, ptr, fn).getResult(0);

  auto execType = LLVM::LLVMStructType::getLiteral(ctx, {ptr, ptr});
  Value null = LLVM::ZeroOp::create(b, ptr);
  Value hasExec =
      LLVM::ICmpOp::create(b, LLVM::ICmpPredicate::ne, execPtr, null);
  // The if's result type comes from its yields.
  auto loadPf = scf::IfOp::create(
      b, hasExec,
      [&](OpBuilder &ob, Location l) {
        ImplicitLocOpBuilder tb(l, ob);
        Value slot = LLVM::GEPOp::create(tb, ptr, execType, execPtr,
                                         ArrayRef<LLVM::GEPArg>{0, 1});
        scf::YieldOp::create(tb,
                             ValueRange{LLVM::LoadOp::create(tb, ptr, slot)});
      },
      [&](OpBuilder &ob, Location l) {
        scf::YieldOp::create(ob, l, ValueRange{null});
      });
  Value pf = loadPf.getResult(0);
  Value usePool = LLVM::ICmpOp::create(b, LLVM::ICmpPredicate::ne, pf, null);
  scf::IfOp::create(
      b, usePool,
      [&](OpBuilder &ob, Location l) {
        ImplicitLocOpBuilder tb(l, ob);
        Value slot = LLVM::GEPOp::create(tb, ptr, execType, execPtr,
                                         ArrayRef<LLVM::GEPArg>{0, 0});
        Value execCtx = LLVM::LoadOp::create(tb, ptr, slot);
        auto pfType = LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx),
                                                  {ptr, i64, ptr, ptr});
        LLVM::CallOp::create(tb, pfType,
                             ValueRange{pf, execCtx, n64, fnPtr, closure});
        scf::YieldOp::create(tb);
      },
      [&](OpBuilder &ob, Location l) {
        ImplicitLocOpBuilder eb(l, ob);
        // Not inlined: a copy of the body here would double the code LLVM
        // optimizes and generates for every parallel loop (compile time).
        auto call =
            func::CallOp::create(eb, body, ValueRange{closure, zero64, n64});
        call.setNoInline(true);
        scf::YieldOp::create(eb);
      });
  loop.erase();
  return success();
}

struct OutlineParallelLoopsPass
    : mlir::bitttt::impl::BitTTTOutlineParallelLoopsBase<
          OutlineParallelLoopsPass> {
  static SmallVector<scf::ParallelOp> loopsOf(func::FuncOp func) {
    SmallVector<scf::ParallelOp> loops;
    func.walk([&](scf::ParallelOp loop) {
      if (loop.getNumLoops() == 1 && loop.getInitVals().empty() &&
          !loop->getParentOfType<scf::ParallelOp>())
        loops.push_back(loop);
    });
    return loops;
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> funcs(module.getOps<func::FuncOp>());
    // Entry functions (public, no callers) and the private functions they
    // call (the per-layer functions) receive an exec: a private one gets
    // it as a trailing argument its callers pass on. Loops elsewhere (and
    // nested ones, and loops with reductions) stay for scf-to-cf,
    // sequential.
    auto isEntry = [&](func::FuncOp f) {
      return !f.isExternal() && f.isPublic() &&
             SymbolTable::symbolKnownUseEmpty(f, module);
    };
    auto calleeOf = [&](func::CallOp call) {
      return SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(
          call, call.getCalleeAttr());
    };
    // Private functions that get an exec: those called from an entry or
    // from one that gets it, and only from such functions (their calls
    // pass it on).
    llvm::DenseSet<Operation *> needsExec;
    auto hasExec = [&](Operation *f) {
      auto func = cast<func::FuncOp>(f);
      return isEntry(func) || needsExec.contains(f);
    };
    SmallVector<func::FuncOp> work;
    for (func::FuncOp f : funcs)
      if (isEntry(f))
        work.push_back(f);
    while (!work.empty()) {
      func::FuncOp f = work.pop_back_val();
      f.walk([&](func::CallOp call) {
        func::FuncOp callee = calleeOf(call);
        if (callee && !callee.isExternal() && callee.isPrivate() &&
            needsExec.insert(callee).second)
          work.push_back(callee);
      });
    }
    for (bool changed = true; changed;) {
      changed = false;
      for (func::FuncOp f : funcs) {
        if (!needsExec.contains(f))
          continue;
        std::optional<SymbolTable::UseRange> uses =
            SymbolTable::getSymbolUses(f, module);
        bool onlyFromExec =
            uses && llvm::all_of(*uses, [&](const SymbolTable::SymbolUse &u) {
              auto caller = u.getUser()->getParentOfType<func::FuncOp>();
              return isa<func::CallOp>(u.getUser()) && caller &&
                     hasExec(caller);
            });
        if (!onlyFromExec) {
          needsExec.erase(f);
          changed = true;
        }
      }
    }
    for (func::FuncOp func : funcs) {
      if (!isEntry(func) && !needsExec.contains(func))
        continue;
      SmallVector<func::CallOp> calls;
      func.walk([&](func::CallOp call) {
        if (func::FuncOp callee = calleeOf(call);
            callee && needsExec.contains(callee))
          calls.push_back(call);
      });
      Outliner outliner(module, func);
      for (auto [i, loop] : llvm::enumerate(loopsOf(func)))
        if (failed(outliner.outline(loop, unsigned(i))))
          return signalPassFailure();
      if (needsExec.contains(func))
        (void)outliner.exec(); // its callers pass one, loops or not
      for (func::CallOp call : calls)
        call->insertOperands(call->getNumOperands(), outliner.exec());
    }
  }
};

} // namespace
