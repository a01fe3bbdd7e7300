//===- bitttt-compile.cpp - model directory -> compiled model -------------===//
//
// Reads a model directory (config.json + model.safetensors), checks that the
// checkpoint matches the config, builds the bitttt module (@prefill and
// @decode) and writes it. Today the only output kind is the module's text
// (--emit=mlir); object code, PTX and .bitt containers come later.
//
//===----------------------------------------------------------------------===//
#include "lib/Frontend/ModelBuilder.h"
#include "lib/Frontend/ModelConfig.h"
#include "lib/Frontend/SafeTensors.h"
#include "lib/Registration/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

using namespace llvm;

namespace {

constexpr const char *kToolName = "bitttt-compile";

cl::OptionCategory compileCategory("bitttt-compile options");

cl::opt<std::string> modelDir(cl::Positional, cl::Required,
                              cl::desc("<MODEL_DIR>"),
                              cl::cat(compileCategory));

cl::opt<std::string> outputPath(
    "o", cl::Required, cl::value_desc("OUT"),
    cl::desc("Output file ('-' for stdout). Written atomically: a temporary "
             "file next to OUT is renamed over it only after everything "
             "succeeded, so a failure never leaves a partial OUT"),
    cl::cat(compileCategory));

cl::opt<std::string> emitKind(
    "emit", cl::init("mlir"), cl::value_desc("kind"),
    cl::desc("What to write: 'mlir' (default), the module in the bitttt "
             "dialect as text. Other kinds (object code, PTX, .bitt) come "
             "later; anything but 'mlir' is an error for now"),
    cl::cat(compileCategory));

cl::opt<int64_t> prefillChunk(
    "prefill-chunk", cl::init(64), cl::value_desc("N"),
    cl::desc("Tokens per @prefill call (the static T of its ids and logits); "
             "must be a positive multiple of the config's ttt.mini_batch "
             "(default 64). @decode always takes one token"),
    cl::cat(compileCategory));

constexpr const char *kOverview =
    "bitttt-compile: compile a Bit-TTT model directory\n"
    "\n"
    "  bitttt-compile MODEL_DIR -o OUT [--emit=mlir] [--prefill-chunk=N]\n"
    "\n"
    "Reads MODEL_DIR/config.json (the nested bitttt form or the original\n"
    "engine's flat form) and MODEL_DIR/model.safetensors, checks that the\n"
    "checkpoint holds exactly the tensors the config needs (F32, expected\n"
    "shapes), and writes a module in the bitttt dialect with two functions:\n"
    "@prefill over N tokens and @decode over one token. Weights and TTT\n"
    "state are function arguments named by their bitttt.tensor /\n"
    "bitttt.state attributes, so the output serves every checkpoint of the\n"
    "same config (docs/frontend.md).\n"
    "\n"
    "Exit status 0 on success; on any error, 1 and a message on stderr that\n"
    "names the file and the field or tensor at fault.\n";

int fail(const Twine &message) {
  WithColor::error(errs(), kToolName) << message << "\n";
  return 1;
}

int fail(Error error) { return fail(toString(std::move(error))); }

} // namespace

int main(int argc, char **argv) {
  InitLLVM initLLVM(argc, argv);
  cl::HideUnrelatedOptions(compileCategory);
  cl::ParseCommandLineOptions(argc, argv, kOverview);

  if (emitKind != "mlir")
    return fail("--emit=" + emitKind +
                " is not supported yet: only --emit=mlir (the bitttt module "
                "as text) is implemented; object code, PTX and .bitt output "
                "come later");
  if (!sys::fs::is_directory(modelDir))
    return fail(modelDir + ": not a model directory (expected a directory "
                           "with config.json and model.safetensors)");

  SmallString<256> configPath(modelDir);
  sys::path::append(configPath, "config.json");
  Expected<bitttt::ModelConfig> config = bitttt::loadModelConfig(configPath);
  if (!config)
    return fail(config.takeError());
  if (Error e = bitttt::checkPrefillChunk(*config, prefillChunk)) {
    consumeError(std::move(e));
    return fail("--prefill-chunk=" + Twine(prefillChunk) +
                " is not a positive multiple of ttt.mini_batch (" +
                Twine(config->miniBatch) + " in " + configPath + ")");
  }

  SmallString<256> weightsPath(modelDir);
  sys::path::append(weightsPath, "model.safetensors");
  Expected<bitttt::SafeTensorsFile> checkpoint =
      bitttt::SafeTensorsFile::open(weightsPath);
  if (!checkpoint)
    return fail(checkpoint.takeError());

  mlir::DialectRegistry registry;
  bitttt::registerAllDialects(registry);
  mlir::MLIRContext context(registry);
  bitttt::ModelBuildOptions options;
  options.prefillChunk = prefillChunk;
  auto module =
      bitttt::buildModelModule(context, *config, *checkpoint, options);
  if (!module)
    return fail(module.takeError());

  // Everything that can fail before the output exists has run; now print
  // and write in one step (temporary file + rename).
  std::string text;
  raw_string_ostream textStream(text);
  (*module)->print(textStream);
  if (Error e = writeToOutput(outputPath, [&](raw_ostream &os) {
        os << text;
        return Error::success();
      }))
    return fail("cannot write the output: " + toString(std::move(e)));
  return 0;
}
