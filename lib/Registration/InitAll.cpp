//===- InitAll.cpp - one registration point for every bitttt tool ---------===//
#include "bitttt/Registration/InitAll.h"

#include "bitttt/Dialect/AutodiffInterface.h"
#include "bitttt/Dialect/BitTTTDialect.h"
#include "bitttt/Pipelines/Pipelines.h"
#include "bitttt/Target/CPU/Passes.h"
#include "bitttt/Target/X86/Passes.h"
#include "bitttt/Transforms/Passes.h"
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
  mlir::bitttt::registerAutodiffInterfaces(registry);
}

void bitttt::registerAllPasses() {
  mlir::registerAllPasses();
  mlir::bitttt::registerBitTTTPasses();
  mlir::bitttt::registerBitTTTX86Passes();
  mlir::bitttt::registerBitTTTCPUPasses();
  mlir::bitttt::registerPipelines();
}
