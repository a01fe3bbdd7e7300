//===- InitAll.cpp - one registration point for every bitttt tool ---------===//
#include "lib/Registration/InitAll.h"

#include "dialect/BitTTTDialect.h"
#include "lib/Transforms/Passes.h"
#include "lib/Transforms/Pipelines.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

void bitttt::registerAllDialects(mlir::DialectRegistry &registry) {
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllToLLVMIRTranslations(registry);
  registry.insert<mlir::bitttt::BitTTTDialect>();
}

void bitttt::registerAllPasses() {
  mlir::registerAllPasses();
  mlir::bitttt::registerBitTTTPasses();
  mlir::bitttt::registerPipelines();
}
