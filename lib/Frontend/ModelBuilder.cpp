//===- ModelBuilder.cpp - config + checkpoint -> bitttt module --*- C++ -*-===//
#include "bitttt/Frontend/ModelBuilder.h"
#include "bitttt/Format/Packing.h"
#include "bitttt/Target/CPU/ArtifactAbi.h"

#include "bitttt/Dialect/BitTTTDialect.h"
#include "bitttt/Dialect/BitTTTOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using llvm::Error;
using llvm::Expected;
using llvm::Twine;

namespace bitttt {
namespace ops = ::mlir::bitttt;

namespace {

Error makeError(const Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message.str());
}

std::string layerName(int64_t layer, StringRef rest) {
  return ("layers." + Twine(layer) + "." + rest).str();
}

/// One layer's weights, as every layer has them: the name after
/// `layers.<i>.` and the shape, in canonical order.
SmallVector<std::pair<std::string, ArrayRef<int64_t>>>
layerWeightSpecs(ArrayRef<WeightSpec> specs) {
  std::string prefix = layerName(0, "");
  SmallVector<std::pair<std::string, ArrayRef<int64_t>>> out;
  for (const WeightSpec &spec : specs)
    if (StringRef(spec.name).starts_with(prefix))
      out.push_back({spec.name.substr(prefix.size()), spec.shape});
  return out;
}

std::string describeModel(const ModelConfig &c) {
  return (Twine("a ") + c.variantName() + " model with " + Twine(c.numLayers) +
          (c.numLayers == 1 ? " layer" : " layers"))
      .str();
}

/// Builds one function (@prefill or @decode) of the model.
class FunctionBuilder {
public:
  FunctionBuilder(MLIRContext &context, const ModelConfig &config,
                  format::LMHeadFormat lmHead = format::LMHeadFormat::F32)
      : config(config), lmHead(lmHead), builder(&context),
        f32(builder.getF32Type()) {}

  Expected<func::FuncOp> build(ModuleOp module, StringRef name, int64_t tokens);
  /// @train_loss(weights..., tokens [B, T+1]) -> mean next-token loss.
  Expected<func::FuncOp> buildTrainLoss(ModuleOp module, int64_t batch,
                                        int64_t context);

private:
  RankedTensorType tensor(ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, f32);
  }
  Location nameLoc(const Twine &name) {
    return NameLoc::get(builder.getStringAttr(name));
  }
  /// The arguments of the weights `names` (prefixed with `layers.<layer>.`
  /// when layer >= 0), or an error naming the first one that is not an
  /// argument: expectedWeights() and this builder disagree, a bug reported
  /// as an error rather than asserted.
  Error lookup(int64_t layer, ArrayRef<StringRef> names,
               SmallVectorImpl<Value> &out) const;
  /// Types of one layer's state slots, in stateSlots() order.
  SmallVector<Type> stateTypes();
  /// The private function of one layer of @prefill or @decode.
  Expected<func::FuncOp> buildLayerFunction(ModuleOp module,
                                            const std::string &name,
                                            ArrayRef<WeightSpec> specs,
                                            int64_t tokens);
  /// h = x + ttt(rms_norm1(x)); out = h + swiglu(rms_norm2(h)).
  Expected<Value> buildBlock(int64_t layer, Value x, ValueRange state,
                             SmallVectorImpl<Value> &newState);
  Value rmsNorm(Value x, Value weight, StringRef name);
  /// The 0-d i64 `pos` state tensor as the `index` the TTT ops take, and back
  /// (written into the state argument `into`, so it is updated in place).
  Value posToIndex(Location loc, Value pos);
  Value posToTensor(Location loc, Value pos, Value into);
  /// The type of an LM-head part (lmHeadParts) of the format being built.
  Type lmHeadPartType(StringRef part);
  /// logits = lm_head(normed) in the format being built.
  Expected<Value> buildLMHead(Value normed, int64_t tokens);

  const ModelConfig &config;
  format::LMHeadFormat lmHead;
  /// > 0 while building @train_loss: the TTT layers run this many whole
  /// sequences from their initial state (the *_seqs training forms).
  int64_t trainSequences = 0;
  OpBuilder builder;
  Type f32;
  llvm::StringMap<Value> weights;
};

SmallVector<Type> FunctionBuilder::stateTypes() {
  // pos crosses the function boundary as a 0-d i64 tensor so every argument
  // of a compiled entry point is a buffer (docs/abi.md).
  Type index = RankedTensorType::get({}, builder.getI64Type());
  if (config.variant == TTTVariant::Linear) {
    int64_t h = config.numHeads, f = config.headDim();
    int64_t b = config.miniBatch;
    return {tensor({h, f, f}), tensor({h, f}), tensor({h, b, f}),
            tensor({h, b, f}), index};
  }
  int64_t d = config.seedDim();
  return {tensor({d, d}), tensor({config.miniBatch, d}),
          tensor({config.miniBatch, d}), index};
}

