//===- BittEmitter.cpp - compiled model → .bitt v2 ------------------------===//
//
// The weights stay data: the compiler quantizes and packs the checkpoint's
// BitLinear weights with the container library (bitttt/Format/Packing.h:
// γ and layout i2_b128 of docs/packing.md) and stores them beside the code,
// never inside it.
//
//===----------------------------------------------------------------------===//
#include "bitttt/Target/Bitt/BittEmitter.h"

#include "bitttt/Format/BittFile.h"
#include "bitttt/Format/Packing.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/Support/JSON.h"

using namespace bitttt;
using llvm::Error;
using llvm::Expected;

namespace {

Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

constexpr llvm::StringLiteral kCodesSuffix = ".codes";
constexpr llvm::StringLiteral kScaleSuffix = ".scale";

Expected<std::string> dtypeOf(mlir::Type element, llvm::StringRef name) {
  if (element.isF32())
    return std::string("F32");
  if (element.isInteger(32))
    return std::string("I32");
  if (element.isInteger(64))
    return std::string("I64");
  if (element.isInteger(8)) // packed ternary codes are raw bytes
    return std::string(name.ends_with(kCodesSuffix) ? "U8" : "I8");
  return makeError("value '" + name +
                   "' has an element type the .bitt ABI "
                   "cannot describe");
}

Expected<AbiValue> abiValue(mlir::Type type, mlir::DictionaryAttr attrs) {
  auto tensor = llvm::dyn_cast<mlir::RankedTensorType>(type);
  if (!tensor || !tensor.hasStaticShape())
    return makeError("entry point value of type that is not a static tensor");
  AbiValue v;
  for (llvm::StringRef role : {"io", "tensor", "state"}) {
    if (!attrs)
      break;
    if (auto name = attrs.getAs<mlir::StringAttr>(("bitttt." + role).str())) {
      v.role = role.str();
      v.name = name.getValue().str();
    }
  }
  if (v.role.empty())
    return makeError("entry point value without a bitttt.io/tensor/state name");
  auto dtype = dtypeOf(tensor.getElementType(), v.name);
  if (!dtype)
    return dtype.takeError();
  v.dtype = *dtype;
  v.shape.assign(tensor.getShape().begin(), tensor.getShape().end());
  return v;
}

llvm::json::Value toJson(const AbiValue &v) {
  llvm::json::Array shape;
  for (int64_t d : v.shape)
    shape.push_back(d);
  return llvm::json::Object{{"role", v.role},
                            {"name", v.name},
                            {"dtype", v.dtype},
                            {"shape", std::move(shape)}};
}

std::string stateInit(const ModelConfig &config, llvm::StringRef name) {
  // layers.{i}.ttt.{w,c,...}: linear TTT starts from W0/b0, the rest at 0.
  if (config.variant == TTTVariant::Linear) {
    if (name.ends_with(".ttt.w"))
      return (name.drop_back(1) + "W0").str();
    if (name.ends_with(".ttt.c"))
      return (name.drop_back(1) + "b0").str();
  }
  return "zeros";
}

} // namespace

Expected<std::vector<FunctionAbi>> bitttt::collectAbi(mlir::ModuleOp module) {
  std::vector<FunctionAbi> result;
  for (llvm::StringRef name : {"prefill", "decode"}) {
    auto func = module.lookupSymbol<mlir::func::FuncOp>(name);
    if (!func)
      return makeError("the compiled module has no @" + name);
    FunctionAbi abi;
    abi.name = name.str();
    abi.symbol = ("bitttt_entry_" + name).str();
    for (unsigned i = 0; i < func.getNumArguments(); ++i) {
      auto v = abiValue(func.getArgumentTypes()[i], func.getArgAttrDict(i));
      if (!v)
        return v.takeError();
      abi.inputs.push_back(std::move(*v));
    }
    for (unsigned i = 0; i < func.getNumResults(); ++i) {
      auto v = abiValue(func.getResultTypes()[i], func.getResultAttrDict(i));
      if (!v)
        return v.takeError();
      abi.outputs.push_back(std::move(*v));
    }
    if (abi.inputs.empty() || abi.inputs[0].name != "ids")
      return makeError("@" + name + " does not take the token ids first");
    abi.tokens = abi.inputs[0].shape[0];
    result.push_back(std::move(abi));
  }
  return result;
}

