//===- Session.cpp - bitttt_session_*: state, chunking, logits ------------===//
//
// A session owns two 64-byte-aligned buffers per state value: the current
// state (passed as the entry's state input) and the next one (its state
// output); after a call each returned value's two buffers swap, so no state
// is ever copied between calls and no output aliases an input (docs/abi.md).
//
//===----------------------------------------------------------------------===//
#include "Session.h"
#include "CApi.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <utility>

using namespace bitttt::rt;

namespace {

/// Bytes per chunk below which copying is not worth a thread hand-off.
constexpr size_t kCopyGrain = size_t(256) << 10;
/// Logits per chunk of a parallel argmax.
constexpr size_t kArgmaxGrain = size_t(32) << 10;

std::string quote(const std::string &s) { return "'" + s + "'"; }

void setUpCall(const bitttt_model &model, const char *name, Call &call) {
  call.fn = model.spec.function(name);
  if (!call.fn)
    return;
  call.entry = model.entries.at(name);
  call.ids = AlignedBuffer(size_t(call.fn->tokens) * sizeof(int32_t));
  call.logits = AlignedBuffer(size_t(call.fn->tokens) *
                              size_t(model.spec.vocab) * sizeof(float));
  const auto &in = call.fn->inputs;
  call.buffers.assign(in.size() + call.fn->outputs.size(), nullptr);
  for (size_t i = 0; i < in.size(); ++i)
    if (in[i].role == Role::Tensor)
      call.buffers[i] = const_cast<void *>(in[i].tensor->data);
  call.buffers[call.fn->idsSlot] = call.ids.data();
  call.buffers[call.fn->logitsSlot] = call.logits.data();
}

} // namespace

void bitttt::rt::fill(ThreadPool &pool, void *dst, const void *src,
                      size_t size) {
  pool.parallelFor(size, kCopyGrain, [&](size_t, size_t begin, size_t end) {
    char *d = static_cast<char *>(dst) + begin;
    if (src)
      std::memcpy(d, static_cast<const char *>(src) + begin, end - begin);
    else
      std::memset(d, 0, end - begin);
  });
}

namespace {

void initState(bitttt_session &s) {
  const auto &states = s.model->spec.states;
  for (size_t i = 0; i < states.size(); ++i)
    fill(*s.model->pool, s.state[i].data(),
         states[i].init ? states[i].init->data : nullptr, states[i].nbytes);
  s.last = nullptr;
  s.nPast = 0;
}

} // namespace

void bitttt::rt::run(bitttt_session &s, Call &call, const int32_t *ids) {
  const FunctionSpec &fn = *call.fn;
  std::memcpy(call.ids.data(), ids, size_t(fn.tokens) * sizeof(int32_t));
  for (size_t i = 0; i < fn.inputs.size(); ++i)
    if (fn.inputs[i].role == Role::State)
      call.buffers[i] = s.state[fn.inputs[i].state].data();
  for (size_t i = 0; i < fn.outputs.size(); ++i)
    if (fn.outputs[i].role == Role::State)
      call.buffers[fn.inputs.size() + i] = s.next[fn.outputs[i].state].data();
  call.entry(call.buffers.data(), &s.model->exec);
  for (const BufferSpec &out : fn.outputs)
    if (out.role == Role::State)
      s.state[out.state].swap(s.next[out.state]);
  s.nPast += size_t(fn.tokens);
  s.last = static_cast<const float *>(call.logits.data()) +
           size_t(fn.tokens - 1) * size_t(s.model->spec.vocab);
}

bitttt_status bitttt::rt::checkIds(const bitttt_session &s,
                                   const char *function, const int32_t *ids,
                                   size_t n) {
  int64_t vocab = s.model->spec.vocab;
  for (size_t i = 0; i < n; ++i)
    if (ids[i] < 0 || ids[i] >= vocab)
      return fail(BITTTT_ERR_INVALID_ARGUMENT,
                  std::string(function) + ": token id " +
                      std::to_string(ids[i]) + " at position " +
                      std::to_string(i) + " is outside the vocabulary [0, " +
                      std::to_string(vocab) + ")");
  return BITTTT_OK;
}

namespace {

/// The state called `name`, its dtype/shape compared with the caller's.
bitttt_status findState(const bitttt_session &s, const char *function,
                        const char *name, const char *dtype, int ndim,
                        const int64_t *shape, size_t &index) {
  const ModelSpec &spec = s.model->spec;
  index = spec.stateIndex(name);
  if (index == spec.states.size())
    return fail(BITTTT_ERR_INVALID_ARGUMENT, std::string(function) +
                                                 ": the model has no state " +
                                                 quote(name));
  if (ndim < 0 || ndim > BITTTT_MAX_DIMS || (ndim > 0 && !shape))
    return fail(BITTTT_ERR_INVALID_ARGUMENT,
                std::string(function) + ": ndim " + std::to_string(ndim) +
                    " is invalid or shape is NULL");
  std::vector<int64_t> given(shape, shape + ndim);
  const StateSpec &state = spec.states[index];
  if (state.dtype != dtype || state.shape != given)
    return fail(BITTTT_ERR_INVALID_ARGUMENT,
                std::string(function) + ": state " + quote(name) + " is " +
                    state.dtype + " " + shapeText(state.shape) + ", got " +
                    dtype + " " + shapeText(given));
  return BITTTT_OK;
}

} // namespace

