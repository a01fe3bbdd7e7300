//===- TextStream.cpp - generated ids → printable text --------------------===//
//
// Decoded bytes wait in `pending` until they can be printed: a UTF-8
// character is never split, and a suffix that may still grow into a stop
// string is held back, so a stop string spanning several ids is found and
// never printed.
//
//===----------------------------------------------------------------------===//
#include "CApi.h"

#include <algorithm>
#include <string>
#include <vector>

using namespace bitttt::rt;

struct bitttt_text_stream {
  const bitttt_tokenizer *tokenizer = nullptr;
  std::vector<std::string> stop;
  std::string pending, out;
  bool stopped = false;

  /// Length of the longest suffix of `pending` that is a proper prefix of
  /// a stop string.
  size_t heldForStop() const {
    size_t held = 0;
    for (const std::string &s : stop)
      for (size_t n = std::min(s.size() - 1, pending.size()); n > held; --n)
        if (pending.compare(pending.size() - n, n, s, 0, n) == 0) {
          held = n;
          break;
        }
    return held;
  }
};

namespace {

/// The bytes id stands for (nothing for special tokens).
bitttt_status piece(const bitttt_tokenizer *tokenizer, int32_t id,
                    std::string &bytes) {
  size_t need = 0;
  char small[64];
  bitttt_status st =
      bitttt_tokenizer_decode(tokenizer, &id, 1, 1, small, sizeof small, &need);
  if (st == BITTTT_OK) {
    bytes.assign(small, need);
    return st;
  }
  if (need <= sizeof small)
    return st; // a real error (bad id), message already set
  bytes.resize(need);
  return bitttt_tokenizer_decode(tokenizer, &id, 1, 1, bytes.data(), need,
                                 &need);
}

} // namespace

extern "C" {

bitttt_status bitttt_text_stream_create(const bitttt_tokenizer *tokenizer,
                                        const char *const *stop, size_t n_stop,
                                        bitttt_text_stream **out) {
  const char *function = "bitttt_text_stream_create";
  if (!out)
    return nullArgument(function, "out");
  *out = nullptr;
  if (!tokenizer)
    return nullArgument(function, "tokenizer");
  if (n_stop && !stop)
    return nullArgument(function, "stop");
  return guarded(function, [&] {
    auto s = std::make_unique<bitttt_text_stream>();
    s->tokenizer = tokenizer;
    for (size_t i = 0; i < n_stop; ++i) {
      if (!stop[i] || !*stop[i])
        return fail(BITTTT_ERR_INVALID_ARGUMENT,
                    std::string(function) + ": stop string " +
                        std::to_string(i) + " is empty or NULL");
      s->stop.emplace_back(stop[i]);
    }
    *out = s.release();
    return BITTTT_OK;
  });
}

void bitttt_text_stream_free(bitttt_text_stream *stream) { delete stream; }

bitttt_status bitttt_text_stream_push(bitttt_text_stream *stream, int32_t id,
                                      const char **text, size_t *len,
                                      int *stopped) {
  const char *function = "bitttt_text_stream_push";
  if (!stream)
    return nullArgument(function, "stream");
  if (!text || !len)
    return nullArgument(function, !text ? "text" : "len");
  return guarded(function, [&] {
    stream->out.clear();
    if (!stream->stopped) {
      std::string bytes;
      if (bitttt_status st = piece(stream->tokenizer, id, bytes))
        return st;
      stream->pending += bytes;
      // The earliest complete stop string ends the text.
      size_t at = std::string::npos;
      for (const std::string &s : stream->stop)
        at = std::min(at, stream->pending.find(s));
      if (at != std::string::npos) {
        stream->out = stream->pending.substr(0, at);
        stream->pending.clear();
        stream->stopped = true;
      } else {
        size_t cut = stream->pending.size() - stream->heldForStop();
        cut = bitttt_utf8_complete(stream->pending.data(), cut);
        stream->out = stream->pending.substr(0, cut);
        stream->pending.erase(0, cut);
      }
    }
    if (stopped)
      *stopped = stream->stopped;
    *text = stream->out.data();
    *len = stream->out.size();
    return BITTTT_OK;
  });
}

bitttt_status bitttt_text_stream_flush(bitttt_text_stream *stream,
                                       const char **text, size_t *len) {
  const char *function = "bitttt_text_stream_flush";
  if (!stream)
    return nullArgument(function, "stream");
  if (!text || !len)
    return nullArgument(function, !text ? "text" : "len");
  return guarded(function, [&] {
    stream->out.swap(stream->pending);
    stream->pending.clear();
    *text = stream->out.data();
    *len = stream->out.size();
    return BITTTT_OK;
  });
}

bitttt_status bitttt_tokenizer_eos(const bitttt_tokenizer *tokenizer,
                                   int32_t *id) {
  const char *function = "bitttt_tokenizer_eos";
  if (!tokenizer)
    return nullArgument(function, "tokenizer");
  if (!id)
    return nullArgument(function, "id");
  for (const char *name :
       {"<|endoftext|>", "</s>", "<|eot_id|>", "<|im_end|>", "<eos>"}) {
    int32_t candidate;
    if (bitttt_tokenizer_token_id(tokenizer, name, &candidate) == BITTTT_OK &&
        bitttt_tokenizer_is_special(tokenizer, candidate)) {
      bitttt_clear_error();
      *id = candidate;
      return BITTTT_OK;
    }
  }
  return failSafely(BITTTT_ERR_INVALID_ARGUMENT, function,
                    "the tokenizer has none of the special end-of-text tokens "
                    "<|endoftext|>, </s>, <|eot_id|>, <|im_end|>, <eos>");
}

} // extern "C"