Error FunctionBuilder::lookup(int64_t layer, ArrayRef<StringRef> names,
                              SmallVectorImpl<Value> &out) const {
  for (StringRef name : names) {
    std::string full = layer >= 0 ? layerName(layer, name) : name.str();
    auto it = weights.find(full);
    if (it == weights.end())
      return makeError("internal error: the model builder needs weight '" +
                       full + "', which is not among the arguments of " +
                       describeModel(config));
    out.push_back(it->second);
  }
  return Error::success();
}

Value FunctionBuilder::rmsNorm(Value x, Value weight, StringRef name) {
  return ops::RMSNormOp::create(
      builder, nameLoc(name), x.getType(), x, weight,
      builder.getF32FloatAttr(static_cast<float>(config.rmsEps)));
}

Value FunctionBuilder::posToIndex(Location loc, Value pos) {
  Value i64 = tensor::ExtractOp::create(builder, loc, pos, ValueRange{});
  return arith::IndexCastOp::create(builder, loc, builder.getIndexType(), i64);
}

Value FunctionBuilder::posToTensor(Location loc, Value pos, Value into) {
  Value i64 =
      arith::IndexCastOp::create(builder, loc, builder.getI64Type(), pos);
  return tensor::InsertOp::create(builder, loc, i64, into, ValueRange{});
}

Type FunctionBuilder::lmHeadPartType(StringRef part) {
  int64_t v = config.vocabSize, d = config.hiddenDim;
  if (part.empty())
    return tensor({v, d});
  if (part == "values")
    return RankedTensorType::get({v, d}, lmHead == format::LMHeadFormat::BF16
                                             ? Type(builder.getBF16Type())
                                             : Type(builder.getI8Type()));
  if (part == "row_scale")
    return tensor({v});
  return RankedTensorType::get({v}, builder.getI32Type()); // row_sum
}

Expected<Value> FunctionBuilder::buildLMHead(Value normed, int64_t tokens) {
  SmallVector<std::string> names;
  for (auto &[part, name] : lmHeadParts(lmHead))
    names.push_back(name);
  SmallVector<StringRef> refs(names.begin(), names.end());
  SmallVector<Value> w;
  if (Error e = lookup(-1, refs, w))
    return std::move(e);
  Location loc = nameLoc("lm_head");
  auto logits = tensor({tokens, config.vocabSize});
  if (lmHead != format::LMHeadFormat::Int8)
    return Value(ops::LMHeadOp::create(builder, loc, logits, normed, w[0]));
  // The activation quantizer of the BitLinears (act_quant), then the
  // integer dot with per-row and per-token scales (docs/lm-head.md).
  auto quant = ops::ActQuantOp::create(
      builder, loc,
      RankedTensorType::get({tokens, config.hiddenDim}, builder.getI8Type()),
      tensor({tokens}), normed);
  return Value(ops::LMHeadQOp::create(builder, loc, logits, quant.getCodes(),
                                      quant.getScales(), w[0], w[1], w[2]));
}