namespace {

/// Feeds n checked ids: whole chunks through prefill (when the model has
/// it), the rest through decode one at a time. After each call,
/// rows(logits, first, count): the logits rows of ids[first, first+count).
template <typename Rows>
void feed(bitttt_session &s, const int32_t *ids, size_t n, Rows &&rows) {
  size_t done = 0;
  if (Call &p = s.prefill; p.fn)
    for (size_t chunk = size_t(p.fn->tokens); n - done >= chunk;
         done += chunk) {
      run(s, p, ids + done);
      rows(static_cast<const float *>(p.logits.data()), done, chunk);
    }
  for (; done < n; ++done) {
    run(s, s.decode, ids + done);
    rows(s.last, done, size_t(1));
  }
}

/// state_get (`out`: state → data) and state_set (data → state) share their
/// checks; the session is only written when `out` is false.
bitttt_status copyState(bitttt_session *session, const char *function,
                        const char *name, const char *dtype, int ndim,
                        const int64_t *shape, void *data, bool out) {
  if (!session)
    return nullArgument(function, "session");
  if (!name)
    return nullArgument(function, "name");
  if (!dtype)
    return nullArgument(function, "dtype");
  return guarded(function, [&] {
    size_t i;
    if (bitttt_status st =
            findState(*session, function, name, dtype, ndim, shape, i))
      return st;
    size_t size = session->model->spec.states[i].nbytes;
    if (size > 0 && !data)
      return nullArgument(function, "data");
    const StateSpec &spec = session->model->spec.states[i];
    // The range comes from the artifact's ABI description; a value outside
    // it would never commit the mini-batch (or divide by zero).
    size_t k;
    int64_t v;
    if (!out && outOfRange(spec, data, k, v))
      return fail(BITTTT_ERR_INVALID_ARGUMENT,
                  std::string(function) + ": state " + quote(name) +
                      (size > sizeof(v) ? " element " + std::to_string(k)
                                        : std::string()) +
                      " value " + std::to_string(v) +
                      " is outside its valid range [" +
                      std::to_string(spec.range->first) + ", " +
                      std::to_string(spec.range->second) +
                      ") (from the artifact's ABI); nothing was set");
    void *state = session->state[i].data();
    if (out)
      fill(*session->model->pool, data, state, size);
    else
      fill(*session->model->pool, state, data, size);
    return BITTTT_OK;
  });
}

} // namespace

