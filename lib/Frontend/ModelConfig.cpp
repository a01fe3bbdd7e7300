//===- ModelConfig.cpp - config.json of a Bit-TTT model ---------*- C++ -*-===//
//
// A line-by-line port of python/bitttt_ref/config.py: the same checks in the
// same order and the same messages, so the C++ and Python readers name the
// same field for the same file (test/Frontend/config-matches-reference.test
// compares them). Values are seen as Python's json module sees them
// (PythonJson.h).
//
//===----------------------------------------------------------------------===//
#include "bitttt/Frontend/ModelConfig.h"
#include "PythonJson.h"
#include "bitttt/Format/BittFile.h"
#include "bitttt/Format/JsonDepth.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cmath>
#include <optional>
#include <string>

using namespace llvm;
using namespace bitttt;
using namespace bitttt::pyjson;

namespace {

//===----------------------------------------------------------------------===//
// The parser
//===----------------------------------------------------------------------===//

/// Config's fields between construction and validate(), as Python holds them.
struct RawConfig {
  PyValue vocabSize, hiddenDim, numLayers;
  PyValue intermediateDim; // None: 4 * hidden_dim
  PyValue rmsEps = PyValue::parse("1e-05");
  PyValue actBits = PyValue::ofInt(8);
  TTTVariant variant = TTTVariant::Linear;
  int64_t numHeads = 4;
  int64_t miniBatch = 16;
  double baseLr = 1.0;
  double innerLr = 0.1;
};

class ConfigParser {
public:
  explicit ConfigParser(StringRef fileName) : fileName(fileName) {}

  Expected<ModelConfig> parse(StringRef text);

private:
  Error fieldError(StringRef field, const Twine &message) const {
    return createStringError(
        inconvertibleErrorCode(),
        (fileName + ": field '" + field + "': " + message).str());
  }
  Error rootError(const Twine &message) const {
    return createStringError(inconvertibleErrorCode(),
                             (fileName + ": " + message).str());
  }

  // _int, _float of config.py.
  Expected<int64_t> checkInt(const PyValue &v, StringRef name,
                             int64_t minimum = 1) const;
  Expected<double> checkFloat(const PyValue &v, StringRef name, bool positive,
                              bool nonnegative) const;

  Expected<ModelConfig> parseNested(const OrderedObject &d) const;
  Expected<ModelConfig> parseFlat(const OrderedObject &d) const;
  Error parseTTT(const PyValue &t, RawConfig &raw) const;
  Expected<ModelConfig> validate(const RawConfig &raw) const;