Expected<Value> FunctionBuilder::buildBlock(int64_t layer, Value x,
                                            ValueRange state,
                                            SmallVectorImpl<Value> &newState) {
  static const StringRef kCommon[] = {
      "norm1.weight", "norm2.weight", "mlp.gate_proj.weight",
      "mlp.up_proj.weight", "mlp.down_proj.weight"};
  static const StringRef kLinear[] = {
      "ttt.q_proj.weight",   "ttt.k_proj.weight",  "ttt.v_proj.weight",
      "ttt.o_proj.weight",   "ttt.lr_proj.weight", "ttt.lr_proj.bias",
      "ttt.ttt_norm.weight", "ttt.ttt_norm.bias",  "ttt.post_norm.weight",
      "ttt.post_norm.bias"};
  static const StringRef kSeed[] = {"ttt.down.weight", "ttt.up.weight"};
  bool linear = config.variant == TTTVariant::Linear;
  SmallVector<Value> common, w;
  if (Error e = lookup(layer, kCommon, common))
    return std::move(e);
  if (Error e = lookup(layer, linear ? ArrayRef<StringRef>(kLinear) : kSeed, w))
    return std::move(e);

  Location tttLoc = nameLoc(layerName(layer, "ttt"));
  Value normed = rmsNorm(x, common[0], layerName(layer, "norm1"));
  Value ttt;
  Type index = builder.getIndexType();
  if (trainSequences > 0) {
    if (linear) {
      SmallVector<Value> init;
      if (Error e = lookup(layer, {"ttt.W0", "ttt.b0"}, init))
        return std::move(e);
      ttt = ops::TTTLinearSeqsOp::create(
          builder, tttLoc, x.getType(), normed, w[0], w[1], w[2], w[3], w[4],
          w[5], w[6], w[7], w[8], w[9], init[0], init[1],
          builder.getI64IntegerAttr(config.numHeads),
          builder.getI64IntegerAttr(config.miniBatch),
          builder.getF32FloatAttr(static_cast<float>(config.baseLr)),
          builder.getI64IntegerAttr(trainSequences),
          builder.getI64IntegerAttr(config.actBits));
    } else {
      ttt = ops::TTTSeedSeqsOp::create(
          builder, tttLoc, x.getType(), normed, w[0], w[1],
          builder.getI64IntegerAttr(config.miniBatch),
          builder.getF32FloatAttr(static_cast<float>(config.innerLr)),
          builder.getI64IntegerAttr(trainSequences),
          builder.getI64IntegerAttr(config.actBits));
    }
  } else if (linear) {
    Value pos = posToIndex(tttLoc, state[4]);
    auto op = ops::TTTLinearOp::create(
        builder, tttLoc, x.getType(), state[0].getType(), state[1].getType(),
        state[2].getType(), state[3].getType(), index, normed, w[0], w[1], w[2],
        w[3], w[4], w[5], w[6], w[7], w[8], w[9], state[0], state[1], state[2],
        state[3], pos, builder.getI64IntegerAttr(config.numHeads),
        builder.getI64IntegerAttr(config.miniBatch),
        builder.getF32FloatAttr(static_cast<float>(config.baseLr)),
        builder.getI64IntegerAttr(config.actBits));
    ttt = op.getOutput();
    newState.append({op.getWOut(), op.getCOut(), op.getKeysOut(),
                     op.getEtaGradsOut(),
                     posToTensor(tttLoc, op.getPosOut(), state[4])});
  } else {
    Value pos = posToIndex(tttLoc, state[3]);
    auto op = ops::TTTSeedOp::create(
        builder, tttLoc, x.getType(), state[0].getType(), state[1].getType(),
        state[2].getType(), index, normed, w[0], w[1], state[0], state[1],
        state[2], pos, builder.getI64IntegerAttr(config.miniBatch),
        builder.getF32FloatAttr(static_cast<float>(config.innerLr)),
        builder.getI64IntegerAttr(config.actBits));
    ttt = op.getOutput();
    newState.append({op.getWOut(), op.getKeysOut(), op.getErrorsOut(),
                     posToTensor(tttLoc, op.getPosOut(), state[3])});
  }
  Value h = arith::AddFOp::create(builder, tttLoc, x, ttt);
  Value normed2 = rmsNorm(h, common[1], layerName(layer, "norm2"));
  Location mlpLoc = nameLoc(layerName(layer, "mlp"));
  Value mlp = ops::SwiGLUOp::create(builder, mlpLoc, h.getType(), normed2,
                                    common[2], common[3], common[4],
                                    builder.getI64IntegerAttr(config.actBits));
  return Value(arith::AddFOp::create(builder, mlpLoc, h, mlp));
}

