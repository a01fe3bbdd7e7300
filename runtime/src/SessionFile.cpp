//===- SessionFile.cpp - a session's state to and from a file -------------===//
//
// A session file is a .bitt v2 container (docs/session-file.md): the header
// says which model it belongs to (bitttt_model_identity), the position and
// a checksum of the tensors; the tensors are the state values and the last
// logits. The container library writes it atomically and validates it on
// open; everything else is checked here before the session is touched.
//
//===----------------------------------------------------------------------===//
#include "CApi.h"
#include "Fuzzing.h"
#include "Hex.h"
#include "Session.h"

#include <nlohmann/json.hpp>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <cstdio>
#include <cstring>
#include <mutex>

using bitttt::format::BittFile;
using bitttt::format::TensorData;
using nlohmann::json;
using namespace bitttt::rt;

namespace {

constexpr int kSessionFormatVersion = 1;
constexpr const char *kStatePrefix = "state.";
constexpr const char *kLogits = "logits";

std::string quote(const std::string &s) { return "'" + s + "'"; }

/// XXH3-64 of the tensors in the order given (name, then bytes).
std::string checksum(const std::vector<TensorData> &tensors) {
  XXH3_state_t *st = XXH3_createState();
  if (!st)
    throw std::bad_alloc();
  XXH3_64bits_reset(st);
  for (const TensorData &t : tensors) {
    XXH3_64bits_update(st, t.name.data(), t.name.size() + 1);
    XXH3_64bits_update(st, t.data, t.nbytes);
  }
  uint64_t h = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  return hex64(h);
}

std::string computeIdentity(const bitttt_model &model) {
  XXH3_state_t *st = XXH3_createState();
  if (!st)
    throw std::bad_alloc();
  XXH3_128bits_reset(st);
  json header = json::parse(model.file->headerJson());
  std::string config = header.value("config", json()).dump();
  XXH3_128bits_update(st, config.data(), config.size() + 1);
  for (const bitttt::format::TensorInfo &t : model.file->tensors()) {
    if (t.name.rfind("__artifact__.", 0) == 0)
      continue; // the code is not the model: recompiling keeps the identity
    std::string meta = t.name + '\0' + t.dtype + '\0' + shapeText(t.shape);
    XXH3_128bits_update(st, meta.data(), meta.size() + 1);
    XXH3_128bits_update(st, t.data, t.nbytes);
  }
  XXH128_hash_t h = XXH3_128bits_digest(st);
  XXH3_freeState(st);
  return hex64(h.high64) + hex64(h.low64);
}

/// The session's tensors as a file holds them.
std::vector<TensorData> sessionTensors(const bitttt_session &s) {
  std::vector<TensorData> out;
  const auto &states = s.model->spec.states;
  for (size_t i = 0; i < states.size(); ++i)
    out.push_back({kStatePrefix + states[i].name, states[i].dtype,
                   states[i].shape, s.state[i].data(), states[i].nbytes});
  if (s.last)
    out.push_back({kLogits,
                   "F32",
                   {s.model->spec.vocab},
                   s.last,
                   uint64_t(s.model->spec.vocab) * sizeof(float)});
  // Sorted by name, the order the file stores them in.
  std::sort(
      out.begin(), out.end(),
      [](const TensorData &a, const TensorData &b) { return a.name < b.name; });
  return out;
}

/// Everything a load needs, checked before the session changes.
struct Loaded {
  std::unique_ptr<BittFile> file;
  uint64_t nPast = 0;
  std::vector<const bitttt::format::TensorInfo *> states; ///< like spec.states
  const bitttt::format::TensorInfo *logits = nullptr;
};

bitttt_status readSessionFile(const bitttt_session &s, const char *function,
                              const std::string &path, Loaded &out) {
  auto bad = [&](const std::string &why) {
    return fail(BITTTT_ERR_FORMAT,
                std::string(function) + ": " + path + ": " + why);
  };
  if (bitttt::format::Status st = BittFile::open(path, out.file); !st)
    return report(st);
  json header = json::parse(out.file->headerJson(), nullptr, false);
  auto section =
      header.is_object() ? header.find("bitttt_session") : header.end();
  if (!header.is_object() || section == header.end() || !section->is_object())
    return bad("not a session file (no 'bitttt_session' header section)");
  auto version = section->find("format_version");
  if (version == section->end() || !version->is_number_integer())
    return bad("header field 'bitttt_session.format_version' is missing");
  if (*version != kSessionFormatVersion)
    return fail(BITTTT_ERR_UNSUPPORTED,
                std::string(function) + ": " + path + ": session file format " +
                    version->dump() + "; this runtime reads " +
                    std::to_string(kSessionFormatVersion));
  std::string identity = bitttt_model_identity(s.model);
  auto model = section->find("model");
  if (model == section->end() || !model->is_string())
    return bad("header field 'bitttt_session.model' is missing");
  if (model->get<std::string>() != identity)
    return bad("saved from another model (model " + model->get<std::string>() +
               ", this model is " + identity + ")");
  auto nPast = section->find("n_past");
  if (nPast == section->end() || !nPast->is_number_unsigned())
    return bad("header field 'bitttt_session.n_past' is not a count");
  out.nPast = nPast->get<uint64_t>();
  auto sum = section->find("checksum");
  if (sum == section->end() || !sum->is_string())
    return bad("header field 'bitttt_session.checksum' is missing");

  const auto &states = s.model->spec.states;
  std::vector<TensorData> all;
  size_t expected = states.size();
  for (const StateSpec &state : states) {
    const auto *t = out.file->find(kStatePrefix + state.name);
    if (!t)
      return bad("state " + quote(state.name) + " is missing");
    if (t->dtype != state.dtype || t->shape != state.shape)
      return bad("state " + quote(state.name) + " is " + t->dtype + " " +
                 shapeText(t->shape) + ", the model's is " + state.dtype + " " +
                 shapeText(state.shape));
    size_t k;
    int64_t v;
    if (outOfRange(state, t->data, k, v))
      return bad("state " + quote(state.name) + " value " + std::to_string(v) +
                 " is outside its range [" +
                 std::to_string(state.range->first) + ", " +
                 std::to_string(state.range->second) + ")");
    out.states.push_back(t);
  }
  if ((out.logits = out.file->find(kLogits))) {
    ++expected;
    if (out.logits->dtype != "F32" ||
        out.logits->shape != std::vector<int64_t>{s.model->spec.vocab})
      return bad("'logits' is " + out.logits->dtype + " " +
                 shapeText(out.logits->shape) + ", expected F32 [" +
                 std::to_string(s.model->spec.vocab) + "]");
  }
  if (out.file->tensors().size() != expected)
    return bad("holds " + std::to_string(out.file->tensors().size()) +
               " tensors, the model's state has " + std::to_string(expected));
  for (const auto &t : out.file->tensors())
    all.push_back({t.name, t.dtype, t.shape, t.data, t.nbytes});
  if (checksum(all) != sum->get<std::string>() && kEnforceChecksums)
    return bad("checksum mismatch (the file is corrupted)");
  return BITTTT_OK;
}

} // namespace