extern "C" {

bitttt_status bitttt_session_create(const bitttt_model *model,
                                    bitttt_session **out) {
  if (!out)
    return nullArgument("bitttt_session_create", "out");
  *out = nullptr;
  if (!model)
    return nullArgument("bitttt_session_create", "model");
  return guarded("bitttt_session_create", [&] {
    auto s = std::make_unique<bitttt_session>();
    s->model = model;
    for (const StateSpec &state : model->spec.states) {
      s->state.emplace_back(state.nbytes);
      s->next.emplace_back(state.nbytes);
    }
    setUpCall(*model, "prefill", s->prefill);
    setUpCall(*model, "decode", s->decode);
    initState(*s);
    *out = s.release();
    return BITTTT_OK;
  });
}

void bitttt_session_free(bitttt_session *session) { delete session; }

bitttt_status bitttt_session_reset(bitttt_session *session) {
  if (!session)
    return nullArgument("bitttt_session_reset", "session");
  return guarded("bitttt_session_reset", [&] {
    initState(*session);
    return BITTTT_OK;
  });
}

bitttt_status bitttt_session_prefill(bitttt_session *session,
                                     const int32_t *ids, size_t n) {
  const char *function = "bitttt_session_prefill";
  if (!session)
    return nullArgument(function, "session");
  if (n == 0)
    return BITTTT_OK;
  if (!ids)
    return nullArgument(function, "ids");
  return guarded(function, [&] {
    if (bitttt_status st = checkIds(*session, function, ids, n))
      return st;
    feed(*session, ids, n, [](const float *, size_t, size_t) {});
    return BITTTT_OK;
  });
}

bitttt_status bitttt_session_decode(bitttt_session *session, int32_t id) {
  const char *function = "bitttt_session_decode";
  if (!session)
    return nullArgument(function, "session");
  return guarded(function, [&] {
    if (bitttt_status st = checkIds(*session, function, &id, 1))
      return st;
    run(*session, session->decode, &id);
    return BITTTT_OK;
  });
}

bitttt_status bitttt_session_logits(const bitttt_session *session,
                                    const float **logits, size_t *vocab) {
  if (!session)
    return nullArgument("bitttt_session_logits", "session");
  if (!logits)
    return nullArgument("bitttt_session_logits", "logits");
  *logits = nullptr;
  if (vocab)
    *vocab = size_t(session->model->spec.vocab);
  if (!session->last)
    return failSafely(BITTTT_ERR_INVALID_ARGUMENT, "bitttt_session_logits",
                      "no token has been fed yet");
  *logits = session->last;
  return BITTTT_OK;
}

bitttt_status bitttt_session_argmax(const bitttt_session *session,
                                    int32_t *id) {
  const char *function = "bitttt_session_argmax";
  if (!session)
    return nullArgument(function, "session");
  if (!id)
    return nullArgument(function, "id");
  if (!session->last)
    return failSafely(BITTTT_ERR_INVALID_ARGUMENT, function,
                      "no token has been fed yet");
  return guarded(function, [&] {
    ThreadPool &pool = *session->model->pool;
    size_t vocab = size_t(session->model->spec.vocab);
    const float *logits = session->last;
    // Per chunk the first maximum (NaN never compares greater); chunks are
    // in index order, so the lowest index wins ties overall too.
    std::vector<size_t> best(pool.chunks(vocab, kArgmaxGrain), vocab);
    pool.parallelFor(vocab, kArgmaxGrain, [&](size_t c, size_t b, size_t e) {
      size_t arg = vocab;
      for (size_t i = b; i < e; ++i)
        if (!std::isnan(logits[i]) && (arg == vocab || logits[i] > logits[arg]))
          arg = i;
      best[c] = arg;
    });
    size_t arg = vocab;
    for (size_t candidate : best)
      if (candidate != vocab &&
          (arg == vocab || logits[candidate] > logits[arg]))
        arg = candidate;
    if (arg == vocab)
      return fail(BITTTT_ERR_INVALID_ARGUMENT,
                  std::string(function) + ": every logit is NaN");
    *id = int32_t(arg);
    return BITTTT_OK;
  });
}

size_t bitttt_session_n_past(const bitttt_session *session) {
  if (!session) {
    nullArgument("bitttt_session_n_past", "session");
    return 0;
  }
  return session->nPast;
}

bitttt_status bitttt_session_state_get(const bitttt_session *session,
                                       const char *name, void *data,
                                       const char *dtype, int ndim,
                                       const int64_t *shape) {
  return copyState(const_cast<bitttt_session *>(session),
                   "bitttt_session_state_get", name, dtype, ndim, shape, data,
                   /*out=*/true);
}

bitttt_status bitttt_session_state_set(bitttt_session *session,
                                       const char *name, const void *data,
                                       const char *dtype, int ndim,
                                       const int64_t *shape) {
  return copyState(session, "bitttt_session_state_set", name, dtype, ndim,
                   shape, const_cast<void *>(data), /*out=*/false);
}

} // extern "C"

namespace {

/// -log softmax(row)[target], in double.
double negLogProb(const float *row, size_t vocab, int32_t target) {
  double top = -INFINITY;
  for (size_t i = 0; i < vocab; ++i)
    top = std::max(top, double(row[i]));
  double sum = 0;
  for (size_t i = 0; i < vocab; ++i)
    sum += std::exp(double(row[i]) - top);
  return std::log(sum) + top - double(row[size_t(target)]);
}

} // namespace

extern "C" bitttt_status bitttt_session_nll(bitttt_session *session,
                                            const int32_t *ids, size_t n,
                                            double *nll, size_t *count) {
  const char *function = "bitttt_session_nll";
  if (!session)
    return nullArgument(function, "session");
  if (!nll || !count)
    return nullArgument(function, !nll ? "nll" : "count");
  if (n == 0)
    return BITTTT_OK;
  if (!ids)
    return nullArgument(function, "ids");
  return guarded(function, [&] {
    if (bitttt_status st = checkIds(*session, function, ids, n))
      return st;
    size_t vocab = size_t(session->model->spec.vocab);
    double sum = 0;
    size_t terms = 0;
    auto predict = [&](const float *row, size_t i) {
      if (i < n) {
        sum += negLogProb(row, vocab, ids[i]);
        ++terms;
      }
    };
    if (session->last)
      predict(session->last, 0);
    // Row r of a call over ids[first..] predicts ids[first + r + 1].
    feed(*session, ids, n, [&](const float *rows, size_t first, size_t count) {
      for (size_t r = 0; r < count; ++r)
        predict(rows + r * vocab, first + r + 1);
    });
    *nll += sum;
    *count += terms;
    return BITTTT_OK;
  });
}