Expected<func::FuncOp> FunctionBuilder::build(ModuleOp module, StringRef name,
                                              int64_t tokens) {
  std::vector<WeightSpec> specs = expectedWeights(config);
  ArrayRef<StringRef> slots = stateSlots(config);
  SmallVector<Type> layerStateTypes = stateTypes();

  // Arguments: ids, weights, state; results: logits, state.
  SmallVector<Type> inputs, results;
  SmallVector<Location> argLocs;
  SmallVector<std::pair<StringRef, std::string>> argAttrs, resultAttrs;
  // The compact LM head's parts: which latent weight and part they are, as
  // the packed ternary weights say it (the emitter derives their data from
  // the checkpoint when it writes the .bitt).
  SmallVector<std::pair<unsigned, DictionaryAttr>> packedAttrs;
  SmallVector<std::string> weightNames;
  inputs.push_back(RankedTensorType::get({tokens}, builder.getI32Type()));
  argLocs.push_back(nameLoc("ids"));
  argAttrs.push_back({"bitttt.io", "ids"});
  for (const WeightSpec &spec : specs) {
    if (spec.name == "lm_head.weight" && lmHead != format::LMHeadFormat::F32) {
      for (auto &[part, name] : lmHeadParts(lmHead)) {
        packedAttrs.push_back(
            {unsigned(inputs.size()),
             builder.getDictionaryAttr(
                 {builder.getNamedAttr("weight",
                                       builder.getStringAttr(spec.name)),
                  builder.getNamedAttr("part", builder.getStringAttr(part)),
                  builder.getNamedAttr(
                      "layout",
                      builder.getStringAttr(format::lmHeadLayout(lmHead)))})});
        inputs.push_back(lmHeadPartType(part));
        argLocs.push_back(nameLoc(name));
        argAttrs.push_back({"bitttt.tensor", name});
        weightNames.push_back(name);
      }
      continue;
    }
    inputs.push_back(tensor(spec.shape));
    argLocs.push_back(nameLoc(spec.name));
    argAttrs.push_back({"bitttt.tensor", spec.name});
    weightNames.push_back(spec.name);
  }
  results.push_back(tensor({tokens, config.vocabSize}));
  resultAttrs.push_back({"bitttt.io", "logits"});
  for (int64_t layer = 0; layer < config.numLayers; ++layer) {
    for (auto [slot, type] : llvm::zip_equal(slots, layerStateTypes)) {
      std::string stateName = layerName(layer, ("ttt." + slot).str());
      inputs.push_back(type);
      results.push_back(type);
      argLocs.push_back(nameLoc(stateName));
      argAttrs.push_back({"bitttt.state", stateName});
      resultAttrs.push_back({"bitttt.state", stateName});
    }
  }

  builder.setInsertionPointToEnd(module.getBody());
  auto func = func::FuncOp::create(builder, nameLoc(name), name,
                                   builder.getFunctionType(inputs, results));
  for (auto [i, attr] : llvm::enumerate(argAttrs))
    func.setArgAttr(i, attr.first, builder.getStringAttr(attr.second));
  for (auto [i, attr] : packedAttrs)
    func.setArgAttr(i, "bitttt.packed", attr);
  for (auto [i, attr] : llvm::enumerate(resultAttrs))
    func.setResultAttr(i, attr.first, builder.getStringAttr(attr.second));
  // pos is valid in [0, mini_batch): the compiled code commits only when it
  // reaches the end of a mini-batch (DESIGN.md §1), and the runtime refuses
  // other values (the range travels in the artifact's ABI description).
  auto posRange = builder.getDenseI64ArrayAttr({0, config.miniBatch});
  for (unsigned i = 0; i < func.getNumArguments(); ++i)
    if (auto state = func.getArgAttrOfType<StringAttr>(i, "bitttt.state");
        state && state.getValue().ends_with(".ttt.pos"))
      func.setArgAttr(i, "bitttt.range", posRange);
  for (unsigned i = 0; i < func.getNumResults(); ++i)
    if (auto state = func.getResultAttrOfType<StringAttr>(i, "bitttt.state");
        state && state.getValue().ends_with(".ttt.pos"))
      func.setResultAttr(i, "bitttt.range", posRange);
  Block *entry = func.addEntryBlock();
  for (auto [arg, loc] : llvm::zip_equal(entry->getArguments(), argLocs))
    arg.setLoc(loc);
  builder.setInsertionPointToStart(entry);

  weights.clear();
  for (auto [i, name] : llvm::enumerate(weightNames))
    weights[name] = entry->getArgument(1 + i);
  ValueRange state = entry->getArguments().drop_front(1 + weightNames.size());

  SmallVector<Value> outer; // embed, norm_f
  if (Error e = lookup(-1, {"embed.weight", "norm_f.weight"}, outer))
    return std::move(e);
  Value ids = entry->getArgument(0);
  Value x = ops::EmbeddingOp::create(builder, nameLoc("embed"),
                                     tensor({tokens, config.hiddenDim}),
                                     outer[0], ids);
  SmallVector<Value> returned;
  returned.push_back(nullptr); // logits, set below
  Expected<func::FuncOp> block =
      buildLayerFunction(module, (name + "_layer").str(), specs, tokens);
  if (!block)
    return block.takeError();
  auto layerWeights = layerWeightSpecs(specs);
  for (int64_t layer = 0; layer < config.numLayers; ++layer) {
    SmallVector<Value> args = {x};
    for (const auto &weight : layerWeights)
      args.push_back(weights.lookup(layerName(layer, weight.first)));
    llvm::append_range(args, state.slice(layer * slots.size(), slots.size()));
    auto call = func::CallOp::create(
        builder, nameLoc(layerName(layer, "block")), *block, args);
    x = call.getResult(0);
    llvm::append_range(returned, call.getResults().drop_front());
  }
  Value normed = rmsNorm(x, outer[1], "norm_f");
  Expected<Value> logits = buildLMHead(normed, tokens);
  if (!logits)
    return logits.takeError();
  returned[0] = *logits;
  func::ReturnOp::create(builder, nameLoc(name), returned);
  return func;
}

