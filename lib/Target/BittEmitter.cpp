//===- BittEmitter.cpp - compiled model → .bitt v2 ------------------------===//
//
// The weights stay data: the compiler quantizes and packs the checkpoint's
// BitLinear weights exactly as the reference does (γ = max(mean|W|, 1e-5),
// codes = clamp(roundeven(W/γ), -1, 1), layout i2_b128 of docs/packing.md)
// and stores them beside the code, never inside it.
//
//===----------------------------------------------------------------------===//
#include "lib/Target/BittEmitter.h"

#include "BittFile.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/Support/JSON.h"

#include <cmath>
#include <cstring>

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

/// Quantized, packed copy of one latent f32 weight.
struct PackedWeight {
  int64_t rows = 0, cols = 0;
  std::vector<uint8_t> codes;
  float scale = 0;
};

PackedWeight pack(const TensorView &w) {
  PackedWeight p;
  p.rows = w.shape[0];
  p.cols = w.shape[1];
  size_t n = size_t(p.rows) * size_t(p.cols);
  std::vector<float> values(n);
  std::memcpy(values.data(), w.data, n * sizeof(float));
  double sum = 0;
  for (float v : values)
    sum += std::fabs(double(v));
  float mean = float(sum / double(n));
  p.scale = std::max(mean, 1e-5f);
  int64_t rowBytes = 32 * ((p.cols + 127) / 128);
  // Padding columns hold code 1 (weight 0) in every 2-bit field.
  p.codes.assign(size_t(p.rows * rowBytes), 0x55);
  for (int64_t r = 0; r < p.rows; ++r) {
    for (int64_t c = 0; c < p.cols; ++c) {
      float q = std::nearbyint(values[size_t(r * p.cols + c)] / p.scale);
      q = std::min(1.0f, std::max(-1.0f, q));
      uint8_t code = uint8_t(int(q) + 1);
      int64_t block = c / 128, k = (c % 128) / 32, lane = c % 32;
      uint8_t &byte = p.codes[size_t(r * rowBytes + block * 32 + lane)];
      byte = uint8_t((byte & ~(3u << (2 * k))) | (code << (2 * k)));
    }
  }
  return p;
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
  std::map<std::string, PackedWeight> packed; // latent name → packed
  llvm::json::Object packedIndex, stateIndex, functions, artifacts;
  std::map<std::string, bool> added;

  auto addCheckpointTensor = [&](const std::string &name) -> Error {
    if (added[name])
      return Error::success();
    const TensorView *t = contents.checkpoint->lookup(name);
    if (!t)
      return makeError(contents.checkpoint->path() + ": missing tensor '" +
                       name + "'");
    tensors.push_back({name, dtypeName(t->dtype).str(),
                       std::vector<int64_t>(t->shape.begin(), t->shape.end()),
                       t->data, t->numBytes});
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
        const TensorView *w = contents.checkpoint->lookup(latent);
        if (!w || w->dtype != DType::F32 || w->shape.size() != 2)
          return makeError(contents.checkpoint->path() + ": tensor '" + latent +
                           "' is not the F32 matrix to pack");
        packed[latent] = pack(*w);
        const PackedWeight &p = packed[latent];
        packedIndex[latent] =
            llvm::json::Object{{"codes", latent + kCodesSuffix.str()},
                               {"scale", latent + kScaleSuffix.str()},
                               {"rows", p.rows},
                               {"cols", p.cols},
                               {"layout", "i2_b128"}};
      }
      const PackedWeight &p = packed[latent];
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
