//===- fuzz_mlir.cpp - the MLIR parser and the bitttt verifiers -----------===//
//
// Input: MLIR text, refused above bitttt-opt's nesting limit
// (Registration/MlirDepth.h), else parsed into a module with every dialect
// bitttt-opt knows (ours and upstream's), which runs the bitttt type
// parsers and op verifiers on whatever parses, then printed back (the
// custom printers).
// Every input must end in a module or diagnostics; a crash, a leak or
// undefined behaviour in our code is a finding. Debian's libMLIR is not
// instrumented: coverage guidance comes from the bitttt dialect's code.
//
//===----------------------------------------------------------------------===//
#include "bitttt/Registration/InitAll.h"
#include "bitttt/Registration/MlirDepth.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/raw_ostream.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace {
mlir::MLIRContext &context() {
  static mlir::MLIRContext *ctx = [] {
    mlir::DialectRegistry registry;
    bitttt::registerAllDialects(registry);
    auto *c = new mlir::MLIRContext(registry,
                                    mlir::MLIRContext::Threading::DISABLED);
    c->loadAllAvailableDialects();
    return c;
  }();
  return *ctx;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mlir::MLIRContext &ctx = context();
  mlir::ScopedDiagnosticHandler quiet(&ctx, [](mlir::Diagnostic &) {
    return mlir::success();
  });
  // MLIR's lexer finds the end of its buffer by the NUL after it (as every
  // MemoryBuffer read from a file has); libFuzzer's input has none, so the
  // text is copied into a std::string, whose buffer ends in one.
  const std::string text(reinterpret_cast<const char *>(data), size);
  // As bitttt-opt reads it: text nested deeper than MLIR's parser can
  // recurse is refused before it is parsed.
  if (!bitttt::mlirDepthError(text).empty())
    return 0;
  mlir::ParserConfig config(&ctx, /*verifyAfterParse=*/true);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(text, config, "fuzz.mlir");
  if (!module)
    return 0;
  std::string printed;
  llvm::raw_string_ostream os(printed);
  module->print(os);
  (void)mlir::verify(*module);
  return 0;
}
