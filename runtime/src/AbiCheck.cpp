//===- AbiCheck.cpp - the artifact's ABI against the .bitt header ---------===//
#include "AbiCheck.h"

#include "bitttt/Format/JsonDepth.h"
#include "bitttt/Target/CPU/ArtifactAbi.h"

#include <nlohmann/json.hpp>

#include <cstring>

using bitttt::format::ErrorCode;
using bitttt::format::Status;
using nlohmann::json;

namespace bitttt::rt {
namespace {

using Range = std::optional<std::pair<int64_t, int64_t>>;

std::string quote(const std::string &s) { return "'" + s + "'"; }

std::string rangeText(const Range &r) {
  return r ? "[" + std::to_string(r->first) + ", " + std::to_string(r->second) +
                 ")"
           : "none";
}

/// One buffer of the artifact's description, as read.
struct ArtifactBuffer {
  std::string role, name, dtype;
  std::vector<int64_t> shape;
  Range range;
  std::string packedWeight, packedPart, packedLayout;
};

bool readBuffer(const json &j, ArtifactBuffer &out) {
  if (!j.is_object())
    return false;
  for (auto [key, dst] : {std::pair{"role", &out.role},
                          {"name", &out.name},
                          {"dtype", &out.dtype}}) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string())
      return false;
    *dst = it->get<std::string>();
  }
  auto shape = j.find("shape");
  if (shape == j.end() || !shape->is_array())
    return false;
  for (const json &d : *shape) {
    if (!d.is_number_unsigned())
      return false;
    out.shape.push_back(d.get<int64_t>());
  }
  if (auto r = j.find("range"); r != j.end()) {
    if (!r->is_array() || r->size() != 2 || !(*r)[0].is_number_integer() ||
        !(*r)[1].is_number_integer())
      return false;
    out.range = std::pair{(*r)[0].get<int64_t>(), (*r)[1].get<int64_t>()};
  }
  if (auto p = j.find("packed"); p != j.end()) {
    if (!p->is_object())
      return false;
    for (auto [key, dst] : {std::pair{"weight", &out.packedWeight},
                            {"part", &out.packedPart},
                            {"layout", &out.packedLayout}}) {
      auto it = p->find(key);
      if (it == p->end() || !it->is_string())
        return false;
      *dst = it->get<std::string>();
    }
  }
  return true;
}

class Checker {
public:
  Checker(const std::string &what, ModelSpec &spec) : what(what), spec(spec) {}

  Status check(const char *text, size_t size);

private:
  Status error(const std::string &message) const {
    return Status::error(ErrorCode::Format, what + ": " + message);
  }
  Status checkFunction(const FunctionSpec &fn, const json &described);
  Status checkBuffer(const std::string &where, const BufferSpec &header,
                     const ArtifactBuffer &code);

  const std::string &what;
  ModelSpec &spec;
  std::map<std::string, std::pair<Range, std::string>> stateRanges;
};

Status Checker::check(const char *text, size_t size) {
  if (size == 0 || std::memchr(text, '\0', size) == nullptr)
    return error(std::string("its ") + BITTTT_ARTIFACT_ABI_SYMBOL +
                 " description is not a NUL-terminated string");
  if (std::string deep = bitttt::format::jsonDepthError(text); !deep.empty())
    return error(std::string("its ") + BITTTT_ARTIFACT_ABI_SYMBOL +
                 " description " + deep);
  json abi = json::parse(text, text + std::strlen(text), nullptr,
                         /*allow_exceptions=*/false);
  if (abi.is_discarded() || !abi.is_object())
    return error(std::string("its ") + BITTTT_ARTIFACT_ABI_SYMBOL +
                 " description is not a JSON object");
  auto version = abi.find("abi_version");
  if (version == abi.end() || !version->is_number_integer())
    return error("its ABI description has no abi_version");
  if (version->get<int64_t>() != BITTTT_ARTIFACT_ABI_VERSION)
    return Status::error(
        ErrorCode::Unsupported,
        what + ": compiled for entry ABI " + version->dump() +
            ", this runtime calls ABI " +
            std::to_string(BITTTT_ARTIFACT_ABI_VERSION) +
            " (recompile the model with this release's bitttt-compile)");
  auto functions = abi.find("functions");
  if (functions == abi.end() || !functions->is_object())
    return error("its ABI description has no functions");
  for (const auto &[name, fn] : spec.functions) {
    auto described = functions->find(name);
    if (described == functions->end())
      return error("function " + quote(name) +
                   ": the header lists it, the artifact has no entry point "
                   "for it");
    if (Status s = checkFunction(fn, *described); !s)
      return s;
  }
  for (StateSpec &state : spec.states) {
    auto it = stateRanges.find(state.name);
    if (it != stateRanges.end())
      state.range = it->second.first;
    if (state.headerRange && state.headerRange != state.range)
      return error("state " + quote(state.name) + ": the header's range " +
                   rangeText(state.headerRange) + " is not the artifact's " +
                   rangeText(state.range));
  }
  return Status::ok();
}