Expected<func::FuncOp>
FunctionBuilder::buildLayerFunction(ModuleOp module, const std::string &name,
                                    ArrayRef<WeightSpec> specs,
                                    int64_t tokens) {
  // Every layer has the same shapes: one private @<name>(x, that layer's
  // weights..., its state...) -> (out, new state...) called once per layer,
  // so its code exists once and compile time does not grow with the depth
  // (docs/frontend.md; bitttt-autodiff differentiates calls through the
  // callee). Its body is built with layer 0's names.
  SmallVector<Type> inputs = {tensor({tokens, config.hiddenDim})};
  auto layerWeights = layerWeightSpecs(specs);
  for (const auto &weight : layerWeights)
    inputs.push_back(tensor(weight.second));
  // Training's block runs whole sequences: no state crosses it.
  SmallVector<Type> layerState;
  if (trainSequences == 0)
    layerState = stateTypes();
  llvm::append_range(inputs, layerState);
  SmallVector<Type> results = {inputs[0]};
  llvm::append_range(results, layerState);

  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToEnd(module.getBody());
  auto func = func::FuncOp::create(builder, nameLoc(name), name,
                                   builder.getFunctionType(inputs, results));
  func.setPrivate();
  Block *body = func.addEntryBlock();
  builder.setInsertionPointToStart(body);
  llvm::StringMap<Value> outerWeights = std::move(weights);
  weights.clear();
  for (auto [i, weight] : llvm::enumerate(layerWeights)) {
    std::string name0 = layerName(0, weight.first);
    body->getArgument(1 + i).setLoc(nameLoc(name0));
    weights[name0] = body->getArgument(1 + i);
  }
  ValueRange state = body->getArguments().drop_front(1 + layerWeights.size());
  SmallVector<Value> returned = {nullptr};
  Expected<Value> out = buildBlock(0, body->getArgument(0), state, returned);
  weights = std::move(outerWeights);
  if (!out)
    return out.takeError();
  returned[0] = *out;
  func::ReturnOp::create(builder, nameLoc(name), returned);
  return func;
}

Expected<func::FuncOp> FunctionBuilder::buildTrainLoss(ModuleOp module,
                                                       int64_t batch,
                                                       int64_t context) {
  std::vector<WeightSpec> specs = expectedWeights(config);
  int64_t rows = batch * context;
  Type i32 = builder.getI32Type();
  SmallVector<Type> inputs;
  for (const WeightSpec &spec : specs)
    inputs.push_back(tensor(spec.shape));
  inputs.push_back(RankedTensorType::get({batch, context + 1}, i32));
  Type loss = RankedTensorType::get({}, f32);
  builder.setInsertionPointToEnd(module.getBody());
  auto func = func::FuncOp::create(builder, nameLoc("train_loss"), "train_loss",
                                   builder.getFunctionType(inputs, {loss}));
  for (auto [i, spec] : llvm::enumerate(specs))
    func.setArgAttr(i, "bitttt.tensor", builder.getStringAttr(spec.name));
  func.setArgAttr(specs.size(), "bitttt.io", builder.getStringAttr("tokens"));
  func.setResultAttr(0, "bitttt.io", builder.getStringAttr("loss"));
  Block *entry = func.addEntryBlock();
  builder.setInsertionPointToStart(entry);
  weights.clear();
  for (auto [i, spec] : llvm::enumerate(specs)) {
    entry->getArgument(i).setLoc(nameLoc(spec.name));
    weights[spec.name] = entry->getArgument(i);
  }

  // Window b is tokens[b, 0:T+1]: inputs its first T, targets its last T,
  // flattened to rows b·T + t.
  Location loc = nameLoc("tokens");
  Value tokens = entry->getArgument(specs.size());
  auto slice = [&](int64_t offset) -> Value {
    auto type = RankedTensorType::get({batch, context}, i32);
    Value part = tensor::ExtractSliceOp::create(
        builder, loc, type, tokens, ValueRange{}, ValueRange{}, ValueRange{},
        ArrayRef<int64_t>{0, offset}, ArrayRef<int64_t>{batch, context},
        ArrayRef<int64_t>{1, 1});
    return tensor::CollapseShapeOp::create(
        builder, loc, part, ArrayRef<ReassociationIndices>{{0, 1}});
  };
  Value ids = slice(0), targets = slice(1);

  SmallVector<Value> outer; // embed, norm_f, lm_head
  if (Error e = lookup(-1, {"embed.weight", "norm_f.weight", "lm_head.weight"},
                       outer))
    return std::move(e);
  Value x =
      ops::EmbeddingOp::create(builder, nameLoc("embed"),
                               tensor({rows, config.hiddenDim}), outer[0], ids);
  // Every layer has the same shapes: one private @train_block(x, that
  // layer's weights...) called once per layer, so its code (and its VJP,
  // bitttt-autodiff differentiates calls through the callee) exists once.
  // The layers run whole sequences from their initial state (no state
  // arguments): the training forms of the TTT ops.
  trainSequences = batch;
  Expected<func::FuncOp> block =
      buildLayerFunction(module, "train_block", specs, rows);
  trainSequences = 0;
  if (!block)
    return block.takeError();
  auto layerWeights = layerWeightSpecs(specs);
  for (int64_t layer = 0; layer < config.numLayers; ++layer) {
    SmallVector<Value> args = {x};
    for (const auto &weight : layerWeights)
      args.push_back(weights.lookup(layerName(layer, weight.first)));
    x = func::CallOp::create(builder, nameLoc(layerName(layer, "block")),
                             *block, args)
            .getResult(0);
  }
  Value normed = rmsNorm(x, outer[1], "norm_f");
  Value logits =
      ops::LMHeadOp::create(builder, nameLoc("lm_head"),
                            tensor({rows, config.vocabSize}), normed, outer[2]);
  Value mean = ops::CrossEntropyOp::create(builder, nameLoc("loss"), f32,
                                           logits, targets, IntegerAttr());
  Value result = tensor::FromElementsOp::create(builder, nameLoc("loss"), loss,
                                                ValueRange{mean});
  func::ReturnOp::create(builder, nameLoc("train_loss"), result);
  return func;
}

