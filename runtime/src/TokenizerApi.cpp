//===- TokenizerApi.cpp - bitttt_tokenizer_*: the C entry points ----------===//
#include "BpeTrainer.h"
#include "CApi.h"
#include "Model.h"
#include "Regex.h"
#include "Tokenizer.h"

#include <cstdio>
#include <cstring>

using bitttt::format::ErrorCode;
using bitttt::format::Status;
using namespace bitttt::rt;

namespace {

/// Whether bytes after `lead` (n of them, all continuation bytes) can still
/// become a valid character.
bool validPrefix(const uint8_t *p, size_t n) {
  uint8_t lead = p[0];
  if (n >= 2) {
    uint8_t lo = 0x80, hi = 0xBF;
    if (lead == 0xE0)
      lo = 0xA0;
    else if (lead == 0xED)
      hi = 0x9F;
    else if (lead == 0xF0)
      lo = 0x90;
    else if (lead == 0xF4)
      hi = 0x8F;
    if (p[1] < lo || p[1] > hi)
      return false;
  }
  return true;
}

} // namespace

extern "C" {

bitttt_status bitttt_tokenizer_load(const char *path, bitttt_tokenizer **out) {
  const char *function = "bitttt_tokenizer_load";
  if (!out)
    return nullArgument(function, "out");
  *out = nullptr;
  if (!path)
    return nullArgument(function, "path");
  return guarded(function, [&] {
    std::string text;
    if (Status s = bitttt::format::readRegularFile(path, text); !s)
      return report(s);
    std::unique_ptr<bitttt_tokenizer> t;
    if (Status s = parseTokenizer(text, path, t); !s)
      return report(s);
    *out = t.release();
    return BITTTT_OK;
  });
}

bitttt_status bitttt_tokenizer_from_json(const char *json, size_t len,
                                         const char *name,
                                         bitttt_tokenizer **out) {
  const char *function = "bitttt_tokenizer_from_json";
  if (!out)
    return nullArgument(function, "out");
  *out = nullptr;
  if (!json && len)
    return nullArgument(function, "json");
  return guarded(function, [&] {
    std::unique_ptr<bitttt_tokenizer> t;
    if (Status s =
            parseTokenizer(std::string_view(json ? json : "", len),
                           name ? name : "tokenizer.json (in memory)", t);
        !s)
      return report(s);
    *out = t.release();
    return BITTTT_OK;
  });
}

void bitttt_tokenizer_free(bitttt_tokenizer *tokenizer) { delete tokenizer; }

bitttt_status bitttt_tokenizer_save(const bitttt_tokenizer *tokenizer,
                                    const char *path) {
  const char *function = "bitttt_tokenizer_save";
  if (!tokenizer)
    return nullArgument(function, "tokenizer");
  if (!path)
    return nullArgument(function, "path");
  return guarded(function, [&] {
    return report(
        bitttt::format::writeFileAtomically(path, tokenizerJson(*tokenizer)));
  });
}

size_t bitttt_tokenizer_vocab_size(const bitttt_tokenizer *tokenizer) {
  return tokenizer ? tokenizer->vocabSize : 0;
}

bitttt_status bitttt_tokenizer_encode(const bitttt_tokenizer *tokenizer,
                                      const char *text, size_t len,
                                      int add_special, int32_t *ids,
                                      size_t capacity, size_t *n_ids) {
  const char *function = "bitttt_tokenizer_encode";
  if (n_ids)
    *n_ids = 0;
  if (!tokenizer)
    return nullArgument(function, "tokenizer");
  if (!text && len)
    return nullArgument(function, "text");
  if (!ids && capacity)
    return nullArgument(function, "ids");
  if (!n_ids)
    return nullArgument(function, "n_ids");
  return guarded(function, [&] {
    std::vector<int32_t> out;
    out.reserve(len / 3 + 8);
    tokenizer->encode(std::string_view(text ? text : "", len), add_special,
                      out);
    *n_ids = out.size();
    if (out.size() > capacity)
      return fail(BITTTT_ERR_INVALID_ARGUMENT,
                  std::string(function) + ": the text needs " +
                      std::to_string(out.size()) + " ids, capacity is " +
                      std::to_string(capacity));
    std::copy(out.begin(), out.end(), ids);
    return BITTTT_OK;
  });
}

bitttt_status bitttt_tokenizer_decode(const bitttt_tokenizer *tokenizer,
                                      const int32_t *ids, size_t n,
                                      int skip_special, char *text,
                                      size_t capacity, size_t *n_bytes) {
  const char *function = "bitttt_tokenizer_decode";
  if (n_bytes)
    *n_bytes = 0;
  if (!tokenizer)
    return nullArgument(function, "tokenizer");
  if (!ids && n)
    return nullArgument(function, "ids");
  if (!text && capacity)
    return nullArgument(function, "text");
  if (!n_bytes)
    return nullArgument(function, "n_bytes");
  return guarded(function, [&] {
    std::string out;
    size_t bad = 0;
    if (!tokenizer->decode(ids, n, skip_special, out, bad))
      return fail(BITTTT_ERR_INVALID_ARGUMENT,
                  std::string(function) + ": id " + std::to_string(ids[bad]) +
                      " (at index " + std::to_string(bad) +
                      ") is not in the vocabulary (" +
                      std::to_string(tokenizer->vocabSize) + " ids)");
    *n_bytes = out.size();
    if (out.size() > capacity)
      return fail(BITTTT_ERR_INVALID_ARGUMENT,
                  std::string(function) + ": the text needs " +
                      std::to_string(out.size()) + " bytes, capacity is " +
                      std::to_string(capacity));
    std::memcpy(text, out.data(), out.size());
    return BITTTT_OK;
  });
}

bitttt_status bitttt_tokenizer_token_id(const bitttt_tokenizer *tokenizer,
                                        const char *token, int32_t *id) {
  const char *function = "bitttt_tokenizer_token_id";
  if (id)
    *id = -1;
  if (!tokenizer)
    return nullArgument(function, "tokenizer");
  if (!token)
    return nullArgument(function, "token");
  if (!id)
    return nullArgument(function, "id");
  return guarded(function, [&] {
    *id = tokenizer->tokenId(token);
    if (*id < 0)
      return fail(BITTTT_ERR_INVALID_ARGUMENT, std::string(function) +
                                                   ": no token '" + token +
                                                   "' in the vocabulary");
    return BITTTT_OK;
  });
}

int bitttt_tokenizer_is_special(const bitttt_tokenizer *tokenizer, int32_t id) {
  return tokenizer && id >= 0 && size_t(id) < tokenizer->vocabSize &&
         (tokenizer->flags[id] & bitttt_tokenizer::kSpecial);
}

bitttt_bpe_train_params bitttt_bpe_train_default_params(void) {
  bitttt_bpe_train_params p;
  p.vocab_size = 32000;
  p.min_frequency = 2;
  p.special_tokens = nullptr;
  p.n_special = 0;
  p.show_progress = 1;
  return p;
}

bitttt_status bitttt_tokenizer_train(const char *const *files, size_t n_files,
                                     const bitttt_bpe_train_params *params,
                                     bitttt_tokenizer **out) {
  const char *function = "bitttt_tokenizer_train";
  if (!out)
    return nullArgument(function, "out");
  *out = nullptr;
  if (!files && n_files)
    return nullArgument(function, "files");
  if (!params)
    return nullArgument(function, "params");
  if (params->n_special && !params->special_tokens)
    return nullArgument(function, "params->special_tokens");
  return guarded(function, [&] {
    BpeTrainOptions options;
    for (size_t i = 0; i < n_files; ++i) {
      if (!files[i])
        return fail(BITTTT_ERR_INVALID_ARGUMENT,
                    std::string(function) + ": files[" + std::to_string(i) +
                        "] is NULL");
      options.files.emplace_back(files[i]);
    }
    for (size_t i = 0; i < params->n_special; ++i) {
      if (!params->special_tokens[i] || !*params->special_tokens[i])
        return fail(BITTTT_ERR_INVALID_ARGUMENT,
                    std::string(function) + ": params.special_tokens[" +
                        std::to_string(i) + "] is empty or NULL");
      options.specialTokens.emplace_back(params->special_tokens[i]);
    }
    options.vocabSize = params->vocab_size;
    options.minFrequency = params->min_frequency;
    options.showProgress = params->show_progress != 0;
    std::unique_ptr<bitttt_tokenizer> t;
    if (Status s = trainBpe(options, t); !s)
      return report(s);
    *out = t.release();
    return BITTTT_OK;
  });
}

size_t bitttt_utf8_complete(const char *text, size_t len) {
  if (!text || len == 0)
    return 0;
  auto p = reinterpret_cast<const uint8_t *>(text);
  // The last lead byte within the final three bytes, if it starts a
  // character the text cuts short.
  size_t start = len;
  for (size_t back = 1; back <= 4 && back <= len; ++back) {
    uint8_t b = p[len - back];
    if ((b & 0xC0) == 0x80)
      continue;
    start = len - back;
    break;
  }
  if (start == len)
    return len; // no lead byte: continuation bytes alone are invalid
  uint8_t lead = p[start];
  size_t need = lead >= 0xC2 && lead <= 0xDF   ? 2
                : lead >= 0xE0 && lead <= 0xEF ? 3
                : lead >= 0xF0 && lead <= 0xF4 ? 4
                                               : 1;
  size_t have = len - start;
  if (have < need && validPrefix(p + start, have))
    return start;
  return len;
}

size_t bitttt_utf8_valid(const char *text, size_t len) {
  if (!text)
    return 0;
  std::string_view view(text, len);
  size_t at = 0, n = 0;
  while (at < len && utf8At(view, at, n) >= 0)
    at += n;
  return at;
}

const bitttt_tokenizer *bitttt_model_tokenizer(const bitttt_model *model) {
  if (!model) {
    nullArgument("bitttt_model_tokenizer", "model");
    return nullptr;
  }
  return model->tokenizer.get();
}

} // extern "C"
