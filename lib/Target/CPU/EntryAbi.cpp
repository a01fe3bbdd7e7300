//===- EntryAbi.cpp - the description of a CPU artifact's entry points ----===//
#include "bitttt/Target/CPU/EntryAbi.h"
#include "bitttt/Format/JsonDepth.h"
#include "bitttt/Target/CPU/ArtifactAbi.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

using namespace bitttt;
using llvm::json::Array;
using llvm::json::Object;
using llvm::json::Value;

namespace {

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

llvm::Expected<AbiBuffer> parseBuffer(const Value &v, const std::string &at) {
  const Object *o = v.getAsObject();
  if (!o)
    return makeError(at + " is not an object");
  AbiBuffer b;
  for (auto [key, out] :
       {std::pair{"role", &b.role}, {"name", &b.name}, {"dtype", &b.dtype}}) {
    auto s = o->getString(key);
    if (!s)
      return makeError(at + "." + key + " is missing or not a string");
    *out = s->str();
  }
  const Array *shape = o->getArray("shape");
  if (!shape)
    return makeError(at + ".shape is missing or not an array");
  for (const Value &d : *shape) {
    auto n = d.getAsInteger();
    if (!n || *n < 0)
      return makeError(at + ".shape holds a value that is not a size");
    b.shape.push_back(*n);
  }
  if (const Array *range = o->getArray("range")) {
    if (range->size() != 2 || !(*range)[0].getAsInteger() ||
        !(*range)[1].getAsInteger())
      return makeError(at + ".range is not [lo, hi]");
    b.range = {*(*range)[0].getAsInteger(), *(*range)[1].getAsInteger()};
  }
  if (const Object *packed = o->getObject("packed")) {
    auto weight = packed->getString("weight"), part = packed->getString("part"),
         layout = packed->getString("layout");
    if (!weight || !part || !layout)
      return makeError(at + ".packed needs weight, part and layout");
    b.packedWeight = weight->str();
    b.packedPart = part->str();
    b.packedLayout = layout->str();
  }
  return b;
}

} // namespace

const AbiFunction *EntryAbi::function(llvm::StringRef name) const {
  for (const AbiFunction &f : functions)
    if (f.name == name)
      return &f;
  return nullptr;
}

llvm::StringRef bitttt::entryAbiSymbol() { return BITTTT_ARTIFACT_ABI_SYMBOL; }

Value bitttt::toJson(const AbiBuffer &b) {
  Array shape;
  for (int64_t d : b.shape)
    shape.push_back(d);
  Object o{{"role", b.role},
           {"name", b.name},
           {"dtype", b.dtype},
           {"shape", std::move(shape)}};
  if (b.range)
    o["range"] = Array{b.range->first, b.range->second};
  if (!b.packedWeight.empty())
    o["packed"] = Object{{"weight", b.packedWeight},
                         {"part", b.packedPart},
                         {"layout", b.packedLayout}};
  return o;
}

Value bitttt::toJson(const EntryAbi &abi) {
  Object functions;
  for (const AbiFunction &f : abi.functions) {
    Array inputs, outputs;
    for (const AbiBuffer &b : f.inputs)
      inputs.push_back(toJson(b));
    for (const AbiBuffer &b : f.outputs)
      outputs.push_back(toJson(b));
    functions[f.name] = Object{{"symbol", f.symbol},
                               {"inputs", std::move(inputs)},
                               {"outputs", std::move(outputs)}};
  }
  return Object{{"abi_version", abi.version},
                {"functions", std::move(functions)}};
}

llvm::Expected<EntryAbi> bitttt::parseEntryAbi(llvm::StringRef text) {
  if (std::string deep = format::jsonDepthError({text.data(), text.size()});
      !deep.empty())
    return makeError("the entry ABI description is not JSON we read: " + deep);
  llvm::Expected<Value> parsed = llvm::json::parse(text);
  if (!parsed)
    return makeError("the entry ABI description is not JSON: " +
                     llvm::toString(parsed.takeError()));
  const Object *root = parsed->getAsObject();
  if (!root)
    return makeError("the entry ABI description is not a JSON object");
  EntryAbi abi;
  auto version = root->getInteger("abi_version");
  if (!version)
    return makeError("the entry ABI description has no abi_version");
  abi.version = int(*version);
  const Object *functions = root->getObject("functions");
  if (!functions)
    return makeError("the entry ABI description has no functions");
  for (const auto &[name, value] : *functions) {
    std::string at = "functions." + name.str();
    const Object *fn = value.getAsObject();
    if (!fn)
      return makeError(at + " is not an object");
    AbiFunction f;
    f.name = name.str();
    auto symbol = fn->getString("symbol");
    if (!symbol)
      return makeError(at + ".symbol is missing");
    f.symbol = symbol->str();
    for (auto [key, out] :
         {std::pair{"inputs", &f.inputs}, {"outputs", &f.outputs}}) {
      const Array *list = fn->getArray(key);
      if (!list)
        return makeError(at + "." + key + " is missing");
      for (auto [i, v] : llvm::enumerate(*list)) {
        auto b = parseBuffer(v, at + "." + key + "[" + std::to_string(i) + "]");
        if (!b)
          return b.takeError();
        out->push_back(std::move(*b));
      }
    }
    abi.functions.push_back(std::move(f));
  }
  return abi;
}

llvm::Expected<EntryAbi> bitttt::readEntryAbi(mlir::ModuleOp module) {
  auto global = module.lookupSymbol<mlir::LLVM::GlobalOp>(entryAbiSymbol());
  if (!global)
    return makeError("the lowered module has no @" + entryAbiSymbol() +
                     " (run bitttt-emit-entry-points)");
  auto text = llvm::dyn_cast_or_null<mlir::StringAttr>(global.getValueOrNull());
  if (!text)
    return makeError("@" + entryAbiSymbol() + " is not a string constant");
  // The global holds the JSON and its terminating NUL.
  return parseEntryAbi(text.getValue().drop_back());
}