/// Verifies a built module; a failure names the layer (the op's NameLoc)
/// and the problem, once per distinct message.
Error verifyBuilt(MLIRContext &context, ModuleOp module) {
  SmallVector<std::string> problems;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    std::string line;
    llvm::raw_string_ostream os(line);
    if (auto name = dyn_cast<NameLoc>(diag.getLocation()))
      os << name.getName().strref() << ": ";
    os << diag;
    if (!llvm::is_contained(problems, line))
      problems.push_back(line);
    return success();
  });
  if (succeeded(verify(module)))
    return Error::success();
  std::string message = "the module built for this config does not verify "
                        "(the bitttt dialect rejects what the config allows)";
  for (const std::string &problem : problems)
    message += "\n  " + problem;
  return makeError(message);
}

} // namespace

std::vector<std::pair<std::string, std::string>>
lmHeadParts(format::LMHeadFormat format) {
  switch (format) {
  case format::LMHeadFormat::F32:
    break;
  case format::LMHeadFormat::BF16:
    return {{"values", "lm_head.weight.bf16"}};
  case format::LMHeadFormat::Int8:
    return {{"values", "lm_head.weight.int8"},
            {"row_scale", "lm_head.weight.row_scale"},
            {"row_sum", "lm_head.weight.row_sum"}};
  }
  return {{"", "lm_head.weight"}};
}

std::vector<WeightSpec> expectedWeights(const ModelConfig &c) {
  int64_t v = c.vocabSize, d = c.hiddenDim, i = c.intermediateDim;
  std::vector<WeightSpec> specs;
  auto add = [&](std::string name, SmallVector<int64_t, 3> shape) {
    specs.push_back({std::move(name), std::move(shape)});
  };
  add("embed.weight", {v, d});
  for (int64_t l = 0; l < c.numLayers; ++l) {
    add(layerName(l, "norm1.weight"), {d});
    add(layerName(l, "norm2.weight"), {d});
    add(layerName(l, "mlp.gate_proj.weight"), {i, d});
    add(layerName(l, "mlp.up_proj.weight"), {i, d});
    add(layerName(l, "mlp.down_proj.weight"), {d, i});
    if (c.variant == TTTVariant::Linear) {
      int64_t h = c.numHeads, f = c.headDim();
      for (StringRef proj : {"q_proj", "k_proj", "v_proj", "o_proj"})
        add(layerName(l, ("ttt." + proj + ".weight").str()), {d, d});
      add(layerName(l, "ttt.lr_proj.weight"), {h, d});
      add(layerName(l, "ttt.lr_proj.bias"), {h});
      add(layerName(l, "ttt.W0"), {h, f, f});
      add(layerName(l, "ttt.b0"), {h, f});
      add(layerName(l, "ttt.ttt_norm.weight"), {h, f});
      add(layerName(l, "ttt.ttt_norm.bias"), {h, f});
      add(layerName(l, "ttt.post_norm.weight"), {d});
      add(layerName(l, "ttt.post_norm.bias"), {d});
    } else {
      int64_t s = c.seedDim();
      add(layerName(l, "ttt.down.weight"), {s, d});
      add(layerName(l, "ttt.up.weight"), {d, s});
    }
  }
  add("norm_f.weight", {d});
  add("lm_head.weight", {v, d});
  return specs;
}

