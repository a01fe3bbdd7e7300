//===- bitttt-opt.cpp - the bitttt optimizer driver -----------------------===//
//
// mlir-opt with every upstream dialect, pass and extension plus the bitttt
// dialect, passes and pipelines.
//
//===----------------------------------------------------------------------===//
#include "bitttt/Registration/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  bitttt::registerAllDialects(registry);
  bitttt::registerAllPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "bitttt optimizer driver\n", registry));
}