extern "C" {

const char *bitttt_model_identity(const bitttt_model *model) {
  if (!model) {
    nullArgument("bitttt_model_identity", "model");
    return nullptr;
  }
  try {
    auto *m = const_cast<bitttt_model *>(model);
    std::call_once(m->identityOnce, [&] { m->identity = computeIdentity(*m); });
    return model->identity.c_str();
  } catch (const std::exception &e) {
    failSafely(BITTTT_ERR_INTERNAL, "bitttt_model_identity", e.what());
    return nullptr;
  }
}

bitttt_status bitttt_session_save(const bitttt_session *session,
                                  const char *path) {
  const char *function = "bitttt_session_save";
  if (!session)
    return nullArgument(function, "session");
  if (!path)
    return nullArgument(function, "path");
  return guarded(function, [&] {
    const char *identity = bitttt_model_identity(session->model);
    if (!identity)
      return BITTTT_ERR_INTERNAL;
    std::vector<TensorData> tensors = sessionTensors(*session);
    json header = {{"bitttt_session",
                    {{"format_version", kSessionFormatVersion},
                     {"model", identity},
                     {"n_past", uint64_t(session->nPast)},
                     {"checksum", checksum(tensors)}}}};
    return report(bitttt::format::writeBittV2(path, header.dump(), tensors));
  });
}

bitttt_status bitttt_session_load(bitttt_session *session, const char *path) {
  const char *function = "bitttt_session_load";
  if (!session)
    return nullArgument(function, "session");
  if (!path)
    return nullArgument(function, "path");
  return guarded(function, [&] {
    Loaded loaded;
    if (bitttt_status st = readSessionFile(*session, function, path, loaded))
      return st;
    // Everything checked: now the session changes, all at once.
    const auto &states = session->model->spec.states;
    for (size_t i = 0; i < states.size(); ++i)
      fill(*session->model->pool, session->state[i].data(),
           loaded.states[i]->data, states[i].nbytes);
    session->nPast = size_t(loaded.nPast);
    session->last = nullptr;
    if (loaded.logits) {
      std::memcpy(session->decode.logits.data(), loaded.logits->data,
                  loaded.logits->nbytes);
      session->last = static_cast<const float *>(session->decode.logits.data());
    }
    return BITTTT_OK;
  });
}

} // extern "C"