Error bitttt::writeBitt(llvm::StringRef path, const BittContents &contents) {
  namespace fmt = bitttt::format;
  std::vector<fmt::TensorData> tensors;
  std::map<std::string, fmt::PackedTernary> packed; // latent name → packed
  llvm::json::Object packedIndex, stateIndex, functions, artifacts;
  std::map<std::string, bool> added;

  auto addCheckpointTensor = [&](const std::string &name) -> Error {
    if (added[name])
      return Error::success();
    const fmt::TensorInfo *t = contents.checkpoint->find(name);
    if (!t)
      return makeError(contents.checkpoint->path() + ": missing tensor '" +
                       name + "'");
    tensors.push_back({name, t->dtype, t->shape, t->data, t->nbytes});
    added[name] = true;
    return Error::success();
  };

  for (const FunctionAbi &fn : contents.functions) {
    for (const AbiValue &v : fn.inputs) {
      if (v.role == "state" && !stateIndex.get(v.name)) {
        std::string init = stateInit(*contents.config, v.name);
        if (init != "zeros")
          if (Error e = addCheckpointTensor(init))
            return e;
        stateIndex[v.name] = llvm::json::Object{{"init", init}};
      }
      if (v.role != "tensor" || added[v.name])
        continue;
      llvm::StringRef name(v.name);
      bool isCodes = name.ends_with(kCodesSuffix);
      if (!isCodes && !name.ends_with(kScaleSuffix)) {
        if (Error e = addCheckpointTensor(v.name))
          return e;
        continue;
      }
      std::string latent =
          name.drop_back(isCodes ? kCodesSuffix.size() : kScaleSuffix.size())
              .str();
      if (!packed.count(latent)) {
        const fmt::TensorInfo *w = contents.checkpoint->find(latent);
        if (!w || w->dtype != "F32" || w->shape.size() != 2)
          return makeError(contents.checkpoint->path() + ": tensor '" + latent +
                           "' is not the F32 matrix to pack");
        packed[latent] = fmt::packTernary(w->data, w->shape[0], w->shape[1]);
        const fmt::PackedTernary &p = packed[latent];
        packedIndex[latent] =
            llvm::json::Object{{"codes", latent + kCodesSuffix.str()},
                               {"scale", latent + kScaleSuffix.str()},
                               {"rows", p.rows},
                               {"cols", p.cols},
                               {"layout", "i2_b128"}};
      }
      const fmt::PackedTernary &p = packed[latent];
      if (isCodes)
        tensors.push_back({v.name,
                           "U8",
                           {p.rows, int64_t(p.codes.size()) / p.rows},
                           p.codes.data(),
                           p.codes.size()});
      else
        tensors.push_back({v.name, "F32", {}, &p.scale, sizeof(float)});
      added[v.name] = true;
    }
    llvm::json::Array inputs, outputs;
    for (const AbiValue &v : fn.inputs)
      inputs.push_back(toJson(v));
    for (const AbiValue &v : fn.outputs)
      outputs.push_back(toJson(v));
    functions[fn.name] = llvm::json::Object{{"symbol", fn.symbol},
                                            {"tokens", fn.tokens},
                                            {"inputs", std::move(inputs)},
                                            {"outputs", std::move(outputs)}};
  }
  for (const auto &[target, bytes] : contents.artifacts) {
    std::string name = "__artifact__." + target;
    tensors.push_back(
        {name, "U8", {int64_t(bytes.size())}, bytes.data(), bytes.size()});
    artifacts[target] =
        llvm::json::Object{{"tensor", name}, {"kind", "elf-so"}};
  }

  auto config = llvm::json::parse(contents.configJson);
  if (!config)
    return config.takeError();
  llvm::json::Value tokenizer = nullptr;
  if (!contents.tokenizerJson.empty()) {
    auto parsed = llvm::json::parse(contents.tokenizerJson);
    if (!parsed)
      return makeError("tokenizer.json: " + llvm::toString(parsed.takeError()));
    tokenizer = std::move(*parsed);
  }
  llvm::json::Object header{
      {"config", std::move(*config)},
      {"tokenizer", std::move(tokenizer)},
      {"bitttt", llvm::json::Object{{"format_version", 2},
                                    {"packed", std::move(packedIndex)},
                                    {"artifacts", std::move(artifacts)},
                                    {"functions", std::move(functions)},
                                    {"state", std::move(stateIndex)}}}};
  std::string headerText;
  llvm::raw_string_ostream os(headerText);
  os << llvm::json::Value(std::move(header));
  fmt::Status status = fmt::writeBittV2(path.str(), headerText, tensors);
  if (!status)
    return makeError(status.message());
  return Error::success();
}
