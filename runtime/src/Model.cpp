//===- Model.cpp - bitttt_model_*: load, pick the artifact, resolve -------===//
//
// Loading order: map and validate the container, parse and validate the
// compiled-model header sections against it, pick the artifact for this CPU
// (or the forced target), dlopen it from memory and resolve every
// function's symbol. Only then does the model exist, so a session never sees
// a half-checked model.
//
//===----------------------------------------------------------------------===//
#include "Model.h"
#include "AbiCheck.h"
#include "CApi.h"
#include "bitttt/Target/X86/CpuTarget.h"

#include <nlohmann/json.hpp>

#include <cstring>

using bitttt::format::BittFile;
using bitttt::format::ErrorCode;
using bitttt::format::Status;
using namespace bitttt::rt;

namespace {

std::string quote(const std::string &s) { return "'" + s + "'"; }

/// bitttt_exec.parallel_for over the model's pool: compiled loops get the
/// same n_threads chunks whichever thread calls (docs/abi.md).
void poolParallelFor(void *ctx, int64_t n, bitttt_loop_body body,
                     void *closure) {
  if (n <= 0)
    return;
  static_cast<ThreadPool *>(ctx)->parallelFor(
      size_t(n), 1, [&](size_t, size_t begin, size_t end) {
        body(closure, int64_t(begin), int64_t(end));
      });
}

/// Targets this CPU runs, best first ({} when not even x86-64-v3).
std::vector<std::string> supportedTargets() {
  uint32_t features = bitttt_cpu_features();
  std::vector<std::string> out;
  for (const bitttt::x86::CpuTarget &t : bitttt::x86::kCpuTargets)
    if ((features & t.requires) == t.requires)
      out.push_back(t.name);
  return out;
}

std::string join(const std::vector<std::string> &items) {
  std::string out;
  for (const std::string &s : items)
    out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "none" : out;
}

std::string artifactList(const ModelSpec &spec) {
  std::vector<std::string> items;
  for (const auto &[target, a] : spec.artifacts)
    items.push_back(target + " (" + (a.kind.empty() ? "no kind" : a.kind) +
                    ")");
  return items.empty() ? "no artifacts" : join(items);
}

Status chooseArtifact(const std::string &path, const ModelSpec &spec,
                      const char *forced, const ArtifactSpec *&out) {
  std::vector<std::string> supported = supportedTargets();
  auto usable = [&](const std::string &target) -> const ArtifactSpec * {
    auto it = spec.artifacts.find(target);
    return it != spec.artifacts.end() && it->second.kind == "elf-so"
               ? &it->second
               : nullptr;
  };
  if (forced) {
    std::string target = forced;
    if (!bitttt::x86::lookupCpuTarget(target))
      return Status::error(ErrorCode::InvalidArgument,
                           "params.target " + quote(target) +
                               " is not a CPU target (known: " +
                               bitttt::x86::cpuTargetNames() + ")");
    bool runs = false;
    for (const std::string &t : supported)
      runs = runs || t == target;
    if (!runs)
      return Status::error(ErrorCode::Unsupported,
                           "params.target " + quote(target) +
                               " does not run on this CPU (it supports: " +
                               join(supported) + ")");
    out = usable(target);
    if (!out)
      return Status::error(ErrorCode::Unsupported,
                           path + ": no elf-so artifact for target " +
                               quote(target) + " (the file has " +
                               artifactList(spec) + ")");
    return Status::ok();
  }
  for (const std::string &t : supported)
    if ((out = usable(t)))
      return Status::ok();
  return Status::error(
      ErrorCode::Unsupported,
      path + ": no artifact for this CPU (it runs: " + join(supported) +
          "; the file has " + artifactList(spec) + ")");
}

/// The header's "tokenizer" (an object or null), named in errors as the
/// file's field.
Status loadHeaderTokenizer(const BittFile &file,
                           std::unique_ptr<bitttt_tokenizer> &out) {
  nlohmann::json header =
      nlohmann::json::parse(file.headerJson(), nullptr, false);
  if (header.is_discarded() || !header.is_object())
    return Status::error(ErrorCode::Format,
                         file.path() + ": the header is not a JSON object");
  auto it = header.find("tokenizer");
  if (it == header.end() || it->is_null())
    return Status::ok();
  return loadTokenizer(*it, file.path(), "tokenizer.", out);
}

Status loadModel(const std::string &path, const bitttt_model_params &params,
                 std::unique_ptr<bitttt_model> &out) {
  if (params.n_threads < 0 || params.n_threads > 1024)
    return Status::error(ErrorCode::InvalidArgument,
                         "params.n_threads is " +
                             std::to_string(params.n_threads) +
                             ", expected 0 (all cores) to 1024");
  auto model = std::make_unique<bitttt_model>();
  if (Status s = BittFile::open(path, model->file); !s)
    return s;
  if (Status s = parseModelSpec(*model->file, model->spec); !s)
    return s;
  if (Status s = loadHeaderTokenizer(*model->file, model->tokenizer); !s)
    return s;
  const ArtifactSpec *artifact = nullptr;
  if (Status s = chooseArtifact(path, model->spec, params.target, artifact); !s)
    return s;
  model->target = artifact->target;
  std::string what = path + ": artifact " + quote(artifact->target);
  if (Status s = SharedObject::load(what, artifact->tensor->data,
                                    artifact->tensor->nbytes, artifact->xxh3,
                                    model->artifact);
      !s)
    return s;
  // The code describes what it was compiled for; the header must agree
  // before anything is called (docs/abi.md).
  std::string error;
  size_t abiSize = 0;
  const void *abi =
      model->artifact->symbol(BITTTT_ARTIFACT_ABI_SYMBOL, error, &abiSize);
  if (!abi)
    return Status::error(ErrorCode::Format,
                         what + ": no ABI description (symbol '" +
                             std::string(BITTTT_ARTIFACT_ABI_SYMBOL) +
                             "': " + error +
                             "); recompile the model with bitttt-compile");
  if (Status s = checkArtifactAbi(what, static_cast<const char *>(abi), abiSize,
                                  model->spec);
      !s)
    return s;
  if (Status s = checkStateInits(path, model->spec); !s)
    return s;
  for (const auto &[name, fn] : model->spec.functions) {
    void *address = model->artifact->symbol(fn.symbol, error);
    if (!address)
      return Status::error(ErrorCode::Format,
                           what + ": function " + quote(name) + ": symbol " +
                               quote(fn.symbol) + " not found (" + error + ")");
    model->entries[name] = reinterpret_cast<EntryFn>(address);
  }
  int threads = params.n_threads == 0 ? onlineCores() : params.n_threads;
  model->pool = std::make_unique<ThreadPool>(threads);
  model->exec.ctx = model->pool.get();
  model->exec.parallel_for = poolParallelFor;
  out = std::move(model);
  return Status::ok();
}

/// The model's null check for accessors that cannot report a status.
bool present(const bitttt_model *model, const char *function) {
  if (!model)
    nullArgument(function, "model");
  return model != nullptr;
}

} // namespace