llvm::ArrayRef<llvm::StringRef> stateSlots(const ModelConfig &c) {
  static const StringRef linear[] = {"w", "c", "keys", "eta_grads", "pos"};
  static const StringRef seed[] = {"w", "keys", "errors", "pos"};
  if (c.variant == TTTVariant::Linear)
    return linear;
  return seed;
}

Error checkPrefillChunk(const ModelConfig &c, int64_t chunk, StringRef subject,
                        StringRef configName) {
  std::string what =
      subject.empty() ? ("prefill chunk " + Twine(chunk)).str() : subject.str();
  if (chunk <= 0 || chunk % c.miniBatch != 0)
    return makeError(what + " is not a positive multiple of ttt.mini_batch (" +
                     Twine(c.miniBatch) +
                     (configName.empty() ? "" : " in " + configName) + ")");
  if (chunk > BITTTT_MAX_CALL_TOKENS)
    return makeError(what + " is more than the runtime takes in one call " +
                     "(2^24 = " + Twine(BITTTT_MAX_CALL_TOKENS) + " tokens)");
  return Error::success();
}

namespace {
/// The parts of a compact LM head a .bitt holds: present, with the dtype and
/// shape of its format; added to `expected`.
Error checkLMHeadSource(const ModelConfig &c,
                        const format::BittFile &checkpoint,
                        const LMHeadSource &source,
                        llvm::StringSet<> &expected) {
  int64_t v = c.vocabSize, d = c.hiddenDim;
  bool bf16 = source.format == format::LMHeadFormat::BF16;
  for (auto &[part, unused] : lmHeadParts(source.format)) {
    auto it = source.parts.find(part);
    std::string field = "'bitttt.lm_head.parts." + part + "'";
    if (it == source.parts.end())
      return makeError(checkpoint.path() + ": header field " + field +
                       " is missing");
    std::string dtype = part == "values"      ? (bf16 ? "BF16" : "I8")
                        : part == "row_scale" ? "F32"
                                              : "I32";
    std::vector<int64_t> shape = {v};
    if (part == "values")
      shape.push_back(d);
    const format::TensorInfo *t = checkpoint.find(it->second);
    if (!t || t->dtype != dtype || t->shape != shape)
      return makeError(checkpoint.path() + ": the LM head's " + part + " ('" +
                       it->second + "', " + field + ") is missing or not " +
                       dtype + " " + format::shapeText(shape));
    expected.insert(it->second);
  }
  return Error::success();
}
} // namespace

