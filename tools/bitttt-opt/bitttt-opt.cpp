//===- bitttt-opt.cpp - the bitttt optimizer driver -----------------------===//
//
// mlir-opt with every upstream dialect, pass and extension plus the bitttt
// dialect, passes and pipelines. The input is read here, before MLIR's
// parser sees it, so that text nested deeper than its recursion can take
// is refused with a message (Registration/MlirDepth.h).
//
//===----------------------------------------------------------------------===//
#include "bitttt/Registration/InitAll.h"
#include "bitttt/Registration/MlirDepth.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  mlir::DialectRegistry registry;
  bitttt::registerAllDialects(registry);
  bitttt::registerAllPasses();
  auto [inputFilename, outputFilename] = mlir::registerAndParseCLIOptions(
      argc, argv, "bitttt optimizer driver\n", registry);
  mlir::MlirOptMainConfig config = mlir::MlirOptMainConfig::createFromCLOptions();
  // What reads no input (--show-dialects, --list-passes) as mlir-opt does it.
  if (config.shouldShowDialects() || config.shouldListPasses())
    return mlir::asMainReturnCode(mlir::MlirOptMain(
        argc, argv, inputFilename, outputFilename, registry));

  std::string error;
  std::unique_ptr<llvm::MemoryBuffer> input =
      mlir::openInputFile(inputFilename, &error);
  if (!input) {
    llvm::errs() << "bitttt-opt: " << error << "\n";
    return 1;
  }
  if (std::string deep = bitttt::mlirDepthError(input->getBuffer());
      !deep.empty()) {
    llvm::errs() << "bitttt-opt: "
                 << (inputFilename == "-" ? "<stdin>" : inputFilename) << ": "
                 << deep << "\n";
    return 1;
  }
  std::unique_ptr<llvm::ToolOutputFile> output =
      mlir::openOutputFile(outputFilename, &error);
  if (!output) {
    llvm::errs() << "bitttt-opt: " << error << "\n";
    return 1;
  }
  if (mlir::failed(mlir::MlirOptMain(output->os(), std::move(input), registry,
                                     config)))
    return 1;
  output->keep();
  return 0;
}
