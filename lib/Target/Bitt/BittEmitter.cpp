//===- BittEmitter.cpp - compiled model → .bitt v2 ------------------------===//
//
// The header's "functions" are the artifact's own ABI description (the
// `bitttt_abi` of bitttt-emit-entry-points) plus each function's token
// count, so header and code come from one source and the runtime can check
// one against the other. The weights stay data: the buffers marked
// `packed` name the latent checkpoint weight and the part; the container
// library packs it (bitttt/Format/Packing.h: γ and layout i2_b128 of
// docs/packing.md) and the parts are stored beside the code, never inside.
//
//===----------------------------------------------------------------------===//
#include "bitttt/Target/Bitt/BittEmitter.h"
#include "LMHeadParts.h"

#include "bitttt/Format/BittFile.h"
#include "bitttt/Format/JsonDepth.h"
#include "bitttt/Format/Packing.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/xxhash.h"

#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>

using namespace bitttt;
using llvm::Error;

namespace {

Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// The artifact checksum the runtime verifies before loading the code
/// (docs/bitt-format.md): XXH3-64 of its bytes, 16 lowercase hex digits.
/// LLVM's xxh3_64bits is XXH3_64bits of libxxhash (seed 0), which the
/// runtime uses; test_compiled_bitt.py checks both against PyPI's xxhash.
template <typename Bytes> std::string xxh3Hex(const Bytes &bytes) {
  uint64_t h = llvm::xxh3_64bits(llvm::ArrayRef<uint8_t>(
      reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size()));
  return llvm::formatv("{0:x-16}", h).str();
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

/// A latent weight packed when the writer reaches its parts: γ once (the
/// codes and the scale tensor both need it), the codes straight into the
/// writer's buffer.
struct LazyPack {
  const format::BittFile *file = nullptr;
  const format::TensorInfo *weight = nullptr;
  std::once_flag once;
  float gamma = 0;

  int64_t rows() const { return weight->shape[0]; }
  int64_t cols() const { return weight->shape[1]; }
  float scale() {
    std::call_once(once, [&] {
      gamma = format::ternaryScale(weight->data, rows() * cols());
    });
    return gamma;
  }
};

class Writer {
public:
  explicit Writer(const BittContents &contents)
      : c(contents), lmHead(*contents.checkpoint, contents.lmHeadSource) {}
  Error write(llvm::StringRef path);

private:
  Error addFunction(const AbiFunction &fn);
  Error addTrainFunction(const AbiFunction &fn, llvm::json::Object &into);
  Error addTensorInput(const std::string &where, const AbiBuffer &b);
  Error addCheckpointTensor(const std::string &name);

  const BittContents &c;
  std::vector<format::TensorData> tensors;
  std::map<std::string, std::unique_ptr<LazyPack>> packed; // latent name →
  std::map<std::string, bool> added;
  llvm::json::Object packedIndex, stateIndex, functions;
  LMHeadParts lmHead; // the LM head, whatever its format
};

Error Writer::addCheckpointTensor(const std::string &name) {
  if (added[name])
    return Error::success();
  const format::TensorInfo *t = c.checkpoint->find(name);
  if (!t)
    return makeError(c.checkpoint->path() + ": missing tensor '" + name + "'");
  if (t->dtype == "F32")
    if (format::Status s = format::checkFinite(*c.checkpoint, *t); !s)
      return makeError(s.message());
  tensors.push_back({name, t->dtype, t->shape, t->data, t->nbytes});
  tensors.back().written = [file = c.checkpoint, t] { file->release(*t); };
  added[name] = true;
  return Error::success();
}

Error Writer::addTensorInput(const std::string &where, const AbiBuffer &b) {
  if (added[b.name])
    return Error::success();
  if (LMHeadParts::isHead(b)) {
    added[b.name] = true;
    return lmHead.add(where, b, tensors);
  }
  if (b.packedWeight.empty())
    return addCheckpointTensor(b.name);
  format::TernaryLayout layout;
  if (!format::parseTernaryLayout(b.packedLayout, layout))
    return makeError(where + ": packed layout '" + b.packedLayout +
                     "' is not one the compiler writes (" +
                     format::ternaryLayoutNames() + ")");
  const std::string &latent = b.packedWeight;
  auto source =
      c.packed ? c.packed->find(latent) : PackedSources::const_iterator();
  if (!c.checkpoint->find(latent) && c.packed && source != c.packed->end()) {
    // Already packed (a .bitt recompiled): copy the part as it is.
    const PackedSource &src = source->second;
    if (src.layout != layout)
      return makeError(where + ": '" + latent + "' in " + c.checkpoint->path() +
                       " is packed in layout " +
                       format::ternaryLayoutName(src.layout) +
                       ", the code reads " + b.packedLayout);
    const format::TensorInfo *t =
        c.checkpoint->find(b.packedPart == "codes" ? src.codes : src.scale);
    if (!t || t->dtype != b.dtype || t->shape != b.shape)
      return makeError(where + ": the " + b.packedPart + " of '" + latent +
                       "' in " + c.checkpoint->path() +
                       " do not match what the code takes (" + b.dtype + " " +
                       format::shapeText(b.shape) + ")");
    tensors.push_back({b.name, t->dtype, t->shape, t->data, t->nbytes});
    tensors.back().written = [file = c.checkpoint, t] { file->release(*t); };
    added[b.name] = true;
    llvm::json::Object *entry = packedIndex.getObject(latent);
    if (!entry) {
      packedIndex[latent] = llvm::json::Object{
          {"rows", src.rows}, {"cols", src.cols}, {"layout", b.packedLayout}};
      entry = packedIndex.getObject(latent);
    }
    (*entry)[b.packedPart] = b.name;
    return Error::success();
  }
  if (!packed.count(latent)) {
    const format::TensorInfo *w = c.checkpoint->find(latent);
    if (!w || w->dtype != "F32" || w->shape.size() != 2)
      return makeError(c.checkpoint->path() + ": tensor '" + latent +
                       "' is not the F32 matrix to pack");
    auto lazy = std::make_unique<LazyPack>();
    lazy->file = c.checkpoint;
    lazy->weight = w;
    packed[latent] = std::move(lazy);
  }
  LazyPack *p = packed[latent].get();
  std::vector<int64_t> shape;
  if (b.packedPart == "codes") {
    shape = {p->rows(), format::packedRowBytes(layout, p->cols())};
    tensors.push_back(
        {b.name, "U8", shape, nullptr, uint64_t(shape[0] * shape[1])});
    tensors.back().produce = [p, layout](void *out) {
      if (!std::isfinite(p->scale())) // a NaN or ±Inf makes the mean one
        return format::checkFinite(*p->file, *p->weight);
      format::packTernaryCodes(p->weight->data, p->rows(), p->cols(),
                               p->scale(), static_cast<uint8_t *>(out), layout);
      p->file->release(*p->weight);
      return format::Status::ok();
    };
  } else if (b.packedPart == "scale") {
    tensors.push_back({b.name, "F32", shape, nullptr, sizeof(float)});
    tensors.back().produce = [p](void *out) {
      float gamma = p->scale();
      std::memcpy(out, &gamma, sizeof gamma);
      return format::Status::ok();
    };
  } else {
    return makeError(where + ": unknown packed part '" + b.packedPart + "'");
  }
  const format::TensorData &t = tensors.back();
  if (t.dtype != b.dtype || t.shape != b.shape)
    return makeError(where + ": the code takes '" + b.name + "' as " + b.dtype +
                     " " + format::shapeText(b.shape) + ", packing '" + latent +
                     "' gives " + t.dtype + " " + format::shapeText(t.shape));
  added[b.name] = true;
  llvm::json::Object *entry = packedIndex.getObject(latent);
  if (!entry) {
    packedIndex[latent] = llvm::json::Object{
        {"rows", p->rows()}, {"cols", p->cols()}, {"layout", b.packedLayout}};
    entry = packedIndex.getObject(latent);
  }
  (*entry)[b.packedPart] = b.name;
  return Error::success();
}

Error Writer::addFunction(const AbiFunction &fn) {
  llvm::json::Array inputs, outputs;
  for (bool output : {false, true}) {
    const std::vector<AbiBuffer> &list = output ? fn.outputs : fn.inputs;
    for (auto [i, b] : llvm::enumerate(list)) {
      std::string where = "function '" + fn.name + "' " +
                          (output ? "output " : "input ") + std::to_string(i);
      if (b.role != "io" && b.role != "tensor" && b.role != "state")
        return makeError(where + " has no bitttt.io/tensor/state name");
      if (b.role == "tensor")
        if (Error e = addTensorInput(where, b))
          return e;
      if (b.role == "state" && !stateIndex.get(b.name)) {
        std::string init = stateInit(*c.config, b.name);
        if (init != "zeros")
          if (Error e = addCheckpointTensor(init))
            return e;
        llvm::json::Object state{{"init", init}};
        if (b.range)
          state["range"] = llvm::json::Array{b.range->first, b.range->second};
        stateIndex[b.name] = std::move(state);
      }
      (output ? outputs : inputs).push_back(toJson(b));
    }
  }
  if (fn.inputs.empty() || fn.inputs[0].name != "ids" ||
      fn.inputs[0].shape.size() != 1)
    return makeError("function '" + fn.name +
                     "' does not take the token ids first");
  functions[fn.name] = llvm::json::Object{{"symbol", fn.symbol},
                                          {"tokens", fn.inputs[0].shape[0]},
                                          {"inputs", std::move(inputs)},
                                          {"outputs", std::move(outputs)}};
  return Error::success();
}

// Training functions bind parameters, moments and gradients by name; the
// parameters' latent f32 values are stored so a trainer starts from them.
Error Writer::addTrainFunction(const AbiFunction &fn,
                               llvm::json::Object &into) {
  llvm::json::Array inputs, outputs;
  for (bool output : {false, true}) {
    const std::vector<AbiBuffer> &list = output ? fn.outputs : fn.inputs;
    for (auto [i, b] : llvm::enumerate(list)) {
      if (b.role == "none" || b.role == "state")
        return makeError("training function '" + fn.name + "' " +
                         (output ? "output " : "input ") + std::to_string(i) +
                         " has no training role");
      if (b.role == "param" || b.role == "tensor")
        if (Error e = addCheckpointTensor(b.name))
          return e;
      (output ? outputs : inputs).push_back(toJson(b));
    }
  }
  into[fn.name] = llvm::json::Object{{"symbol", fn.symbol},
                                     {"inputs", std::move(inputs)},
                                     {"outputs", std::move(outputs)}};
  return Error::success();
}

Error Writer::write(llvm::StringRef path) {
  for (const std::string &name : c.functions) {
    const AbiFunction *fn = c.abi.function(name);
    if (!fn)
      return makeError("the compiled code has no entry point for @" + name);
    if (Error e = addFunction(*fn))
      return e;
  }
  llvm::json::Object artifacts;
  for (const auto &[target, bytes] : c.artifacts) {
    std::string name = "__artifact__." + target;
    tensors.push_back(
        {name, "U8", {int64_t(bytes.size())}, bytes.data(), bytes.size()});
    artifacts[target] = llvm::json::Object{
        {"tensor", name}, {"kind", "elf-so"}, {"xxh3_64", xxh3Hex(bytes)}};
  }

  llvm::json::Value train = nullptr;
  if (!c.trainArtifacts.empty()) {
    llvm::json::Object trainFunctions, trainArtifacts;
    for (const char *name : {"train_step", "train_grad", "train_apply"}) {
      const AbiFunction *fn = c.trainAbi.function(name);
      if (!fn)
        return makeError(std::string("the compiled training code has no "
                                     "entry point for @") +
                         name);
      if (Error e = addTrainFunction(*fn, trainFunctions))
        return e;
    }
    for (const auto &[target, bytes] : c.trainArtifacts) {
      std::string name = "__artifact__.train." + target;
      tensors.push_back(
          {name, "U8", {int64_t(bytes.size())}, bytes.data(), bytes.size()});
      trainArtifacts[target] = llvm::json::Object{
          {"tensor", name}, {"kind", "elf-so"}, {"xxh3_64", xxh3Hex(bytes)}};
    }
    llvm::json::Object info = c.trainInfo;
    info["functions"] = std::move(trainFunctions);
    info["artifacts"] = std::move(trainArtifacts);
    train = std::move(info);
  }

  for (auto [what, text] : {std::pair{"config.json", &c.configJson},
                            std::pair{"tokenizer.json", &c.tokenizerJson}})
    if (std::string deep = bitttt::format::jsonDepthError(*text); !deep.empty())
      return makeError(std::string(what) + ": invalid JSON: " + deep);
  auto config = llvm::json::parse(c.configJson);
  if (!config)
    return config.takeError();
  llvm::json::Value tokenizer = nullptr;
  if (!c.tokenizerJson.empty()) {
    auto parsed = llvm::json::parse(c.tokenizerJson);
    if (!parsed)
      return makeError("tokenizer.json: " + llvm::toString(parsed.takeError()));
    tokenizer = std::move(*parsed);
  }
  llvm::json::Object header{
      {"config", std::move(*config)},
      {"tokenizer", std::move(tokenizer)},
      {"bitttt", llvm::json::Object{{"format_version", 2},
                                    {"abi_version", c.abi.version},
                                    {"packed", std::move(packedIndex)},
                                    {"lm_head", lmHead.header()},
                                    {"artifacts", std::move(artifacts)},
                                    {"functions", std::move(functions)},
                                    {"state", std::move(stateIndex)},
                                    {"train", std::move(train)}}}};
  std::string headerText;
  llvm::raw_string_ostream os(headerText);
  os << llvm::json::Value(std::move(header));
  format::WriteOptions options;
  options.threads = c.threads;
  format::Status status =
      format::writeBittV2(path.str(), headerText, tensors, {}, options);
  if (!status)
    return makeError(status.message());
  return Error::success();
}

} // namespace

Error bitttt::writeBitt(llvm::StringRef path, const BittContents &contents) {
  return Writer(contents).write(path);
}
