//===- bitttt-compile.cpp - model directory -> compiled model -------------===//
//
// Reads a model directory (config.json + model.safetensors), checks that the
// checkpoint matches the config, builds the bitttt module (@prefill and
// @decode) and writes it: as bitttt IR (--emit=mlir), as optimized LLVM IR
// for one CPU target (--emit=llvm), or compiled for x86-64 CPUs into a .bitt
// v2 next to the packed weights (--emit=bitt; docs/abi.md).
//
//===----------------------------------------------------------------------===//
#include "bitttt.h"
#include "bitttt/Format/BittFile.h"
#include "bitttt/Format/JsonDepth.h"
#include "bitttt/Frontend/ModelBuilder.h"
#include "bitttt/Frontend/ModelConfig.h"
#include "bitttt/Pipelines/Pipelines.h"
#include "bitttt/Registration/InitAll.h"
#include "bitttt/Target/Bitt/BittEmitter.h"
#include "bitttt/Target/CPU/EntryAbi.h"
#include "bitttt/Target/X86/SharedObject.h"

#include "mlir/Bytecode/BytecodeWriter.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"
#include "llvm/Support/MemoryBuffer.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <functional>
#include <mutex>
#include <string>
#include <thread>

using namespace llvm;

namespace {

constexpr const char *kToolName = "bitttt-compile";

cl::OptionCategory compileCategory("bitttt-compile options");

cl::opt<std::string> modelDir(cl::Positional, cl::Required,
                              cl::desc("<MODEL_DIR | MODEL.bitt>"),
                              cl::cat(compileCategory));

cl::opt<std::string> outputPath(
    "o", cl::Required, cl::value_desc("OUT"),
    cl::desc("Output file ('-' for stdout). Written atomically: a temporary "
             "file next to OUT is renamed over it only after everything "
             "succeeded, so a failure never leaves a partial OUT"),
    cl::cat(compileCategory));

cl::opt<std::string> emitKind(
    "emit", cl::init("auto"), cl::value_desc("kind"),
    cl::desc("What to write: 'bitt' (the compiled model: code for every "
             "--target plus the packed weights, for the runtime), 'mlir' "
             "(the model in the bitttt dialect, before any lowering) or "
             "'llvm' (optimized LLVM IR for one --target). Default: from "
             "OUT's extension (.bitt, .mlir, .ll; '-' means mlir)"),
    cl::cat(compileCategory));

const std::string targetHelp =
    "CPU targets to compile for, comma separated (" +
    bitttt::x86::cpuTargetNames() +
    "; x86-64-v3 is AVX2, x86-64-v4 AVX-512 with VNNI). Default: all of "
    "them for --emit=bitt; the runtime picks the best one the CPU has";

cl::list<std::string> targets("target", cl::CommaSeparated,
                              cl::value_desc("t1,t2"), cl::desc(targetHelp),
                              cl::cat(compileCategory));

cl::opt<int64_t> prefillChunk(
    "prefill-chunk", cl::init(64), cl::value_desc("N"),
    cl::desc("Tokens per @prefill call (the static T of its ids and logits); "
             "must be a positive multiple of the config's ttt.mini_batch "
             "(default 64). @decode always takes one token"),
    cl::cat(compileCategory));

cl::opt<std::string> lmHead(
    "lm-head", cl::init("f32"), cl::value_desc("f32|bf16|int8"),
    cl::desc("What @prefill/@decode's LM head reads: 'f32' (the checkpoint's "
             "weight, default), 'bf16' (rounded to nearest even) or 'int8' "
             "(per-row absmax scale, int8 activation quantized per token "
             "like the BitLinears'); docs/lm-head.md. Recompiling a .bitt "
             "whose head is bf16/int8 needs the same value (the f32 weight "
             "is not in it)"),
    cl::cat(compileCategory));

cl::opt<std::string> weightFormat(
    "weight-format", cl::init("i2_b128"), cl::value_desc("i2_b128|t5_b160"),
    cl::desc("Packed layout of the ternary BitLinear weights: 'i2_b128' (2 "
             "bits per weight, default) or 't5_b160' (5 weights per byte, "
             "1.6 bits: 0.8125x the bytes); docs/packing.md. Recompiling a "
             ".bitt needs the layout its weights are packed in"),
    cl::cat(compileCategory));

cl::opt<bool> train(
    "train",
    cl::desc("Also compile the training step: @train_step (loss, gradients "
             "by reverse-mode autodiff, global-norm clipping and AdamW, "
             "parameters and moments updated in place), @train_grad and "
             "@train_apply, for --batch windows of --context tokens "
             "(docs/training.md). The .bitt then also keeps the latent f32 "
             "weights a trainer starts from"),
    cl::cat(compileCategory));

cl::opt<int64_t> trainBatch("batch", cl::init(16), cl::value_desc("B"),
                            cl::desc("Windows per training step (default 16)"),
                            cl::cat(compileCategory));

cl::opt<int64_t>
    trainContext("context", cl::init(128), cl::value_desc("T"),
                 cl::desc("Tokens per training window (default 128)"),
                 cl::cat(compileCategory));

cl::opt<double> maxGradNorm(
    "max-grad-norm", cl::init(1.0), cl::value_desc("X"),
    cl::desc("Global gradient-norm clip of the training step (default 1.0; "
             "0 turns clipping off)"),
    cl::cat(compileCategory));

cl::opt<double> weightDecay(
    "weight-decay", cl::init(0.1), cl::value_desc("X"),
    cl::desc("AdamW decoupled weight decay on the weight matrices (default "
             "0.1)"),
    cl::cat(compileCategory));

cl::opt<unsigned> threads(
    "jobs", cl::init(0), cl::value_desc("N"),
    cl::desc("Threads for compiling the targets side by side and for "
             "packing the weights while the .bitt is written (default 0: one "
             "per CPU). The output is the same for any N"),
    cl::cat(compileCategory));

enum class TimingDisplay { None, Tree, List };

cl::opt<TimingDisplay> timing(
    "timing", cl::init(TimingDisplay::None), cl::ValueOptional,
    cl::desc("Print the wall and CPU time of every compile phase to stderr "
             "when done: reading, building the module, each MLIR pass, and "
             "per target the LLVM translation, every -O3 pass, codegen and "
             "link, then packing and writing the weights. --timing or "
             "--timing=tree nests them, --timing=list sums each name"),
    cl::values(clEnumValN(TimingDisplay::Tree, "tree", "nested (default)"),
               clEnumValN(TimingDisplay::Tree, "", ""),
               clEnumValN(TimingDisplay::List, "list", "one line per name")),
    cl::cat(compileCategory));

constexpr const char *kOverview =
    "bitttt-compile: compile a Bit-TTT model directory\n"
    "\n"
    "  bitttt-compile MODEL_DIR -o model.bitt [--target=x86-64-v3,x86-64-v4]\n"
    "  bitttt-compile MODEL_DIR -o model.mlir     (the bitttt module)\n"
    "  bitttt-compile MODEL_DIR -o model.ll --target=x86-64-v4\n"
    "\n"
    "  bitttt-compile OLD.bitt -o model.bitt     (recompile a .bitt v1/v2)\n"
    "\n"
    "Reads MODEL_DIR/config.json (the nested bitttt form or the original\n"
    "engine's flat form), MODEL_DIR/model.safetensors and, if present,\n"
    "MODEL_DIR/tokenizer.json (carried in the .bitt); or a .bitt: the\n"
    "original engine's v1 (config and tokenizer in its header) or a v2\n"
    "(whose packed weights are reused as they are). It checks that the\n"
    "checkpoint holds exactly the tensors the config needs (F32, expected\n"
    "shapes), and builds a module in the bitttt dialect with two functions:\n"
    "@prefill over N tokens and @decode over one token. Weights and TTT\n"
    "state are function arguments, never constants (docs/frontend.md).\n"
    "For a .bitt it lowers the module for each CPU target to a shared\n"
    "object and stores those beside the BitLinear weights packed at 2 bits\n"
    "(docs/abi.md, docs/packing.md).\n"
    "\n"
    "Exit status 0 on success; on any error, 1 and a message on stderr that\n"
    "names the file and the field or tensor at fault.\n";

int fail(const Twine &message) {
  WithColor::error(errs(), kToolName) << message << "\n";
  return 1;
}

int fail(Error error) { return fail(toString(std::move(error))); }

/// --emit=auto: the kind OUT's extension names.
std::string inferEmitKind(StringRef out) {
  if (out == "-" || out.ends_with(".mlir"))
    return "mlir";
  if (out.ends_with(".ll"))
    return "llvm";
  if (out.ends_with(".bitt"))
    return "bitt";
  return "";
}

/// What a model comes from: a model directory (config.json,
/// model.safetensors, tokenizer.json if any) or a .bitt (v1 from the original
/// engine: config and tokenizer in the header, latent weights; v2: the same,
/// weights possibly packed already).
struct Input {
  std::string configText, configName, tokenizerText, tokenizerName;
  /// A model directory's model.safetensors, opened by openWeights once the
  /// config is known to be good (its errors come first).
  std::string weightsPath;
  std::unique_ptr<bitttt::format::BittFile> checkpoint;
  bitttt::PackedSources packed;
  /// A .bitt's compact LM head (header 'bitttt.lm_head'); F32 otherwise.
  bitttt::LMHeadSource lmHead;
};

Error openCheckpoint(Input &in, const std::string &file) {
  if (bitttt::format::Status s =
          bitttt::format::BittFile::open(file, in.checkpoint);
      !s)
    return createStringError(inconvertibleErrorCode(), s.message());
  return Error::success();
}

Expected<Input> loadInput(StringRef path) {
  Input in;
  if (sys::fs::is_directory(path)) {
    SmallString<256> config(path), weights(path), tokenizer(path);
    sys::path::append(config, "config.json");
    sys::path::append(weights, "model.safetensors");
    sys::path::append(tokenizer, "tokenizer.json");
    // Regular files only, read up to their size: a FIFO is refused rather
    // than waited on, a device rather than read until memory runs out.
    if (bitttt::format::Status s =
            bitttt::format::readRegularFile(config.str().str(), in.configText);
        !s)
      return createStringError(inconvertibleErrorCode(), s.message());
    in.configName = std::string(config);
    if (sys::fs::exists(tokenizer)) {
      if (bitttt::format::Status s = bitttt::format::readRegularFile(
              tokenizer.str().str(), in.tokenizerText);
          !s)
        return createStringError(inconvertibleErrorCode(), s.message());
      if (std::string deep = bitttt::format::jsonDepthError(in.tokenizerText);
          !deep.empty())
        return createStringError(inconvertibleErrorCode(),
                                 tokenizer + ": invalid JSON: " + deep);
      in.tokenizerName = std::string(tokenizer);
    }
    in.weightsPath = std::string(weights);
    return std::move(in);
  }
  if (!sys::fs::is_regular_file(path))
    return createStringError(inconvertibleErrorCode(),
                             path + ": not a model directory (config.json, "
                                    "model.safetensors) or a .bitt file");
  if (Error e = openCheckpoint(in, path.str()))
    return std::move(e);
  if (in.checkpoint->version() == 0)
    return createStringError(
        inconvertibleErrorCode(),
        path + ": a plain .safetensors file has no config; pass its model "
               "directory (config.json + model.safetensors)");
  Expected<json::Value> header = json::parse(in.checkpoint->headerJson());
  json::Object *root = header ? header->getAsObject() : nullptr;
  if (!root)
    return createStringError(inconvertibleErrorCode(),
                             path + ": the header is not a JSON object");
  json::Object *config = root->getObject("config");
  if (!config)
    return createStringError(inconvertibleErrorCode(),
                             path + ": header field 'config' is missing or "
                                    "not an object");
  in.configText = formatv("{0}", json::Value(json::Object(*config))).str();
  in.configName = (path + ": header field 'config'").str();
  if (const json::Value *tok = root->get("tokenizer");
      tok && !tok->getAsNull()) {
    in.tokenizerText = formatv("{0}", *tok).str();
    in.tokenizerName = (path + ": header field 'tokenizer'").str();
  }
  // A v2 file holds its BitLinear weights packed: reuse codes and scale.
  if (json::Object *bitttt = root->getObject("bitttt"))
    if (json::Object *packed = bitttt->getObject("packed"))
      for (auto &[name, value] : *packed) {
        json::Object *e = value.getAsObject();
        auto codes = e ? e->getString("codes") : std::nullopt;
        auto scale = e ? e->getString("scale") : std::nullopt;
        auto rows = e ? e->getInteger("rows") : std::nullopt;
        auto cols = e ? e->getInteger("cols") : std::nullopt;
        auto layout = e ? e->getString("layout") : std::nullopt;
        bitttt::format::TernaryLayout packedLayout;
        if (!codes || !scale || !rows || !cols || !layout ||
            !bitttt::format::parseTernaryLayout(layout->str(), packedLayout))
          return createStringError(
              inconvertibleErrorCode(),
              path + ": header field 'bitttt.packed." + name.str() +
                  "' is not {codes, scale, rows, cols, layout: " +
                  bitttt::format::ternaryLayoutNames() + "}");
        in.packed[name.str()] = {codes->str(), scale->str(), *rows, *cols,
                                 packedLayout};
      }
  // Its LM head, when compact: the parts stand for the f32 weight.
  if (json::Object *bitttt = root->getObject("bitttt"))
    if (json::Value *head = bitttt->get("lm_head");
        head && !head->getAsNull()) {
      json::Object *h = head->getAsObject();
      auto name = h ? h->getString("format") : std::nullopt;
      json::Object *parts = h ? h->getObject("parts") : nullptr;
      if (!name || !parts ||
          !bitttt::format::parseLMHeadFormat(name->str(), in.lmHead.format))
        return createStringError(
            inconvertibleErrorCode(),
            path + ": header field 'bitttt.lm_head' is not {format: "
                   "f32|bf16|int8, parts: {...}}");
      for (auto &[part, tensor] : *parts) {
        auto t = tensor.getAsString();
        if (!t)
          return createStringError(inconvertibleErrorCode(),
                                   path +
                                       ": header field 'bitttt.lm_head."
                                       "parts." +
                                       part.str() + "' is not a tensor name");
        in.lmHead.parts[part.str()] = t->str();
      }
    }
  return std::move(in);
}

/// The tokenizer must load (the runtime's own reader checks it) and its ids
/// must fit the model's vocabulary.
Error checkTokenizer(const Input &in, const bitttt::ModelConfig &config) {
  if (in.tokenizerText.empty())
    return Error::success();
  bitttt_tokenizer *tokenizer = nullptr;
  if (bitttt_tokenizer_from_json(in.tokenizerText.data(),
                                 in.tokenizerText.size(),
                                 in.tokenizerName.c_str(), &tokenizer))
    return createStringError(inconvertibleErrorCode(), bitttt_last_error());
  size_t vocab = bitttt_tokenizer_vocab_size(tokenizer);
  bitttt_tokenizer_free(tokenizer);
  if (int64_t(vocab) > config.vocabSize)
    return createStringError(
        inconvertibleErrorCode(),
        in.tokenizerName + ": has " + std::to_string(vocab) +
            " tokens, more than the model's vocab_size " +
            std::to_string(config.vocabSize) + " (" + in.configName + ")");
  return Error::success();
}

Error runPipeline(mlir::ModuleOp module, mlir::TimingScope &timing,
                  function_ref<void(mlir::OpPassManager &)> build) {
  mlir::PassManager pm(module.getContext());
  build(pm);
  if (timing)
    pm.enableTiming(timing);
  if (mlir::failed(pm.run(module)))
    return createStringError(inconvertibleErrorCode(),
                             "lowering the model failed (see the diagnostics "
                             "above)");
  return Error::success();
}

/// What compiling a module for one target gives.
struct TargetCode {
  bitttt::EntryAbi abi;
  std::string code;
};

using PipelineBuilder =
    std::function<void(mlir::OpPassManager &, const bitttt::x86::CpuTarget &)>;

Expected<TargetCode> compileTarget(mlir::ModuleOp module,
                                   const bitttt::x86::CpuTarget &target,
                                   bool llvmIR, const PipelineBuilder &build,
                                   mlir::TimingScope &timing) {
  {
    mlir::TimingScope lowering = timing.nest("MLIR lowering");
    if (Error e = runPipeline(module, lowering, [&](mlir::OpPassManager &pm) {
          build(pm, target);
        }))
      return std::move(e);
  }
  // The header is written from the artifacts' own ABI description.
  Expected<bitttt::EntryAbi> abi = bitttt::readEntryAbi(module);
  if (!abi)
    return abi.takeError();
  auto code = llvmIR ? bitttt::buildLLVMIR(module, target, &timing)
                     : bitttt::buildSharedObject(module, target, &timing);
  if (!code)
    return code.takeError();
  return TargetCode{std::move(*abi), std::move(*code)};
}

/// Lowers `module` for every target and compiles it: one target after the
/// other on clones, or with threads > 1, side by side, each thread in its own
/// MLIRContext on a copy of the module (MLIR bytecode), since a context's
/// passes, diagnostics and uniquing are safest not shared. The code is the
/// same either way.
Expected<std::vector<TargetCode>>
compileTargets(mlir::ModuleOp module,
               ArrayRef<const bitttt::x86::CpuTarget *> cpuTargets, bool llvmIR,
               unsigned threadCount, const mlir::DialectRegistry &registry,
               const PipelineBuilder &build, mlir::TimingScope &timing) {
  std::vector<Expected<TargetCode>> results;
  if (threadCount <= 1 || cpuTargets.size() <= 1) {
    for (const bitttt::x86::CpuTarget *target : cpuTargets) {
      mlir::TimingScope scope = timing.nest(target->name);
      mlir::OwningOpRef<mlir::ModuleOp> lowered(module.clone());
      results.push_back(compileTarget(*lowered, *target, llvmIR, build, scope));
    }
  } else {
    std::string bytecode;
    {
      raw_string_ostream os(bytecode);
      if (mlir::failed(mlir::writeBytecodeToFile(module, os)))
        return createStringError(inconvertibleErrorCode(),
                                 "internal error: cannot serialize the module");
    }
    // Threads left over beyond one per target go to each context's passes.
    bool nestedThreads = threadCount >= 2 * cpuTargets.size();
    for (size_t i = 0; i < cpuTargets.size(); ++i)
      results.push_back(TargetCode{});
    std::vector<std::thread> workers;
    std::mutex resultsMutex;
    for (size_t i = 0; i < cpuTargets.size(); ++i)
      workers.emplace_back([&, i] {
        const bitttt::x86::CpuTarget &target = *cpuTargets[i];
        mlir::TimingScope scope = timing.nest(target.name);
        mlir::MLIRContext context(
            registry, nestedThreads ? mlir::MLIRContext::Threading::ENABLED
                                    : mlir::MLIRContext::Threading::DISABLED);
        mlir::ParserConfig config(&context);
        mlir::OwningOpRef<mlir::ModuleOp> copy =
            mlir::parseSourceString<mlir::ModuleOp>(bytecode, config);
        Expected<TargetCode> result =
            copy ? compileTarget(*copy, target, llvmIR, build, scope)
                 : Expected<TargetCode>(createStringError(
                       inconvertibleErrorCode(),
                       "internal error: cannot read the module back"));
        std::lock_guard<std::mutex> lock(resultsMutex);
        results[i] = std::move(result);
      });
    for (std::thread &t : workers)
      t.join();
  }
  std::vector<TargetCode> out;
  Error errors = Error::success();
  for (Expected<TargetCode> &r : results) {
    if (r)
      out.push_back(std::move(*r));
    else
      errors = joinErrors(std::move(errors), r.takeError());
  }
  if (errors)
    return std::move(errors);
  // Every target must have been compiled for the same entry ABI.
  for (size_t i = 1; i < out.size(); ++i)
    if (json::Value(bitttt::toJson(out[i].abi)) !=
        json::Value(bitttt::toJson(out[0].abi)))
      return createStringError(
          inconvertibleErrorCode(),
          Twine("internal error: the ") + cpuTargets[i]->name + " and " +
              cpuTargets[0]->name + " artifacts describe different entry ABIs");
  return std::move(out);
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM initLLVM(argc, argv);
  cl::HideUnrelatedOptions(compileCategory);
  cl::ParseCommandLineOptions(argc, argv, kOverview);

  std::string kind =
      emitKind == "auto" ? inferEmitKind(outputPath) : std::string(emitKind);
  if (kind.empty())
    return fail(
        "cannot tell what to write from '" + outputPath +
        "': name it .bitt, .mlir or .ll, or pass --emit=bitt|mlir|llvm");
  if (kind != "mlir" && kind != "llvm" && kind != "bitt")
    return fail("--emit=" + kind +
                " is not a known output kind (bitt, "
                "mlir, llvm)");
  std::vector<const bitttt::x86::CpuTarget *> cpuTargets;
  for (const std::string &name : targets) {
    const bitttt::x86::CpuTarget *t = bitttt::x86::lookupCpuTarget(name);
    if (!t)
      return fail("--target=" + name + " is not a known target (" +
                  bitttt::x86::cpuTargetNames() + ")");
    cpuTargets.push_back(t);
  }
  if (cpuTargets.empty())
    for (const bitttt::x86::CpuTarget &t : bitttt::x86::kCpuTargets)
      cpuTargets.push_back(&t);
  if (kind == "llvm" && cpuTargets.size() != 1)
    return fail("--emit=llvm writes code for one target: pass --target=");
  bitttt::format::LMHeadFormat headFormat;
  if (!bitttt::format::parseLMHeadFormat(lmHead, headFormat))
    return fail("--lm-head=" + lmHead +
                " is not a known LM-head format (f32, bf16, int8)");
  bitttt::format::TernaryLayout weightLayout;
  if (!bitttt::format::parseTernaryLayout(weightFormat, weightLayout))
    return fail("--weight-format=" + weightFormat +
                " is not a known packed layout (" +
                bitttt::format::ternaryLayoutNames() + ")");
  unsigned threadCount =
      threads ? unsigned(threads)
              : std::max(1u, std::thread::hardware_concurrency());

  mlir::DefaultTimingManager timingManager;
  if (timing != TimingDisplay::None) {
    timingManager.setEnabled(true);
    timingManager.setDisplayMode(
        timing == TimingDisplay::List
            ? mlir::DefaultTimingManager::DisplayMode::List
            : mlir::DefaultTimingManager::DisplayMode::Tree);
  }
  mlir::TimingScope rootTiming = timingManager.getRootScope();
  mlir::TimingScope readTiming = rootTiming.nest("read and check the input");
  Expected<Input> input = loadInput(modelDir);
  if (!input)
    return fail(input.takeError());
  Expected<bitttt::ModelConfig> config =
      bitttt::parseModelConfig(input->configText, input->configName);
  if (!config)
    return fail(config.takeError());
  if (Error e = bitttt::checkPrefillChunk(
          *config, prefillChunk,
          ("--prefill-chunk=" + Twine(prefillChunk)).str(), input->configName))
    return fail(std::move(e));
  if (Error e = checkTokenizer(*input, *config))
    return fail(std::move(e));
  if (!input->checkpoint)
    if (Error e = openCheckpoint(*input, input->weightsPath))
      return fail(std::move(e));
  for (const auto &[name, source] : input->packed)
    if (source.layout != weightLayout)
      return fail(modelDir.getValue() + ": its weights are packed in layout " +
                  bitttt::format::ternaryLayoutName(source.layout) + " ('" +
                  name + "'), not the --weight-format=" + weightFormat +
                  " asked for; repacking is not supported: pass "
                  "--weight-format=" +
                  bitttt::format::ternaryLayoutName(source.layout) +
                  " or compile the model directory");
  const std::unique_ptr<bitttt::format::BittFile> &checkpoint =
      input->checkpoint;
  readTiming.stop();

  mlir::TimingScope buildTiming = rootTiming.nest("build the module");
  mlir::DialectRegistry registry;
  bitttt::registerAllDialects(registry);
  mlir::MLIRContext context(registry);
  bitttt::ModelBuildOptions options;
  options.prefillChunk = prefillChunk;
  options.packed = input->packed.empty() ? nullptr : &input->packed;
  options.lmHead = headFormat;
  options.lmHeadSource = &input->lmHead;
  auto module =
      bitttt::buildModelModule(context, *config, *checkpoint, options);
  if (!module)
    return fail(module.takeError());

  mlir::OwningOpRef<mlir::ModuleOp> trainModule;
  if (train) {
    bitttt::TrainBuildOptions trainOptions;
    trainOptions.batch = trainBatch;
    trainOptions.context = trainContext;
    auto built = bitttt::buildTrainModule(context, *config, trainOptions);
    if (!built)
      return fail("--train: " + toString(built.takeError()));
    trainModule = std::move(*built);
  }
  buildTiming.stop();

  // Everything that can fail runs before the output exists; then it is
  // written in one step (temporary file + rename).
  std::string text;
  if (kind == "mlir") {
    // With --train, the training module (@train_loss) is what is printed:
    // bitttt-train-pipeline is what lowers it.
    raw_string_ostream textStream(text);
    (trainModule ? *trainModule : **module)->print(textStream);
  } else {
    {
      mlir::TimingScope tensorTiming =
          rootTiming.nest("MLIR target-independent pipeline");
      if (Error e =
              runPipeline(**module, tensorTiming, [](mlir::OpPassManager &pm) {
                mlir::bitttt::CpuPipelineOptions pipelineOptions;
                pipelineOptions.weightFormat = weightFormat.getValue();
                mlir::bitttt::buildCpuTensorPipeline(pm, pipelineOptions);
              }))
        return fail(std::move(e));
    }
    bitttt::BittContents contents;
    Expected<std::vector<TargetCode>> inference = [&] {
      mlir::TimingScope scope = rootTiming.nest("compile the targets");
      return compileTargets(
          **module, cpuTargets, kind == "llvm", threadCount, registry,
          [](mlir::OpPassManager &pm, const bitttt::x86::CpuTarget &target) {
            mlir::bitttt::CpuPipelineOptions pipelineOptions;
            pipelineOptions.target = target.name;
            mlir::bitttt::buildCpuLoweringPipeline(pm, pipelineOptions);
          },
          scope);
    }();
    if (!inference)
      return fail(inference.takeError());
    contents.abi = (*inference)[0].abi;
    for (auto [target, code] : llvm::zip_equal(cpuTargets, *inference)) {
      if (kind == "llvm")
        text = std::move(code.code);
      else
        contents.artifacts[target->name] = std::move(code.code);
    }
    if (kind == "bitt" && trainModule) {
      // The training functions, compiled for the same targets.
      mlir::TimingScope scope = rootTiming.nest("compile the training step");
      Expected<std::vector<TargetCode>> training = compileTargets(
          *trainModule, cpuTargets, /*llvmIR=*/false, threadCount, registry,
          [](mlir::OpPassManager &pm, const bitttt::x86::CpuTarget &target) {
            mlir::bitttt::TrainPipelineOptions trainPipeline;
            trainPipeline.target = target.name;
            trainPipeline.maxGradNorm = maxGradNorm;
            trainPipeline.weightDecay = weightDecay;
            mlir::bitttt::buildTrainPipeline(pm, trainPipeline);
          },
          scope);
      if (!training)
        return fail(training.takeError());
      contents.trainAbi = (*training)[0].abi;
      for (auto [target, code] : llvm::zip_equal(cpuTargets, *training))
        contents.trainArtifacts[target->name] = std::move(code.code);
      contents.trainInfo = json::Object{
          {"batch", int64_t(trainBatch)},
          {"context", int64_t(trainContext)},
          {"optimizer", json::Object{{"max_grad_norm", double(maxGradNorm)},
                                     {"beta1", 0.9},
                                     {"beta2", 0.95},
                                     {"eps", 1e-8},
                                     {"weight_decay", double(weightDecay)}}}};
    }
    if (kind == "bitt") {
      contents.configJson = input->configText;
      contents.tokenizerJson = input->tokenizerText;
      contents.packed = options.packed;
      contents.lmHeadSource = options.lmHeadSource;
      contents.config = &*config;
      contents.checkpoint = checkpoint.get();
      contents.threads = threadCount;
      if (outputPath == "-")
        return fail("a .bitt cannot go to stdout: name an output file");
      mlir::TimingScope writeTiming =
          rootTiming.nest("pack the weights and write the .bitt");
      if (Error e = bitttt::writeBitt(outputPath, contents))
        return fail(std::move(e));
      return 0;
    }
  }
  if (outputPath == "-") {
    outs() << text;
    outs().flush();
    if (outs().has_error()) {
      outs().clear_error();
      return fail("cannot write the output to stdout");
    }
    return 0;
  }
  // The container library's writer: temporary file, fsync, rename (nothing
  // left on a full disk), symlinks followed, devices written in place.
  if (bitttt::format::Status s =
          bitttt::format::writeFileAtomically(outputPath, text);
      !s)
    return fail("cannot write the output: " + s.message());
  return 0;
}