Error checkCheckpoint(const ModelConfig &c, const format::BittFile &checkpoint,
                      const PackedSources *packed, format::LMHeadFormat lmHead,
                      const LMHeadSource *lmHeadSource) {
  const std::string &path = checkpoint.path();
  std::vector<WeightSpec> specs = expectedWeights(c);
  llvm::StringSet<> expected;
  // A compact head already in the file: its parts belong to it, and stand
  // for the f32 weight when the same format is asked for.
  for (const WeightSpec &spec : specs) {
    expected.insert(spec.name);
    if (spec.name == "lm_head.weight" && lmHeadSource &&
        lmHeadSource->format != format::LMHeadFormat::F32) {
      if (Error e = checkLMHeadSource(c, checkpoint, *lmHeadSource, expected))
        return e;
      if (!checkpoint.find(spec.name)) {
        if (lmHead == lmHeadSource->format)
          continue;
        const char *have = format::lmHeadFormatName(lmHeadSource->format);
        return makeError(path + ": holds the LM head as " + have +
                         " only, without the f32 'lm_head.weight' that "
                         "--lm-head " +
                         format::lmHeadFormatName(lmHead) +
                         " is made from; recompile it with --lm-head " + have +
                         ", or compile the model directory");
      }
    }
    const format::TensorInfo *t = checkpoint.find(spec.name);
    std::vector<int64_t> shape(spec.shape.begin(), spec.shape.end());
    auto source =
        packed ? packed->find(spec.name) : PackedSources::const_iterator();
    if (!t && packed && source != packed->end()) {
      const PackedSource &p = source->second;
      std::vector<int64_t> codesShape = {
          p.rows, format::packedRowBytes(p.layout, p.cols)};
      const format::TensorInfo *codes = checkpoint.find(p.codes),
                               *scale = checkpoint.find(p.scale);
      if (std::vector<int64_t>{p.rows, p.cols} != shape)
        return makeError(path + ": packed weight '" + spec.name + "' is " +
                         format::shapeText({p.rows, p.cols}) + ", expected " +
                         format::shapeText(shape));
      if (!codes || codes->dtype != "U8" || codes->shape != codesShape)
        return makeError(path + ": the codes of packed weight '" + spec.name +
                         "' ('" + p.codes + "') are missing or not U8 " +
                         format::shapeText(codesShape));
      if (!scale || scale->dtype != "F32" || !scale->shape.empty())
        return makeError(path + ": the scale of packed weight '" + spec.name +
                         "' ('" + p.scale + "') is missing or not F32 []");
      expected.insert(p.codes);
      expected.insert(p.scale);
      continue;
    }
    if (!t)
      return makeError(path + ": missing tensor '" + spec.name + "' (" +
                       describeModel(c) + " needs " + Twine(specs.size()) +
                       " tensors)");
    if (t->shape != shape)
      return makeError(path + ": tensor '" + spec.name + "' has shape " +
                       format::shapeText(t->shape) + ", expected " +
                       format::shapeText(shape));
    if (t->dtype != "F32")
      return makeError(path + ": tensor '" + spec.name + "' has dtype " +
                       t->dtype + ", expected F32");
  }
  SmallVector<StringRef> extra;
  for (const format::TensorInfo &t : checkpoint.tensors())
    if (!expected.contains(t.name) &&
        !(packed && StringRef(t.name).starts_with("__artifact__.")))
      extra.push_back(t.name);
  if (extra.empty())
    return Error::success();
  std::string names;
  llvm::raw_string_ostream os(names);
  constexpr size_t kMaxNamed = 8;
  llvm::interleaveComma(ArrayRef(extra).take_front(kMaxNamed), os,
                        [&](StringRef n) { os << "'" << n << "'"; });
  if (extra.size() > kMaxNamed)
    os << " and " << extra.size() - kMaxNamed << " more";
  return makeError(path + ": unexpected " +
                   (extra.size() == 1 ? "tensor " : "tensors ") + names +
                   " (not part of " + describeModel(c) + ")");
}

Expected<OwningOpRef<ModuleOp>>
buildModelModule(MLIRContext &context, const ModelConfig &config,
                 const format::BittFile &checkpoint,
                 const ModelBuildOptions &options) {
  if (Error e = checkPrefillChunk(config, options.prefillChunk))
    return std::move(e);
  if (Error e = checkCheckpoint(config, checkpoint, options.packed,
                                options.lmHead, options.lmHeadSource))
    return std::move(e);
  context.loadDialect<ops::BitTTTDialect, func::FuncDialect,
                      arith::ArithDialect, tensor::TensorDialect>();

  OwningOpRef<ModuleOp> module =
      ModuleOp::create(NameLoc::get(StringAttr::get(&context, "model")));
  FunctionBuilder functions(context, config, options.lmHead);
  for (auto [name, tokens] :
       {std::pair<StringRef, int64_t>{"prefill", options.prefillChunk},
        {"decode", 1}})
    if (Expected<func::FuncOp> f = functions.build(*module, name, tokens); !f)
      return f.takeError();

  // The config passed the reference model's rules; a module that still does
  // not verify means the dialect disagrees with them (or a bug here).
  if (Error e = verifyBuilt(context, *module))
    return std::move(e);
  return std::move(module);
}

Expected<OwningOpRef<ModuleOp>>
buildTrainModule(MLIRContext &context, const ModelConfig &config,
                 const TrainBuildOptions &options) {
  if (options.batch < 1 || options.context < 1)
    return makeError("training shapes must be positive: batch " +
                     Twine(options.batch) + ", context " +
                     Twine(options.context));
  context.loadDialect<ops::BitTTTDialect, func::FuncDialect,
                      arith::ArithDialect, tensor::TensorDialect>();
  OwningOpRef<ModuleOp> module =
      ModuleOp::create(NameLoc::get(StringAttr::get(&context, "train")));
  FunctionBuilder functions(context, config);
  if (Expected<func::FuncOp> f =
          functions.buildTrainLoss(*module, options.batch, options.context);
      !f)
    return f.takeError();
  if (Error e = verifyBuilt(context, *module))
    return std::move(e);
  return std::move(module);
}

} // namespace bitttt
