//===- ModelSpec.cpp - parsing "bitttt.functions/state/artifacts" ---------===//
//
// Everything a call will rely on is checked here, once, so that a session
// can hand raw pointers to compiled code: every tensor input exists with
// exactly the listed dtype and shape, every state value has one dtype and
// shape across functions and an init that matches, "prefill"/"decode" have
// the ids and logits buffers the session fills and reads.
//
//===----------------------------------------------------------------------===//
#include "ModelSpec.h"
#include "bitttt/Target/CPU/ArtifactAbi.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <limits>
#include <set>

using bitttt::format::BittFile;
using bitttt::format::ErrorCode;
using bitttt::format::Status;
using nlohmann::json;

namespace bitttt::rt {

size_t ModelSpec::stateIndex(const std::string &name) const {
  for (size_t i = 0; i < states.size(); ++i)
    if (states[i].name == name)
      return i;
  return states.size();
}

namespace {

std::string quote(const std::string &s) { return "'" + s + "'"; }

/// Parses the header sections; `file_` names the file in every message.
class SpecParser {
public:
  SpecParser(const BittFile &file, ModelSpec &spec)
      : file_(file), spec_(spec) {}

  Status parse();

private:
  Status error(const std::string &message) const {
    return Status::error(ErrorCode::Format, file_.path() + ": " + message);
  }
  Status fieldError(const std::string &field, const std::string &what) const {
    return error("header field " + quote(field) + " " + what);
  }
  /// `section[key]` as an object, or an error naming `field`.
  Status object(const json &parent, const char *key, const std::string &field,
                const json *&out) const;
  Status parseVocab(const json &header);
  Status parseStates(const json &states);
  Status parseFunction(const std::string &name, const json &fn);
  Status parseBuffer(const std::string &field, const json &entry, bool isOutput,
                     BufferSpec &out);
  Status checkIO(FunctionSpec &fn);
  Status checkStateUse(const std::string &field, BufferSpec &buffer);
  Status parseArtifacts(const json &artifacts);
  /// "bitttt.lm_head" (optional: absent means f32) against every buffer of
  /// prefill/decode that is the LM head or one of its parts.
  Status parseLMHead(const json &bitttt);
  /// The optional "range" [lo, hi) of `entry` (integers, lo < hi).
  Status parseRange(const std::string &field, const json &entry,
                    std::optional<std::pair<int64_t, int64_t>> &out) const;