Status Checker::checkFunction(const FunctionSpec &fn, const json &described) {
  std::string where = "function " + quote(fn.name);
  if (!described.is_object())
    return error(where + ": its ABI description is not an object");
  auto symbol = described.find("symbol");
  if (symbol == described.end() || !symbol->is_string() ||
      symbol->get<std::string>() != fn.symbol)
    return error(where + ": the header calls symbol " + quote(fn.symbol) +
                 ", the artifact's entry point is " +
                 (symbol != described.end() ? symbol->dump() : "unnamed"));
  for (bool output : {false, true}) {
    const char *list = output ? "outputs" : "inputs";
    const std::vector<BufferSpec> &header = output ? fn.outputs : fn.inputs;
    auto code = described.find(list);
    if (code == described.end() || !code->is_array())
      return error(where + ": its ABI description has no " + list);
    if (code->size() != header.size())
      return error(where + ": the header lists " +
                   std::to_string(header.size()) + " " + list +
                   ", the artifact was compiled for " +
                   std::to_string(code->size()));
    for (size_t i = 0; i < header.size(); ++i) {
      ArtifactBuffer buffer;
      std::string at = where + ": " + (output ? "output " : "input ") +
                       std::to_string(i) + " " + quote(header[i].name);
      if (!readBuffer((*code)[i], buffer))
        return error(at + ": its ABI description is malformed");
      if (Status s = checkBuffer(at, header[i], buffer); !s)
        return s;
    }
  }
  return Status::ok();
}

Status Checker::checkBuffer(const std::string &at, const BufferSpec &header,
                            const ArtifactBuffer &code) {
  static const char *const kRoles[] = {"io", "tensor", "state"};
  const std::string headerRole = kRoles[int(header.role)];
  auto differ = [&](const std::string &field, const std::string &h,
                    const std::string &c) {
    return error(at + ": the header says " +
                 (field.empty() ? "" : field + " ") + h +
                 ", the artifact was compiled for " + c);
  };
  if (headerRole != code.role)
    return differ("role", headerRole, code.role);
  if (header.name != code.name)
    return differ("name", quote(header.name), quote(code.name));
  if (header.dtype != code.dtype || header.shape != code.shape)
    return differ("", header.dtype + " " + shapeText(header.shape),
                  code.dtype + " " + shapeText(code.shape));
  if (header.range != code.range)
    return differ("range", rangeText(header.range), rangeText(code.range));
  auto packedText = [](const std::string &w, const std::string &p,
                       const std::string &l) {
    return w.empty() ? std::string("unpacked")
                     : "part " + p + " of " + quote(w) + " (" + l + ")";
  };
  if (header.packedWeight != code.packedWeight ||
      header.packedPart != code.packedPart ||
      header.packedLayout != code.packedLayout)
    return differ(
        "packing",
        packedText(header.packedWeight, header.packedPart, header.packedLayout),
        packedText(code.packedWeight, code.packedPart, code.packedLayout));
  if (code.role == "state") {
    auto [it, fresh] =
        stateRanges.emplace(code.name, std::pair{code.range, at});
    if (!fresh && it->second.first != code.range)
      return error(at + ": range " + rangeText(code.range) + " differs from " +
                   rangeText(it->second.first) + " in " + it->second.second);
  }
  return Status::ok();
}

} // namespace

Status checkArtifactAbi(const std::string &what, const char *text, size_t size,
                        ModelSpec &spec) {
  return Checker(what, spec).check(text, size);
}

Status checkStateInits(const std::string &file, const ModelSpec &spec) {
  for (const StateSpec &state : spec.states) {
    if (!state.range || !state.init)
      continue;
    if (state.dtype != "I64")
      return Status::error(ErrorCode::Format,
                           file + ": state " + quote(state.name) +
                               " has a range but is " + state.dtype +
                               " (ranges are for I64 states)");
    size_t i;
    int64_t v;
    if (outOfRange(state, state.init->data, i, v))
      return Status::error(
          ErrorCode::Format,
          file + ": state " + quote(state.name) + " starts from tensor " +
              quote(state.init->name) + " whose value " + std::to_string(v) +
              " is outside the state's range " + rangeText(state.range));
  }
  return Status::ok();
}

} // namespace bitttt::rt
