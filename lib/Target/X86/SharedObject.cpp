//===- SharedObject.cpp - LLVM dialect → x86-64 shared object -------------===//
#include "bitttt/Target/X86/SharedObject.h"

#include "mlir/Support/Timing.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/PassInstrumentation.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Triple.h"

using namespace bitttt;
using llvm::Error;
using llvm::Expected;

namespace {

Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

Expected<std::unique_ptr<llvm::TargetMachine>>
createTargetMachine(const x86::CpuTarget &target) {
  static const bool initialized = [] {
    LLVMInitializeX86TargetInfo();
    LLVMInitializeX86Target();
    LLVMInitializeX86TargetMC();
    LLVMInitializeX86AsmPrinter();
    return true;
  }();
  (void)initialized;
  llvm::Triple triple("x86_64-unknown-linux-gnu");
  std::string error;
  const llvm::Target *t = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!t)
    return makeError("no LLVM x86 target: " + error);
  llvm::TargetOptions options;
  std::unique_ptr<llvm::TargetMachine> tm(t->createTargetMachine(
      triple, target.llvmCpu, target.llvmFeatures, options, llvm::Reloc::PIC_,
      std::nullopt, llvm::CodeGenOptLevel::Aggressive));
  if (!tm)
    return makeError(llvm::Twine("cannot create a target machine for ") +
                     target.name);
  return std::move(tm);
}

/// Times every LLVM pass (adaptors and pass managers excluded) in a scope
/// nested under the pass that runs it, so repeated runs of one pass add up.
class PassTimer {
public:
  PassTimer(mlir::TimingScope &root, llvm::PassInstrumentationCallbacks &pic)
      : root(root) {
    if (!root)
      return;
    pic.registerBeforeNonSkippedPassCallback(
        [this](llvm::StringRef pass, llvm::Any) { before(pass); });
    pic.registerAfterPassCallback(
        [this](llvm::StringRef pass, llvm::Any,
               const llvm::PreservedAnalyses &) { after(pass); });
    pic.registerAfterPassInvalidatedCallback(
        [this](llvm::StringRef pass, const llvm::PreservedAnalyses &) {
          after(pass);
        });
  }

private:
  static bool isWrapper(llvm::StringRef pass) {
    return pass.contains("PassManager") || pass.contains("PassAdaptor");
  }
  void before(llvm::StringRef pass) {
    if (isWrapper(pass))
      return;
    mlir::TimingScope &parent = stack.empty() ? root : stack.back();
    stack.push_back(parent.nest(pass));
  }
  void after(llvm::StringRef pass) {
    if (!isWrapper(pass) && !stack.empty())
      stack.pop_back();
  }

  mlir::TimingScope &root;
  std::vector<mlir::TimingScope> stack;
};

/// MLIR (LLVM dialect) → LLVM module optimized at -O3 for `tm`.
Expected<std::unique_ptr<llvm::Module>>
optimizedModule(mlir::ModuleOp module, llvm::LLVMContext &context,
                llvm::TargetMachine &tm, mlir::TimingScope &timing) {
  mlir::TimingScope translateTiming = timing.nest("translate to LLVM IR");
  std::unique_ptr<llvm::Module> llvmModule =
      mlir::translateModuleToLLVMIR(module, context, "bitttt");
  translateTiming.stop();
  if (!llvmModule)
    return makeError("translation of the lowered module to LLVM IR failed");
  llvmModule->setTargetTriple(tm.getTargetTriple());
  llvmModule->setDataLayout(tm.createDataLayout());
  for (llvm::Function &f : *llvmModule) {
    if (f.isDeclaration())
      continue;
    f.addFnAttr("target-cpu", tm.getTargetCPU());
    if (!tm.getTargetFeatureString().empty())
      f.addFnAttr("target-features", tm.getTargetFeatureString());
  }

  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  mlir::TimingScope optTiming = timing.nest("LLVM -O3");
  llvm::PassInstrumentationCallbacks pic;
  PassTimer passTimer(optTiming, pic);
  llvm::PassBuilder pb(&tm, llvm::PipelineTuningOptions(), std::nullopt, &pic);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::ModulePassManager mpm =
      pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
  mpm.run(*llvmModule, mam);
  return std::move(llvmModule);
}