  const BittFile &file_;
  ModelSpec &spec_;
  std::set<std::string> usedStates_;
  /// Where each state's dtype/shape was first seen (for messages).
  std::map<std::string, std::string> stateDefinedAt_;
};

Status SpecParser::object(const json &parent, const char *key,
                          const std::string &field, const json *&out) const {
  auto it = parent.find(key);
  if (it == parent.end())
    return fieldError(field, "is missing");
  if (!it->is_object())
    return fieldError(field, "is " + std::string(it->type_name()) +
                                 ", expected an object");
  out = &*it;
  return Status::ok();
}

Status SpecParser::parse() {
  if (file_.version() != 2)
    return error(std::string("not a compiled model: ") +
                 (file_.version() == 0 ? "a plain .safetensors file"
                                       : "a .bitt v1 file") +
                 " has no compiled functions (run bitttt-compile)");
  json header = json::parse(file_.headerJson(), nullptr, false);
  if (header.is_discarded() || !header.is_object())
    return error("the header is not a JSON object");
  if (Status s = parseVocab(header); !s)
    return s;
  const json *bitttt = nullptr, *functions = nullptr, *states = nullptr,
             *artifacts = nullptr;
  if (Status s = object(header, "bitttt", "bitttt", bitttt); !s)
    return s;
  if (!bitttt->contains("functions"))
    return error("not a compiled model: header field 'bitttt.functions' is "
                 "missing (run bitttt-compile)");
  if (Status s = object(*bitttt, "functions", "bitttt.functions", functions);
      !s)
    return s;
  if (Status s = object(*bitttt, "state", "bitttt.state", states); !s)
    return s;
  if (Status s = object(*bitttt, "artifacts", "bitttt.artifacts", artifacts);
      !s)
    return s;
  if (Status s = parseStates(*states); !s)
    return s;
  if (!functions->contains("decode"))
    return fieldError("bitttt.functions.decode", "is missing");
  for (const auto &[name, fn] : functions->items())
    if (Status s = parseFunction(name, fn); !s)
      return s;
  for (const StateSpec &state : spec_.states) {
    if (!usedStates_.count(state.name))
      return fieldError("bitttt.state." + state.name,
                        "names a state no function takes or returns");
    if (state.init) {
      std::string field = "bitttt.state." + state.name + ".init";
      const format::TensorInfo &t = *state.init;
      if (t.dtype != state.dtype || t.shape != state.shape)
        return fieldError(field, "tensor " + quote(t.name) + " is " + t.dtype +
                                     " " + shapeText(t.shape) +
                                     ", but the state is " + state.dtype + " " +
                                     shapeText(state.shape) + " (" +
                                     stateDefinedAt_[state.name] + ")");
    }
  }
  if (Status s = parseLMHead(*bitttt); !s)
    return s;
  return parseArtifacts(*artifacts);
}

Status SpecParser::parseLMHead(const json &bitttt) {
  using format::LMHeadFormat;
  const std::string field = "bitttt.lm_head";
  auto head = bitttt.find("lm_head");
  std::map<std::string, std::string> parts; // part -> tensor
  int64_t rows = spec_.vocab, cols = -1;
  if (head != bitttt.end() && !head->is_null()) {
    if (!head->is_object())
      return fieldError(field, "is " + head->dump() + ", expected an object");
    auto fmt = head->find("format");
    if (fmt == head->end() || !fmt->is_string() ||
        !format::parseLMHeadFormat(fmt->get<std::string>(), spec_.lmHead))
      return fieldError(field + ".format",
                        "is " + (fmt == head->end() ? "missing" : fmt->dump()) +
                            ", expected \"f32\", \"bf16\" or \"int8\"");
    auto r = head->find("rows"), c = head->find("cols");
    if (r == head->end() || !r->is_number_unsigned() ||
        r->get<int64_t>() != spec_.vocab)
      return fieldError(field + ".rows",
                        "is " + (r == head->end() ? "missing" : r->dump()) +
                            ", expected config.vocab_size " +
                            std::to_string(spec_.vocab));
    if (c == head->end() || !c->is_number_unsigned() ||
        c->get<uint64_t>() == 0 ||
        c->get<uint64_t>() > uint64_t(std::numeric_limits<int32_t>::max()))
      return fieldError(field + ".cols",
                        "is " + (c == head->end() ? "missing" : c->dump()) +
                            ", expected a positive integer");
    cols = c->get<int64_t>();
    auto p = head->find("parts");
    if (p == head->end() || !p->is_object())
      return fieldError(field + ".parts", "is missing or not an object");
    for (const auto &[part, tensor] : p->items()) {
      if (!tensor.is_string())
        return fieldError(field + ".parts." + part,
                          "is " + tensor.dump() + ", expected a tensor name");
      parts[part] = tensor.get<std::string>();
    }
  }
  // What each part of this format is.
  bool f32 = spec_.lmHead == LMHeadFormat::F32;
  std::map<std::string, std::pair<std::string, std::vector<int64_t>>> want;
  if (f32)
    want["values"] = {"F32", {rows, cols}};
  else
    want["values"] = {spec_.lmHead == LMHeadFormat::BF16 ? "BF16" : "I8",
                      {rows, cols}};
  if (spec_.lmHead == LMHeadFormat::Int8) {
    want["row_scale"] = {"F32", {rows}};
    want["row_sum"] = {"I32", {rows}};
  }
  if (!parts.empty())
    for (const auto &[part, unused] : parts)
      if (!want.count(part))
        return fieldError(field + ".parts." + part,
                          std::string("is not a part of the ") +
                              format::lmHeadFormatName(spec_.lmHead) +
                              " LM head");
  const std::string layout = format::lmHeadLayout(spec_.lmHead);
  for (const char *name : {"prefill", "decode"}) {
    auto fn = spec_.functions.find(name);
    if (fn == spec_.functions.end())
      continue;
    std::set<std::string> seen;
    for (size_t i = 0; i < fn->second.inputs.size(); ++i) {
      const BufferSpec &b = fn->second.inputs[i];
      std::string where = "bitttt.functions." + std::string(name) + ".inputs[" +
                          std::to_string(i) + "]";
      bool isPart = b.packedWeight == "lm_head.weight";
      bool isLatent = b.packedWeight.empty() && b.name == "lm_head.weight";
      if (!isPart && !isLatent)
        continue;
      if (isPart != !f32 || (isPart && b.packedLayout != layout))
        return fieldError(where, "is " + quote(b.name) + " (layout " +
                                     quote(b.packedLayout) + "), but " + field +
                                     ".format says the LM head is " +
                                     format::lmHeadFormatName(spec_.lmHead));
      std::string part = isPart ? b.packedPart : "values";
      auto w = want.find(part);
      if (w == want.end())
        return fieldError(where + ".packed.part",
                          "is " + quote(part) + ", not a part of the " +
                              format::lmHeadFormatName(spec_.lmHead) +
                              " LM head");
      std::vector<int64_t> shape = w->second.second;
      if (cols < 0 && part == "values" && b.shape.size() == 2)
        shape[1] = cols = b.shape[1]; // a file without the field
      if (b.dtype != w->second.first || b.shape != shape)
        return fieldError(where, "is " + b.dtype + " " + shapeText(b.shape) +
                                     ", but the " +
                                     format::lmHeadFormatName(spec_.lmHead) +
                                     " LM head's " + part + " is " +
                                     w->second.first + " " + shapeText(shape));
      if (!parts.empty() && parts[part] != b.name)
        return fieldError(where + ".name", "is " + quote(b.name) + ", but " +
                                               field + ".parts." + part +
                                               " names " + quote(parts[part]));
      seen.insert(part);
    }
    if (!f32 || !parts.empty())
      for (const auto &[part, unused] : want)
        if (!seen.count(part))
          return fieldError(
              "bitttt.functions." + std::string(name) + ".inputs",
              "lacks the " +
                  std::string(format::lmHeadFormatName(spec_.lmHead)) +
                  " LM head's " + part + " (" + field + ")");
  }
  return Status::ok();
}

Status
SpecParser::parseRange(const std::string &field, const json &entry,
                       std::optional<std::pair<int64_t, int64_t>> &out) const {
  auto it = entry.find("range");
  if (it == entry.end())
    return Status::ok();
  const json &r = *it;
  if (!r.is_array() || r.size() != 2 || !r[0].is_number_integer() ||
      !r[1].is_number_integer() || r[0].get<int64_t>() >= r[1].get<int64_t>())
    return fieldError(field + ".range",
                      "is " + r.dump() + ", expected [lo, hi] with lo < hi");
  out = std::pair{r[0].get<int64_t>(), r[1].get<int64_t>()};
  return Status::ok();
}

Status SpecParser::parseVocab(const json &header) {
  const json *config = nullptr;
  if (Status s = object(header, "config", "config", config); !s)
    return s;
  auto v = config->find("vocab_size");
  if (v == config->end())
    return fieldError("config.vocab_size", "is missing");
  if (!v->is_number_unsigned() || v->get<uint64_t>() == 0 ||
      v->get<uint64_t>() > uint64_t(std::numeric_limits<int32_t>::max()))
    return fieldError("config.vocab_size", "is " + v->dump() +
                                               ", expected a positive 32-bit "
                                               "integer");
  spec_.vocab = v->get<int64_t>();
  return Status::ok();
}

Status SpecParser::parseStates(const json &states) {
  // json objects iterate in key order: states come out sorted by name.
  for (const auto &[name, entry] : states.items()) {
    std::string field = "bitttt.state." + name;
    if (!entry.is_object())
      return fieldError(field, "is " + std::string(entry.type_name()) +
                                   ", expected an object");
    auto init = entry.find("init");
    if (init == entry.end())
      return fieldError(field + ".init", "is missing");
    if (!init->is_string())
      return fieldError(field + ".init", "is " + init->dump() +
                                             ", expected \"zeros\" or a "
                                             "tensor name");
    StateSpec state;
    state.name = name;
    if (Status s = parseRange(field, entry, state.headerRange); !s)
      return s;
    std::string initName = init->get<std::string>();
    if (initName != "zeros") {
      state.init = file_.find(initName);
      if (!state.init)
        return fieldError(field + ".init", "names tensor " + quote(initName) +
                                               ", which the file lacks");
    }
    spec_.states.push_back(std::move(state));
  }
  return Status::ok();
}

Status SpecParser::parseBuffer(const std::string &field, const json &entry,
                               bool isOutput, BufferSpec &out) {
  if (!entry.is_object())
    return fieldError(field, "is " + std::string(entry.type_name()) +
                                 ", expected an object");
  for (const char *key : {"role", "name", "dtype", "shape"})
    if (!entry.contains(key))
      return fieldError(field + "." + key, "is missing");
  const json &role = entry["role"], &name = entry["name"],
             &dtype = entry["dtype"], &shape = entry["shape"];
  if (role == "io")
    out.role = Role::IO;
  else if (role == "tensor")
    out.role = Role::Tensor;
  else if (role == "state")
    out.role = Role::State;
  else
    return fieldError(field + ".role", "is " + role.dump() +
                                           ", expected \"io\", \"tensor\" or "
                                           "\"state\"");
  if (!name.is_string() || name.get<std::string>().empty())
    return fieldError(field + ".name",
                      "is " + name.dump() + ", expected a non-empty string");
  out.name = name.get<std::string>();
  if (!dtype.is_string() || format::dtypeSize(dtype.get<std::string>()) == 0)
    return fieldError(field + ".dtype",
                      "is " + dtype.dump() + ", expected a safetensors dtype");
  out.dtype = dtype.get<std::string>();
  if (!shape.is_array())
    return fieldError(field + ".shape",
                      "is " + shape.dump() + ", expected an array");
  for (const json &dim : shape) {
    if (!dim.is_number_unsigned() ||
        dim.get<uint64_t>() > uint64_t(std::numeric_limits<int32_t>::max()))
      return fieldError(field + ".shape", "is " + shape.dump() +
                                              ", expected non-negative "
                                              "integers");
    out.shape.push_back(dim.get<int64_t>());
  }
  if (!format::shapeBytes(out.shape, out.dtype, out.nbytes))
    return fieldError(field + ".shape",
                      "is " + shape.dump() + ", which overflows");
  if (Status s = parseRange(field, entry, out.range); !s)
    return s;
  if (auto packed = entry.find("packed"); packed != entry.end()) {
    auto str = [&](const char *key, std::string &dst) {
      auto v = packed->is_object() ? packed->find(key) : packed->end();
      if (!packed->is_object() || v == packed->end() || !v->is_string())
        return false;
      dst = v->get<std::string>();
      return true;
    };
    if (!str("weight", out.packedWeight) || !str("part", out.packedPart) ||
        !str("layout", out.packedLayout))
      return fieldError(field + ".packed", "is " + packed->dump() +
                                               ", expected {weight, part, "
                                               "layout} strings");
  }
  std::string what = quote(out.name) + " (" + field + ")";
  if (out.role == Role::Tensor) {
    if (isOutput)
      return fieldError(field + ".role",
                        "is \"tensor\": tensors are inputs only");
    out.tensor = file_.find(out.name);
    if (!out.tensor)
      return error("tensor " + what + " is missing from the file");
    if (out.tensor->dtype != out.dtype || out.tensor->shape != out.shape)
      return error("tensor " + what + " is " + out.tensor->dtype + " " +
                   shapeText(out.tensor->shape) + " in the file, expected " +
                   out.dtype + " " + shapeText(out.shape));
  }
  return Status::ok();
}

Status SpecParser::checkStateUse(const std::string &field, BufferSpec &buffer) {
  buffer.state = spec_.stateIndex(buffer.name);
  if (buffer.state == spec_.states.size())
    return error("state " + quote(buffer.name) + " (" + field +
                 ") has no entry in 'bitttt.state'");
  StateSpec &state = spec_.states[buffer.state];
  if (usedStates_.insert(buffer.name).second) {
    state.dtype = buffer.dtype;
    state.shape = buffer.shape;
    state.nbytes = buffer.nbytes;
    stateDefinedAt_[buffer.name] = field;
    return Status::ok();
  }
  if (state.dtype != buffer.dtype || state.shape != buffer.shape)
    return error("state " + quote(buffer.name) + " is " + buffer.dtype + " " +
                 shapeText(buffer.shape) + " in " + field + " but " +
                 state.dtype + " " + shapeText(state.shape) + " in " +
                 stateDefinedAt_[buffer.name]);
  return Status::ok();
}

Status SpecParser::parseFunction(const std::string &name, const json &entry) {
  std::string field = "bitttt.functions." + name;
  if (!entry.is_object())
    return fieldError(field, "is " + std::string(entry.type_name()) +
                                 ", expected an object");
  FunctionSpec fn;
  fn.name = name;
  for (const char *key : {"symbol", "tokens", "inputs", "outputs"})
    if (!entry.contains(key))
      return fieldError(field + "." + key, "is missing");
  const json &symbol = entry["symbol"], &tokens = entry["tokens"];
  if (!symbol.is_string() || symbol.get<std::string>().empty())
    return fieldError(field + ".symbol",
                      "is " + symbol.dump() + ", expected a symbol name");
  fn.symbol = symbol.get<std::string>();
  if (!tokens.is_number_unsigned() || tokens.get<uint64_t>() == 0 ||
      tokens.get<uint64_t>() > uint64_t(BITTTT_MAX_CALL_TOKENS))
    return fieldError(field + ".tokens",
                      "is " + tokens.dump() +
                          ", expected a positive integer <= 2^24 (" +
                          std::to_string(BITTTT_MAX_CALL_TOKENS) + ")");
  fn.tokens = tokens.get<int64_t>();
  if (name == "decode" && fn.tokens != 1)
    return fieldError(field + ".tokens",
                      "is " + tokens.dump() + ", decode takes 1 token");
  for (bool isOutput : {false, true}) {
    const char *list = isOutput ? "outputs" : "inputs";
    const json &items = entry[list];
    if (!items.is_array())
      return fieldError(field + "." + list, "is " +
                                                std::string(items.type_name()) +
                                                ", expected an array");
    std::vector<BufferSpec> &buffers = isOutput ? fn.outputs : fn.inputs;
    std::set<std::string> seen;
    for (size_t i = 0; i < items.size(); ++i) {
      std::string where = field + "." + list + "[" + std::to_string(i) + "]";
      BufferSpec buffer;
      if (Status s = parseBuffer(where, items[i], isOutput, buffer); !s)
        return s;
      if (!seen.insert(buffer.name).second)
        return fieldError(where + ".name", "repeats " + quote(buffer.name) +
                                               " in " + field + "." + list);
      if (buffer.role == Role::State)
        if (Status s = checkStateUse(where, buffer); !s)
          return s;
      buffers.push_back(std::move(buffer));
    }
  }
  if (name == "prefill" || name == "decode")
    if (Status s = checkIO(fn); !s)
      return s;
  spec_.functions.emplace(name, std::move(fn));
  return Status::ok();
}

/// prefill/decode: exactly the io buffers the session provides, "ids" I32
/// [tokens] in and "logits" F32 [tokens, vocab] out.
Status SpecParser::checkIO(FunctionSpec &fn) {
  std::string field = "bitttt.functions." + fn.name;
  bool haveIds = false, haveLogits = false;
  std::vector<int64_t> idsShape = {fn.tokens},
                       logitsShape = {fn.tokens, spec_.vocab};
  for (size_t i = 0; i < fn.inputs.size() + fn.outputs.size(); ++i) {
    bool isOutput = i >= fn.inputs.size();
    const BufferSpec &b =
        isOutput ? fn.outputs[i - fn.inputs.size()] : fn.inputs[i];
    if (b.role != Role::IO)
      continue;
    std::string where = field + (isOutput ? ".outputs[" : ".inputs[") +
                        std::to_string(isOutput ? i - fn.inputs.size() : i) +
                        "]";
    const char *expectedName = isOutput ? "logits" : "ids";
    const char *dtype = isOutput ? "F32" : "I32";
    const std::vector<int64_t> &shape = isOutput ? logitsShape : idsShape;
    if (b.name != expectedName)
      return fieldError(where, "is io buffer " + quote(b.name) + "; " +
                                   fn.name + " " +
                                   (isOutput ? "returns" : "takes") +
                                   " only '" + expectedName + "'");
    if (b.dtype != dtype || b.shape != shape)
      return fieldError(
          where, "is " + b.dtype + " " + shapeText(b.shape) + ", expected " +
                     dtype + " " + shapeText(shape) + " (tokens " +
                     std::to_string(fn.tokens) + ", config.vocab_size " +
                     std::to_string(spec_.vocab) + ")");
    (isOutput ? haveLogits : haveIds) = true;
    (isOutput ? fn.logitsSlot : fn.idsSlot) = i;
  }
  if (!haveIds)
    return fieldError(field + ".inputs", "has no io buffer 'ids'");
  if (!haveLogits)
    return fieldError(field + ".outputs", "has no io buffer 'logits'");
  return Status::ok();
}

Status SpecParser::parseArtifacts(const json &artifacts) {
  // The container reader already checked "tensor" names a 1-D U8 tensor.
  for (const auto &[target, entry] : artifacts.items()) {
    ArtifactSpec artifact;
    artifact.target = target;
    if (!entry.is_object())
      return fieldError("bitttt.artifacts." + target, "is not an object");
    if (auto kind = entry.find("kind"); kind != entry.end()) {
      if (!kind->is_string())
        return fieldError("bitttt.artifacts." + target + ".kind",
                          "is " + kind->dump() + ", expected a string");
      artifact.kind = kind->get<std::string>();
    }
    // Checked by the container reader, but not trusted here either.
    auto tensor = entry.is_object() ? entry.find("tensor") : entry.end();
    if (tensor == entry.end() || !tensor->is_string())
      return fieldError("bitttt.artifacts." + target + ".tensor",
                        "is missing or not a string");
    artifact.tensor = file_.find(tensor->get<std::string>());
    if (!artifact.tensor)
      return fieldError("bitttt.artifacts." + target + ".tensor",
                        "names a tensor the file lacks");
    // Verified against the bytes when the artifact is loaded.
    if (auto sum = entry.find("xxh3_64");
        sum != entry.end() && sum->is_string())
      artifact.xxh3 = sum->get<std::string>();
    spec_.artifacts.emplace(target, std::move(artifact));
  }
  return Status::ok();
}

} // namespace

Status parseModelSpec(const BittFile &file, ModelSpec &out) {
  out = ModelSpec();
  return SpecParser(file, out).parse();
}

bool outOfRange(const StateSpec &state, const void *data, size_t &index,
                int64_t &value) {
  if (!state.range)
    return false;
  for (index = 0; index < state.nbytes / sizeof(int64_t); ++index) {
    std::memcpy(&value,
                static_cast<const char *>(data) + index * sizeof(int64_t),
                sizeof(int64_t));
    if (value < state.range->first || value >= state.range->second)
      return true;
  }
  return false;
}

} // namespace bitttt::rt