  StringRef fileName;
};

Expected<int64_t> ConfigParser::checkInt(const PyValue &v, StringRef name,
                                         int64_t minimum) const {
  if (v.type() != PyType::Int)
    return fieldError(name, "must be an integer, got " + pyRepr(v));
  std::optional<int64_t> i = v.asInt();
  if (!i)
    return fieldError(name, v.text + " is too large");
  if (*i < minimum)
    return fieldError(name,
                      "must be >= " + Twine(minimum) + ", got " + Twine(*i));
  return *i;
}

Expected<double> ConfigParser::checkFloat(const PyValue &v, StringRef name,
                                          bool positive,
                                          bool nonnegative) const {
  if (v.type() != PyType::Int && v.type() != PyType::Float)
    return fieldError(name, "must be a number, got " + pyRepr(v));
  double d = v.asDouble();
  if (!std::isfinite(d))
    return fieldError(name, "must be finite, got " + pyFloat(d));
  if (positive && !(d > 0))
    return fieldError(name, "must be > 0, got " + pyFloat(d));
  if (nonnegative && d < 0)
    return fieldError(name, "must be >= 0, got " + pyFloat(d));
  return d;
}

Expected<ModelConfig> ConfigParser::parse(StringRef text) {
  if (std::string deep =
          bitttt::format::jsonDepthError({text.data(), text.size()});
      !deep.empty())
    return rootError("invalid JSON: " + deep);
  Expected<json::Value> root = json::parse(text);
  if (!root)
    return rootError("invalid JSON: " + toString(root.takeError()));
  if (root->kind() != json::Value::Object)
    return rootError(Twine("config must be a JSON object, got ") +
                     pyTypeName(PyValue{std::move(*root), text.trim().str()}));
  OrderedObject d = scanObject(text);
  const PyValue *arch = d.find("arch");
  if (d.has("ttt") || (arch && arch->isString("bitttt")))
    return parseNested(d);
  return parseFlat(d);
}

Error ConfigParser::parseTTT(const PyValue &t, RawConfig &raw) const {
  if (t.type() != PyType::Dict)
    return fieldError("ttt", "must be an object, got " + pyRepr(t));
  OrderedObject ttt = scanObject(t.text);
  if (const PyValue *variant = ttt.find("variant")) {
    if (variant->isString("linear"))
      raw.variant = TTTVariant::Linear;
    else if (variant->isString("seed"))
      raw.variant = TTTVariant::Seed;
    else
      return fieldError("ttt.variant",
                        "must be 'linear' or 'seed', got " + pyRepr(*variant));
  }
  bool linear = raw.variant == TTTVariant::Linear;
  static const StringRef linearKeys[] = {"variant", "num_heads", "mini_batch",
                                         "base_lr"};
  static const StringRef seedKeys[] = {"variant", "mini_batch", "inner_lr"};
  ArrayRef<StringRef> allowed =
      linear ? ArrayRef(linearKeys) : ArrayRef(seedKeys);
  ArrayRef<StringRef> other =
      linear ? ArrayRef(seedKeys) : ArrayRef(linearKeys);
  for (const Member &m : ttt.members) {
    if (llvm::is_contained(allowed, m.key))
      continue;
    if (llvm::is_contained(other, m.key))
      return fieldError("ttt." + m.key, Twine("not used by variant '") +
                                            (linear ? "linear" : "seed") + "'");
    return fieldError("ttt." + m.key, "unknown field");
  }
  if (!linear)
    raw.miniBatch = 1;
  auto readInt = [&](StringRef key, int64_t &out) -> Error {
    if (const PyValue *v = ttt.find(key)) {
      Expected<int64_t> i = checkInt(*v, ("ttt." + key).str());
      if (!i)
        return i.takeError();
      out = *i;
    }
    return Error::success();
  };
  auto readFloat = [&](StringRef key, double &out) -> Error {
    if (const PyValue *v = ttt.find(key)) {
      Expected<double> f = checkFloat(*v, ("ttt." + key).str(),
                                      /*positive=*/false, /*nonnegative=*/true);
      if (!f)
        return f.takeError();
      out = *f;
    }
    return Error::success();
  };
  if (linear) {
    if (Error e = readInt("num_heads", raw.numHeads))
      return e;
    if (Error e = readInt("mini_batch", raw.miniBatch))
      return e;
    return readFloat("base_lr", raw.baseLr);
  }
  if (Error e = readInt("mini_batch", raw.miniBatch))
    return e;
  return readFloat("inner_lr", raw.innerLr);
}

Expected<ModelConfig> ConfigParser::parseNested(const OrderedObject &d) const {
  static const StringRef known[] = {
      "arch",    "vocab_size", "hidden_dim", "num_layers", "intermediate_dim",
      "rms_eps", "act_bits",   "ttt"};
  for (const Member &m : d.members)
    if (!llvm::is_contained(known, m.key))
      return fieldError(m.key, "unknown field");
  if (const PyValue *arch = d.find("arch"); arch && !arch->isString("bitttt"))
    return fieldError("arch", "must be 'bitttt', got " + pyRepr(*arch));
  for (StringRef key : {"vocab_size", "hidden_dim", "num_layers"})
    if (!d.has(key))
      return fieldError(key, "missing required field");
  RawConfig raw;
  raw.vocabSize = *d.find("vocab_size");
  raw.hiddenDim = *d.find("hidden_dim");
  raw.numLayers = *d.find("num_layers");
  if (const PyValue *v = d.find("intermediate_dim"))
    raw.intermediateDim = *v;
  if (const PyValue *v = d.find("rms_eps"))
    raw.rmsEps = *v;
  if (const PyValue *v = d.find("act_bits"))
    raw.actBits = *v;
  const PyValue *ttt = d.find("ttt");
  if (Error e = parseTTT(ttt ? *ttt : PyValue::parse("{}"), raw))
    return std::move(e);
  return validate(raw);
}

Expected<ModelConfig> ConfigParser::parseFlat(const OrderedObject &d) const {
  // Groups of aliases, in the order config.py checks them.
  struct Group {
    StringRef field;
    SmallVector<StringRef, 3> names;
    PyValue RawConfig::*slot;
  };
  const Group groups[] = {
      {"hidden_dim", {"hidden_dim", "hidden_size"}, &RawConfig::hiddenDim},
      {"num_layers",
       {"num_layers", "num_hidden_layers", "n_layers"},
       &RawConfig::numLayers},
      {"intermediate_dim",
       {"intermediate_dim", "intermediate_size"},
       &RawConfig::intermediateDim},
      {"rms_eps", {"rms_norm_eps", "rms_eps"}, &RawConfig::rmsEps},
  };
  static const StringRef single[] = {"vocab_size", "inner_lr", "arch",
                                     "activation", "quantization"};
  // Fields of the original engine's config that do not change a TTT model's
  // numerics (attention/runtime options); accepted and ignored.
  static const StringRef ignored[] = {"n_gpu_layers",
                                      "n_heads",
                                      "num_attention_heads",
                                      "n_kv_heads",
                                      "num_key_value_heads",
                                      "rope_theta",
                                      "max_position_embeddings",
                                      "lm_head_cpu",
                                      "sliding_window",
                                      "attention_sink_size"};
  for (const Member &m : d.members) {
    bool isAlias = llvm::any_of(groups, [&](const Group &g) {
      return llvm::is_contained(g.names, m.key);
    });
    if (!isAlias && !llvm::is_contained(single, m.key) &&
        !llvm::is_contained(ignored, m.key))
      return fieldError(m.key, "unknown field");
  }
  if (const PyValue *arch = d.find("arch"); arch && !arch->isString("ttt"))
    return fieldError("arch", "flat (original engine) config must have arch "
                              "'ttt' or none, got " +
                                  pyRepr(*arch));
  if (const PyValue *act = d.find("activation");
      act && !act->isString("SiLU") && !act->isString("silu"))
    return fieldError("activation",
                      "only SiLU is supported, got " + pyRepr(*act));
  if (const PyValue *q = d.find("quantization"); q && q->type() != PyType::None)
    return fieldError("quantization",
                      "quantized original checkpoints are not supported");

  RawConfig raw;
  SmallVector<StringRef, 4> given; // canonical fields set from the file
  for (const Group &g : groups) {
    StringRef firstName;
    const PyValue *first = nullptr;
    for (StringRef name : g.names) {
      const PyValue *v = d.find(name);
      if (!v)
        continue;
      if (!first) {
        firstName = name;
        first = v;
      } else if (!pySame(*v, *first)) {
        return fieldError(name, "contradicts " + firstName + " (" + pyRepr(*v) +
                                    " != " + pyRepr(*first) + ")");
      }
    }
    if (first && first->type() != PyType::None) {
      raw.*g.slot = *first;
      given.push_back(g.field);
    }
  }
  // config.py lets `"hidden_dim": null` through this check and then fails
  // with a TypeError; a missing value is what that null means.
  for (StringRef key : {"vocab_size", "hidden_dim", "num_layers"})
    if (key == "vocab_size" ? !d.has(key) : !llvm::is_contained(given, key))
      return fieldError(key, "missing required field");
  raw.vocabSize = *d.find("vocab_size");
  const PyValue *innerLr = d.find("inner_lr");
  if (!innerLr)
    return fieldError("inner_lr",
                      "missing required field (flat original-engine config)");
  Expected<double> inner = checkFloat(*innerLr, "inner_lr", /*positive=*/false,
                                      /*nonnegative=*/true);
  if (!inner)
    return inner.takeError();
  raw.actBits = PyValue::ofInt(0);
  raw.variant = TTTVariant::Seed;
  raw.miniBatch = 1;
  raw.innerLr = *inner;
  Expected<ModelConfig> config = validate(raw);
  if (config)
    config->fromFlatConfig = true;
  return config;
}

Expected<ModelConfig> ConfigParser::validate(const RawConfig &raw) const {
  ModelConfig c;
  Expected<int64_t> vocab = checkInt(raw.vocabSize, "vocab_size");
  if (!vocab)
    return vocab.takeError();
  Expected<int64_t> hidden = checkInt(raw.hiddenDim, "hidden_dim");
  if (!hidden)
    return hidden.takeError();
  Expected<int64_t> layers = checkInt(raw.numLayers, "num_layers");
  if (!layers)
    return layers.takeError();
  c.vocabSize = *vocab;
  c.hiddenDim = *hidden;
  c.numLayers = *layers;
  if (raw.intermediateDim.type() == PyType::None) {
    if (MulOverflow<int64_t>(4, c.hiddenDim, c.intermediateDim))
      return fieldError("hidden_dim", raw.hiddenDim.text +
                                          " is too large (4 * hidden_dim "
                                          "overflows)");
  } else {
    Expected<int64_t> inter = checkInt(raw.intermediateDim, "intermediate_dim");
    if (!inter)
      return inter.takeError();
    c.intermediateDim = *inter;
  }
  Expected<double> eps = checkFloat(raw.rmsEps, "rms_eps", /*positive=*/true,
                                    /*nonnegative=*/false);
  if (!eps)
    return eps.takeError();
  c.rmsEps = *eps;
  // `act_bits not in (0, 8)`: Python compares by value, so 8.0 passes.
  PyType actType = raw.actBits.type();
  double bits = actType == PyType::Int || actType == PyType::Float
                    ? raw.actBits.asDouble()
                    : -1;
  if (bits != 0 && bits != 8)
    return fieldError("act_bits", "must be 0 or 8, got " + pyRepr(raw.actBits));
  c.actBits = static_cast<int64_t>(bits);
  c.variant = raw.variant;
  c.miniBatch = raw.miniBatch;
  c.numHeads = raw.numHeads;
  c.baseLr = raw.baseLr;
  c.innerLr = raw.innerLr;
  if (c.variant == TTTVariant::Linear) {
    if (c.hiddenDim % c.numHeads)
      return fieldError("ttt.num_heads", "hidden_dim " + Twine(c.hiddenDim) +
                                             " is not divisible by num_heads " +
                                             Twine(c.numHeads));
  } else if (c.hiddenDim % 4) {
    return fieldError("hidden_dim",
                      Twine(c.hiddenDim) +
                          " is not divisible by 4 (seed TTT uses d = "
                          "hidden_dim / 4)");
  }
  return c;
}

} // namespace

Expected<ModelConfig> bitttt::parseModelConfig(StringRef jsonText,
                                               StringRef fileName) {
  return ConfigParser(fileName).parse(jsonText);
}

Expected<ModelConfig> bitttt::loadModelConfig(StringRef path) {
  std::string text;
  if (bitttt::format::Status s =
          bitttt::format::readRegularFile(path.str(), text);
      !s)
    return createStringError(inconvertibleErrorCode(), s.message());
  return parseModelConfig(text, path);
}