/// An optimized LLVM module for a target, with the objects it lives in.
struct CompiledModule {
  std::unique_ptr<llvm::TargetMachine> machine;
  std::unique_ptr<llvm::LLVMContext> context;
  std::unique_ptr<llvm::Module> module;
};

Expected<CompiledModule> compile(mlir::ModuleOp module,
                                 const x86::CpuTarget &target,
                                 mlir::TimingScope &timing) {
  CompiledModule result;
  auto tm = createTargetMachine(target);
  if (!tm)
    return tm.takeError();
  result.machine = std::move(*tm);
  result.context = std::make_unique<llvm::LLVMContext>();
  auto llvmModule =
      optimizedModule(module, *result.context, *result.machine, timing);
  if (!llvmModule)
    return llvmModule.takeError();
  result.module = std::move(*llvmModule);
  return std::move(result);
}

/// Removes a temporary file when it goes out of scope.
struct TempFile {
  llvm::SmallString<128> path;
  ~TempFile() {
    if (!path.empty())
      llvm::sys::fs::remove(path);
  }
};

} // namespace

Expected<std::string> bitttt::buildLLVMIR(mlir::ModuleOp module,
                                          const x86::CpuTarget &target,
                                          mlir::TimingScope *timing) {
  mlir::TimingScope none;
  auto compiled = compile(module, target, timing ? *timing : none);
  if (!compiled)
    return compiled.takeError();
  std::string text;
  llvm::raw_string_ostream os(text);
  compiled->module->print(os, nullptr);
  return text;
}

Expected<std::string> bitttt::buildSharedObject(mlir::ModuleOp module,
                                                const x86::CpuTarget &target,
                                                mlir::TimingScope *timing) {
  mlir::TimingScope none;
  mlir::TimingScope &scope = timing ? *timing : none;
  auto compiled = compile(module, target, scope);
  if (!compiled)
    return compiled.takeError();

  // Object code in memory.
  llvm::SmallString<0> object;
  {
    mlir::TimingScope codegenTiming = scope.nest("LLVM codegen (object)");
    llvm::raw_svector_ostream os(object);
    llvm::legacy::PassManager pm;
    if (compiled->machine->addPassesToEmitFile(
            pm, os, nullptr, llvm::CodeGenFileType::ObjectFile))
      return makeError(llvm::Twine("LLVM cannot emit objects for ") +
                       target.name);
    pm.run(*compiled->module);
  }

  // Link with ld.lld (out of process: the lld libraries would pull a second,
  // static copy of LLVM into this binary).
  auto lld = llvm::sys::findProgramByName("ld.lld-22");
  if (!lld)
    lld = llvm::sys::findProgramByName("ld.lld");
  if (!lld)
    return makeError("ld.lld not found (install the lld-22 package)");
  mlir::TimingScope linkTiming = scope.nest("link (ld.lld)");
  TempFile obj, so;
  int fd;
  if (auto ec = llvm::sys::fs::createTemporaryFile("bitttt", "o", fd, obj.path))
    return makeError("cannot create a temporary object file: " + ec.message());
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << object;
  }
  if (auto ec = llvm::sys::fs::createTemporaryFile("bitttt", "so", so.path))
    return makeError("cannot create a temporary file: " + ec.message());
  // Compiled code calls only libc and libm (its threads come from the
  // runtime through the entry's exec argument): no other library, no run
  // path, so the artifact loads wherever the runtime does.
  llvm::SmallVector<llvm::StringRef> args = {*lld,
                                             "-shared",
                                             "--no-undefined-version",
                                             "-O2",
                                             "--as-needed",
                                             "-o",
                                             so.path,
                                             obj.path,
                                             "-lm",
                                             "-lc",
                                             "-L/usr/lib/x86_64-linux-gnu",
                                             "-L/lib/x86_64-linux-gnu"};
  std::string message;
  int rc =
      llvm::sys::ExecuteAndWait(*lld, args, std::nullopt, {}, 0, 0, &message);
  if (rc != 0)
    return makeError("linking the " + llvm::Twine(target.name) +
                     " shared object with " + *lld + " failed" +
                     (message.empty() ? "" : ": " + message));
  auto bytes = llvm::MemoryBuffer::getFile(so.path, /*IsText=*/false);
  if (!bytes)
    return makeError("cannot read the linked shared object: " +
                     bytes.getError().message());
  return (*bytes)->getBuffer().str();
}