extern "C" {

bitttt_model_params bitttt_model_default_params(void) {
  bitttt_model_params p;
  p.target = nullptr;
  p.n_threads = 0;
  return p;
}

bitttt_status bitttt_model_load(const char *path,
                                const bitttt_model_params *params,
                                bitttt_model **out) {
  if (!out)
    return nullArgument("bitttt_model_load", "out");
  *out = nullptr;
  if (!path)
    return nullArgument("bitttt_model_load", "path");
  return guarded("bitttt_model_load", [&] {
    std::unique_ptr<bitttt_model> model;
    bitttt_model_params p = params ? *params : bitttt_model_default_params();
    if (Status s = loadModel(path, p, model); !s)
      return report(s);
    *out = model.release();
    return BITTTT_OK;
  });
}

void bitttt_model_free(bitttt_model *model) { delete model; }

const char *bitttt_model_target(const bitttt_model *model) {
  return present(model, "bitttt_model_target") ? model->target.c_str()
                                               : nullptr;
}

size_t bitttt_model_vocab_size(const bitttt_model *model) {
  return present(model, "bitttt_model_vocab_size") ? size_t(model->spec.vocab)
                                                   : 0;
}

size_t bitttt_model_prefill_tokens(const bitttt_model *model) {
  if (!present(model, "bitttt_model_prefill_tokens"))
    return 0;
  const FunctionSpec *fn = model->spec.function("prefill");
  return fn ? size_t(fn->tokens) : 0;
}

int bitttt_model_n_threads(const bitttt_model *model) {
  return present(model, "bitttt_model_n_threads") ? model->pool->size() : 0;
}

size_t bitttt_model_state_count(const bitttt_model *model) {
  return present(model, "bitttt_model_state_count") ? model->spec.states.size()
                                                    : 0;
}

bitttt_status bitttt_model_state_info(const bitttt_model *model, size_t index,
                                      bitttt_tensor_info *out) {
  if (!model)
    return nullArgument("bitttt_model_state_info", "model");
  if (!out)
    return nullArgument("bitttt_model_state_info", "out");
  return guarded("bitttt_model_state_info", [&] {
    const auto &states = model->spec.states;
    if (index >= states.size())
      return fail(BITTTT_ERR_INVALID_ARGUMENT,
                  "bitttt_model_state_info: index " + std::to_string(index) +
                      " out of range (" + std::to_string(states.size()) +
                      " states)");
    const StateSpec &s = states[index];
    if (s.shape.size() > BITTTT_MAX_DIMS)
      return fail(BITTTT_ERR_UNSUPPORTED,
                  "bitttt_model_state_info: state " + quote(s.name) + " has " +
                      std::to_string(s.shape.size()) + " dimensions");
    std::memset(out, 0, sizeof(*out));
    out->name = s.name.c_str();
    out->dtype = s.dtype.c_str();
    out->ndim = int(s.shape.size());
    for (size_t i = 0; i < s.shape.size(); ++i)
      out->shape[i] = s.shape[i];
    out->nbytes = s.nbytes;
    return BITTTT_OK;
  });
}

bitttt_status bitttt_model_state_range(const bitttt_model *model, size_t index,
                                       int64_t *lo, int64_t *hi) {
  const char *function = "bitttt_model_state_range";
  if (!model)
    return nullArgument(function, "model");
  if (!lo)
    return nullArgument(function, "lo");
  if (!hi)
    return nullArgument(function, "hi");
  return guarded(function, [&] {
    const auto &states = model->spec.states;
    if (index >= states.size())
      return fail(BITTTT_ERR_INVALID_ARGUMENT,
                  std::string(function) + ": index " + std::to_string(index) +
                      " out of range (" + std::to_string(states.size()) +
                      " states)");
    if (!states[index].range)
      return fail(BITTTT_ERR_INVALID_ARGUMENT,
                  std::string(function) + ": state " +
                      quote(states[index].name) + " has no range");
    *lo = states[index].range->first;
    *hi = states[index].range->second;
    return BITTTT_OK;
  });
}

} // extern "C"
