/* bitttt.h - the bitttt runtime C API.
 *
 * One plain C header is the whole runtime surface (as llama.h is for
 * llama.cpp). Every call that can fail returns a bitttt_status; the message
 * for the last failure on the calling thread is bitttt_last_error(). Bad
 * input never aborts the process.
 *
 * The runtime links no LLVM or MLIR.
 */
#ifndef BITTTT_H
#define BITTTT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(BITTTT_BUILDING_RUNTIME)
#define BITTTT_API __attribute__((visibility("default")))
#else
#define BITTTT_API
#endif

/* Result of every fallible call. Values are stable across versions. */
typedef enum bitttt_status {
  BITTTT_OK = 0,
  BITTTT_ERR_INVALID_ARGUMENT = 1, /* a NULL pointer, a value out of range */
  BITTTT_ERR_IO = 2,               /* a file could not be opened or read */
  BITTTT_ERR_FORMAT = 3,           /* a file is truncated or malformed */
  BITTTT_ERR_UNSUPPORTED = 4, /* valid, but not supported here (CPU, GPU) */
  BITTTT_ERR_OUT_OF_MEMORY = 5,
  BITTTT_ERR_INTERNAL = 6,
} bitttt_status;

/* Version of the runtime library, "MAJOR.MINOR.PATCH". */
BITTTT_API const char *bitttt_version(void);

/* Short, static description of a status code ("invalid argument"). Never
 * NULL; unknown codes give "unknown status". */
BITTTT_API const char *bitttt_status_string(bitttt_status status);

/* Message of the last failure on this thread ("" when none). The pointer is
 * valid until the next failing call on the same thread. */
BITTTT_API const char *bitttt_last_error(void);

/* Clears this thread's last error message. */
BITTTT_API void bitttt_clear_error(void);

/* x86-64 instruction-set features the runtime can pick kernels by. */
typedef enum bitttt_cpu_feature {
  BITTTT_CPU_AVX2 = 1u << 0,
  BITTTT_CPU_FMA = 1u << 1,
  BITTTT_CPU_AVX512F = 1u << 2,
  BITTTT_CPU_AVX512BW = 1u << 3,
  BITTTT_CPU_AVX512VL = 1u << 4,
  BITTTT_CPU_AVX512VNNI = 1u << 5,
  BITTTT_CPU_AVXVNNI = 1u << 6,
  BITTTT_CPU_AVX512VBMI = 1u << 7,
} bitttt_cpu_feature;

/* Bit set of bitttt_cpu_feature this CPU and OS support (the OS must save
 * the wide registers: XSAVE state is checked, not only CPUID). */
BITTTT_API uint32_t bitttt_cpu_features(void);

/* The best compiled-artifact target for this CPU: "x86-64-v4" (AVX-512 with
 * VNNI), "x86-64-v3" (AVX2 + FMA) or NULL when neither is supported, with
 * the reason in bitttt_last_error(). */
BITTTT_API const char *bitttt_cpu_target(void);

/* ---- Model containers: .bitt (v1, v2) and .safetensors ------------------
 *
 * A bitttt_file is a read-only, mmapped container, validated in full when
 * opened (docs/bitt-format.md): bounds, overlaps, byte sizes, dtypes, and for
 * v2 the 64-byte alignment of every tensor and "bitttt.format_version". The
 * messages of failures name the file and the offending tensor or field. */
typedef struct bitttt_file bitttt_file;

/* Most dimensions a bitttt_tensor_info can describe. */
#define BITTTT_MAX_DIMS 8

/* One tensor of an opened file. Every pointer stays valid until the file is
 * closed; `data` points into the read-only mapping (64-byte aligned in v2).
 * `dtype` is the safetensors name: "F32", "F16", "BF16", "F64", "I8", "U8",
 * "I16", "U16", "I32", "U32", "I64", "U64", "BOOL", "F8_E4M3", ... */
typedef struct bitttt_tensor_info {
  const char *name;
  const char *dtype;
  int ndim;                       /* 0 for a scalar */
  int64_t shape[BITTTT_MAX_DIMS]; /* shape[0..ndim-1]; the rest are 0 */
  const void *data;
  uint64_t nbytes; /* product(shape) * element size */
} bitttt_tensor_info;

/* Opens `path` (a .bitt v1/v2 or a plain .safetensors file). On success *out
 * is a new handle; on failure *out is NULL and the status says why:
 * BITTTT_ERR_IO (cannot open or map), BITTTT_ERR_FORMAT (truncated or
 * malformed), BITTTT_ERR_UNSUPPORTED (a newer format_version or layout). */
BITTTT_API bitttt_status bitttt_file_open(const char *path, bitttt_file **out);

/* Unmaps and frees the file; NULL is ignored. */
BITTTT_API void bitttt_file_close(bitttt_file *file);

/* 0 for a plain .safetensors file, 1 for .bitt v1, 2 for .bitt v2; -1 (and
 * an error message) for NULL. */
BITTTT_API int bitttt_file_version(const bitttt_file *file);

/* The BITT header JSON ({"config": ..., "tokenizer": ..., "bitttt": ...}),
 * without v2's padding; "{}" for a plain .safetensors file. Valid until the
 * file is closed; NULL (and an error message) for a NULL file. */
BITTTT_API const char *bitttt_file_header_json(const bitttt_file *file);

/* Number of tensors (v2 alignment padding is not counted); 0 for NULL. */
BITTTT_API size_t bitttt_file_tensor_count(const bitttt_file *file);

/* Describes tensor `index` (0 <= index < count, in file order). */
BITTTT_API bitttt_status bitttt_file_tensor(const bitttt_file *file,
                                            size_t index,
                                            bitttt_tensor_info *out);

/* Describes the tensor called `name`; BITTTT_ERR_INVALID_ARGUMENT when the
 * file has no such tensor. */
BITTTT_API bitttt_status bitttt_file_find(const bitttt_file *file,
                                          const char *name,
                                          bitttt_tensor_info *out);

/* Rewrites any readable container at `src` as a .bitt v2 file at `dst`
 * (which may be `src`): same header (plus "bitttt": {"format_version": 2}),
 * same tensors, each 64-byte aligned. `dst` is replaced atomically; on
 * failure no partial file is left. Upgrades v1 files and safetensors. */
BITTTT_API bitttt_status bitttt_file_copy_v2(const char *src, const char *dst);

/* ---- Models and sessions (docs/runtime.md, docs/abi.md) -----------------
 *
 * A bitttt_model is a compiled .bitt v2 file, loaded: its tensors mmapped,
 * its "bitttt.functions" / "bitttt.state" / "bitttt.artifacts" header
 * sections validated against the tensors, and the artifact for this CPU
 * dlopened. A model is immutable after loading and may be shared by
 * sessions on different threads. A bitttt_session owns the TTT state of one
 * sequence and its I/O buffers; one session must not be used by two threads
 * at once. */
typedef struct bitttt_model bitttt_model;
typedef struct bitttt_session bitttt_session;

/* Options of bitttt_model_load. Start from bitttt_model_default_params(). */
typedef struct bitttt_model_params {
  /* Artifact target to load ("x86-64-v4", "x86-64-v3"), or NULL for the best
   * one this CPU supports (bitttt_cpu_target()). A target the CPU cannot run,
   * or one the file has no artifact for, is an error. */
  const char *target;
  /* Threads of the model's pool (the calling thread counts as one); 0 = the
   * number of online cores. */
  int n_threads;
} bitttt_model_params;

/* {target = NULL, n_threads = 0}. */
BITTTT_API bitttt_model_params bitttt_model_default_params(void);

/* Loads a compiled model. `params` may be NULL (defaults). On failure *out
 * is NULL and the message names the file and the offending field, tensor,
 * target or symbol: BITTTT_ERR_IO / _FORMAT for an unreadable or malformed
 * file or header, BITTTT_ERR_UNSUPPORTED when no artifact runs on this CPU
 * (or `params->target` is not supported here), BITTTT_ERR_INVALID_ARGUMENT
 * for bad params. */
BITTTT_API bitttt_status bitttt_model_load(const char *path,
                                           const bitttt_model_params *params,
                                           bitttt_model **out);

/* Frees the model; NULL is ignored. Every session of the model must have
 * been freed before. */
BITTTT_API void bitttt_model_free(bitttt_model *model);

/* The target of the loaded artifact ("x86-64-v3"); NULL for NULL. */
BITTTT_API const char *bitttt_model_target(const bitttt_model *model);

/* config.vocab_size (the logits width); 0 for NULL. */
BITTTT_API size_t bitttt_model_vocab_size(const bitttt_model *model);

/* Tokens per call of the "prefill" function (0 when the model has none). */
BITTTT_API size_t bitttt_model_prefill_tokens(const bitttt_model *model);

/* Threads of the model's pool (>= 1); 0 for NULL. */
BITTTT_API int bitttt_model_n_threads(const bitttt_model *model);

/* Number of TTT state values of a session ("bitttt.state" entries). */
BITTTT_API size_t bitttt_model_state_count(const bitttt_model *model);

/* Describes state value `index` (sorted by name). `data` is NULL (state
 * lives in sessions: bitttt_session_state_get). */
BITTTT_API bitttt_status bitttt_model_state_info(const bitttt_model *model,
                                                 size_t index,
                                                 bitttt_tensor_info *out);

/* The valid values [*lo, *hi) of state value `index`, from the artifact's
 * ABI description: BITTTT_OK with the range, or BITTTT_ERR_INVALID_ARGUMENT
 * when the state has none (any value is valid) or index is out of range. */
BITTTT_API bitttt_status bitttt_model_state_range(const bitttt_model *model,
                                                  size_t index, int64_t *lo,
                                                  int64_t *hi);

/* Creates a session with fresh state (each value from its "init"). */
BITTTT_API bitttt_status bitttt_session_create(const bitttt_model *model,
                                               bitttt_session **out);

/* Frees the session; NULL is ignored. */
BITTTT_API void bitttt_session_free(bitttt_session *session);

/* Back to fresh state: state re-initialised, no tokens, no logits. */
BITTTT_API bitttt_status bitttt_session_reset(bitttt_session *session);

/* Feeds n tokens: whole chunks of bitttt_model_prefill_tokens() through the
 * compiled "prefill", the rest through "decode" one at a time. Every id must
 * be in [0, vocab); they are all checked before anything runs, so a
 * rejected call leaves the session unchanged. n = 0 does nothing. */
BITTTT_API bitttt_status bitttt_session_prefill(bitttt_session *session,
                                                const int32_t *ids, size_t n);

/* Feeds one token through "decode". */
BITTTT_API bitttt_status bitttt_session_decode(bitttt_session *session,
                                               int32_t id);

/* The logits of the last token fed (vocab floats, owned by the session,
 * valid until its next prefill/decode/reset/free). Error before any token. */
BITTTT_API bitttt_status bitttt_session_logits(const bitttt_session *session,
                                               const float **logits,
                                               size_t *vocab);

/* Greedy choice: index of the largest of the last logits (the lowest index
 * on ties; NaN never wins). */
BITTTT_API bitttt_status bitttt_session_argmax(const bitttt_session *session,
                                               int32_t *id);

/* Tokens fed since creation or the last reset; 0 for NULL. */
BITTTT_API size_t bitttt_session_n_past(const bitttt_session *session);

/* Copies state value `name` out to / in from `data`, which the caller
 * describes by dtype and shape (ndim 0 for a scalar); both must equal the
 * state's (bitttt_model_state_info), else BITTTT_ERR_INVALID_ARGUMENT.
 * A state with a valid range (a TTT layer's `pos` is in [0, mini_batch),
 * bitttt_model_state_range) is only set to values inside it; otherwise
 * BITTTT_ERR_INVALID_ARGUMENT and the state is left unchanged. */
BITTTT_API bitttt_status bitttt_session_state_get(const bitttt_session *session,
                                                  const char *name, void *data,
                                                  const char *dtype, int ndim,
                                                  const int64_t *shape);
BITTTT_API bitttt_status bitttt_session_state_set(bitttt_session *session,
                                                  const char *name,
                                                  const void *data,
                                                  const char *dtype, int ndim,
                                                  const int64_t *shape);

/* ---- Tokenizer (docs/tokenizer.md) --------------------------------------
 *
 * Byte-level BPE in the Hugging Face `tokenizer.json` format: the BPE model
 * (vocab + merges), the ByteLevel pre-tokenizer with the GPT-2 regex (or a
 * Split regex + ByteLevel sequence), added/special tokens, the ByteLevel
 * decoder. A tokenizer is immutable after loading and may be shared by
 * threads. Text is UTF-8 bytes; encode accepts any bytes (invalid UTF-8 is
 * encoded byte by byte, as byte-level BPE can), decode returns the exact
 * bytes the ids stand for (which may end inside a UTF-8 character; see
 * bitttt_utf8_complete). */
typedef struct bitttt_tokenizer bitttt_tokenizer;

/* Loads a tokenizer.json file. Errors name the file and the field at fault
 * (an unknown model type, a merge of tokens not in the vocab, ...). */
BITTTT_API bitttt_status bitttt_tokenizer_load(const char *path,
                                               bitttt_tokenizer **out);

/* The same from JSON text in memory; `name` stands for the file in
 * messages. */
BITTTT_API bitttt_status bitttt_tokenizer_from_json(const char *json,
                                                    size_t len,
                                                    const char *name,
                                                    bitttt_tokenizer **out);

/* Frees the tokenizer; NULL is ignored. */
BITTTT_API void bitttt_tokenizer_free(bitttt_tokenizer *tokenizer);

/* Writes the tokenizer as tokenizer.json (atomically: temporary + rename). */
BITTTT_API bitttt_status
bitttt_tokenizer_save(const bitttt_tokenizer *tokenizer, const char *path);

/* Number of ids (vocab plus added tokens, the largest id + 1); 0 for NULL. */
BITTTT_API size_t
bitttt_tokenizer_vocab_size(const bitttt_tokenizer *tokenizer);

/* Encodes `len` bytes of text. Added tokens (special or not) in the text
 * are matched first; with `add_special` != 0 the post-processor's tokens
 * (a TemplateProcessing BOS, say) are added, as the `tokenizers` package's
 * encode(add_special_tokens=True) does. Writes at most `capacity` ids and
 * sets *n_ids to the number the text needs; when that exceeds `capacity`,
 * returns BITTTT_ERR_INVALID_ARGUMENT and the caller may retry (len + 8
 * ids always suffice). */
BITTTT_API bitttt_status bitttt_tokenizer_encode(
    const bitttt_tokenizer *tokenizer, const char *text, size_t len,
    int add_special, int32_t *ids, size_t capacity, size_t *n_ids);

/* The bytes `n` ids stand for, concatenated (special tokens as their
 * text unless `skip_special`). Writes at most `capacity` bytes and sets
 * *n_bytes to the number needed (BITTTT_ERR_INVALID_ARGUMENT when it
 * exceeds `capacity`). An id outside the vocabulary is an error. */
BITTTT_API bitttt_status bitttt_tokenizer_decode(
    const bitttt_tokenizer *tokenizer, const int32_t *ids, size_t n,
    int skip_special, char *text, size_t capacity, size_t *n_bytes);

/* The id of the token whose text is `token` (a vocab entry in its
 * byte-level spelling, or an added token such as "<|endoftext|>"). */
BITTTT_API bitttt_status bitttt_tokenizer_token_id(
    const bitttt_tokenizer *tokenizer, const char *token, int32_t *id);

/* Whether id is an added token marked special; 0 otherwise (and for ids
 * outside the vocabulary). */
BITTTT_API int bitttt_tokenizer_is_special(const bitttt_tokenizer *tokenizer,
                                           int32_t id);

/* Options of bitttt_tokenizer_train. Start from
 * bitttt_bpe_train_default_params(). */
typedef struct bitttt_bpe_train_params {
  size_t vocab_size;      /* the final vocabulary, special tokens included */
  uint64_t min_frequency; /* pairs seen fewer times are not merged (>= 1) */
  const char *const *special_tokens; /* added first, ids 0..n_special-1 */
  size_t n_special;
  int show_progress; /* a progress bar on stderr when it is a terminal */
} bitttt_bpe_train_params;

/* {vocab_size 32000, min_frequency 2, no special tokens, progress on}. */
BITTTT_API bitttt_bpe_train_params bitttt_bpe_train_default_params(void);

/* Trains a byte-level BPE tokenizer (GPT-2 pre-tokenizer regex, ByteLevel
 * decoder) on the text of `files`: deterministic for the same files and
 * params; merges are taken most frequent pair first, ties broken by the
 * pair's ids. */
BITTTT_API bitttt_status bitttt_tokenizer_train(
    const char *const *files, size_t n_files,
    const bitttt_bpe_train_params *params, bitttt_tokenizer **out);

/* Length of the longest prefix of `text` (`len` bytes) that does not end
 * inside a UTF-8 character: streaming output prints that much and keeps
 * the rest for the next piece. Invalid bytes count as complete (they are
 * printed as they come). */
BITTTT_API size_t bitttt_utf8_complete(const char *text, size_t len);

/* Length of the longest prefix of `text` that is valid UTF-8: `len` when
 * all of it is. Tools use it to refuse prompts that are not text, naming
 * the offset of the first bad byte. */
BITTTT_API size_t bitttt_utf8_valid(const char *text, size_t len);

/* The tokenizer the model's .bitt carries (its header's "tokenizer"), or
 * NULL when it has none. Owned by the model. */
BITTTT_API const bitttt_tokenizer *
bitttt_model_tokenizer(const bitttt_model *model);

/* ---- Sampling and streaming text (docs/runtime.md) ----------------------
 *
 * A sampler turns a row of logits into a token id: repetition penalty over
 * the last `repeat_last_n` accepted ids (logit > 0: divided by the penalty,
 * else multiplied), temperature, then top-k, top-p and min-p on the
 * resulting probabilities, renormalised, and one draw from its own seeded
 * generator (xoshiro256**, the same sequence on every machine). Temperature
 * 0 is greedy: the argmax of the penalised logits (lowest index on ties). */
typedef struct bitttt_sampling_params {
  float temperature; /* 0: greedy */
  int32_t top_k; /* keep the k most likely (ties at the k-th kept); 0: off */
  float top_p;   /* keep the most likely whose mass reaches p; 1: off */
  float min_p;   /* keep p >= min_p * max p; 0: off */
  float repeat_penalty;  /* 1: off */
  int32_t repeat_last_n; /* ids the penalty looks back at; 0: off, -1: all */
  uint64_t seed;
} bitttt_sampling_params;

/* {temperature 0.8, top_k 40, top_p 0.95, min_p 0.05, repeat_penalty 1.0
 * (off), repeat_last_n 64, seed 0}, llama.cpp's defaults. */
BITTTT_API bitttt_sampling_params bitttt_sampling_default_params(void);

typedef struct bitttt_sampler bitttt_sampler;

/* A sampler; parameters out of range (temperature < 0, top_p outside
 * (0, 1], ...) are BITTTT_ERR_INVALID_ARGUMENT naming the field. */
BITTTT_API bitttt_status bitttt_sampler_create(
    const bitttt_sampling_params *params, bitttt_sampler **out);
BITTTT_API void bitttt_sampler_free(bitttt_sampler *sampler);
/* Forgets the accepted ids and restarts the generator from the seed. */
BITTTT_API void bitttt_sampler_reset(bitttt_sampler *sampler);
/* Changes the temperature (chat's /temp). */
BITTTT_API bitttt_status bitttt_sampler_set_temperature(bitttt_sampler *sampler,
                                                        float temperature);
/* Records an id the penalty will look back at (prompt ids, say). */
BITTTT_API bitttt_status bitttt_sampler_accept(bitttt_sampler *sampler,
                                               int32_t id);
/* The distribution a draw would use: probs[vocab], 0 for the ids the
 * filters remove, summing to 1 (greedy: 1 at the argmax). */
BITTTT_API bitttt_status bitttt_sampler_probs(const bitttt_sampler *sampler,
                                              const float *logits, size_t vocab,
                                              double *probs);
/* Draws an id from `logits` and accepts it. NaN logits never win. */
BITTTT_API bitttt_status bitttt_sampler_sample(bitttt_sampler *sampler,
                                               const float *logits,
                                               size_t vocab, int32_t *id);

/* Text of generated ids as it becomes printable: never a part of a UTF-8
 * character, never a text that may still turn into one of the stop
 * strings. */
typedef struct bitttt_text_stream bitttt_text_stream;
BITTTT_API bitttt_status bitttt_text_stream_create(
    const bitttt_tokenizer *tokenizer, const char *const *stop, size_t n_stop,
    bitttt_text_stream **out);
BITTTT_API void bitttt_text_stream_free(bitttt_text_stream *stream);
/* Feeds one id; *text / *len is the text now safe to print (valid until
 * the next call); *stopped is 1 when a stop string has completed (the text
 * before it is returned, the stop string itself is not, and later pushes
 * return nothing). Special tokens add no text. */
BITTTT_API bitttt_status bitttt_text_stream_push(bitttt_text_stream *stream,
                                                 int32_t id, const char **text,
                                                 size_t *len, int *stopped);
/* The text held back (an unfinished character or stop-string prefix), at
 * the end of generation. */
BITTTT_API bitttt_status bitttt_text_stream_flush(bitttt_text_stream *stream,
                                                  const char **text,
                                                  size_t *len);

/* The end-of-text id generation stops at: the first of the added special
 * tokens "<|endoftext|>", "</s>", "<|eot_id|>", "<|im_end|>", "<eos>" the
 * tokenizer has; BITTTT_ERR_INVALID_ARGUMENT when it has none. */
BITTTT_API bitttt_status bitttt_tokenizer_eos(const bitttt_tokenizer *tokenizer,
                                              int32_t *id);

/* ---- Evaluation and session files ---------------------------------------*/

/* Feeds n ids like bitttt_session_prefill and adds to *nll the negative
 * log-likelihood (natural log, in double) of every id the model predicted:
 * ids[0] when the session already has logits, and each later id from the
 * logits of its predecessor (all positions of a prefill chunk count);
 * *count is increased by the number of terms. Calls compose: feeding a text
 * in pieces gives the sums of feeding it at once. */
BITTTT_API bitttt_status bitttt_session_nll(bitttt_session *session,
                                            const int32_t *ids, size_t n,
                                            double *nll, size_t *count);

/* Writes the session's whole state (every TTT state value, n_past, the
 * last logits) to `path` (atomically), tagged with the model's identity
 * (a hash of its config and weights) and a checksum (docs/session-file.md).
 */
BITTTT_API bitttt_status bitttt_session_save(const bitttt_session *session,
                                             const char *path);

/* Restores a state saved by bitttt_session_save. A file from another model,
 * a truncated or corrupted one, or a value outside its range is refused
 * with a message naming the file and what is wrong, and the session is left
 * unchanged. */
BITTTT_API bitttt_status bitttt_session_load(bitttt_session *session,
                                             const char *path);

/* The model's identity as 32 hex digits (XXH3-128 of its config and
 * weights, without the compiled artifacts); computed once. */
BITTTT_API const char *bitttt_model_identity(const bitttt_model *model);

/* ---- Training (docs/training.md) ---------------------------------------
 * A trainer runs the training step a .bitt compiled with
 * `bitttt-compile --train` carries (code generated by the compiler:
 * reverse-mode autodiff, global-norm clipping, AdamW). It owns the f32
 * latent weights (initialized from the file), the AdamW moments, the step
 * counter and the random generator of the data windows; parameters and
 * moments are updated in place. Token batches are `batch x (context + 1)`
 * int32 ids, row-major: window b is inputs tokens[b][0..T-1] and targets
 * tokens[b][1..T]. */
typedef struct bitttt_trainer bitttt_trainer;

/* A trainer over `model` (which must outlive it) seeded with `seed`.
 * BITTTT_ERR_UNSUPPORTED if the file has no training step for the CPU. */
BITTTT_API bitttt_status bitttt_trainer_create(const bitttt_model *model,
                                               uint64_t seed,
                                               bitttt_trainer **out);
BITTTT_API void bitttt_trainer_free(bitttt_trainer *trainer);
/* The static shapes of the compiled step: windows per batch, tokens per
 * window (each window holds context + 1 ids). */
BITTTT_API int64_t bitttt_trainer_batch(const bitttt_trainer *trainer);
BITTTT_API int64_t bitttt_trainer_context(const bitttt_trainer *trainer);
/* Optimizer steps taken so far (AdamW's t of the last step). */
BITTTT_API int64_t bitttt_trainer_step_count(const bitttt_trainer *trainer);
/* Windows drawn so far by bitttt_trainer_draw_windows. */
BITTTT_API int64_t bitttt_trainer_windows_drawn(const bitttt_trainer *trainer);

/* Adds the gradient of the mean loss of one batch to the accumulator;
 * `loss` receives the batch's loss. */
BITTTT_API bitttt_status bitttt_trainer_accumulate(bitttt_trainer *trainer,
                                                   const int32_t *tokens,
                                                   float *loss);
/* One optimizer step with the mean of the accumulated gradients at
 * learning rate `lr`; `grad_norm` receives their global norm before
 * clipping. A non-finite gradient is refused (BITTTT_ERR_INVALID_ARGUMENT)
 * before anything is updated. */
BITTTT_API bitttt_status bitttt_trainer_apply(bitttt_trainer *trainer, float lr,
                                              float *grad_norm);
/* accumulate + apply on one batch. */
BITTTT_API bitttt_status bitttt_trainer_step(bitttt_trainer *trainer,
                                             const int32_t *tokens, float lr,
                                             float *loss, float *grad_norm);
/* The mean loss of one batch without touching the gradient accumulator
 * (validation). */
BITTTT_API bitttt_status bitttt_trainer_loss(bitttt_trainer *trainer,
                                             const int32_t *tokens,
                                             float *loss);
/* Draws `windows` random windows of context + 1 tokens from `tokens`
 * (`n_tokens` ids of `token_bytes` 2 or 4 bytes each, little endian) with
 * the trainer's generator into `out` (windows x (context + 1) int32):
 * offset = next() % (n_tokens - context), as docs/training.md. */
BITTTT_API bitttt_status bitttt_trainer_draw_windows(
    bitttt_trainer *trainer, const void *tokens, int64_t n_tokens,
    int32_t token_bytes, int32_t *out, int64_t windows);
/* Writes a checkpoint `dir`/`file` atomically: parameters, moments, step,
 * windows drawn, generator state, the model config and the caller's
 * `extra_json` (a JSON object, or NULL), with checksums. */
BITTTT_API bitttt_status bitttt_trainer_save(const bitttt_trainer *trainer,
                                             const char *dir, const char *file,
                                             const char *extra_json);
/* Restores a checkpoint written by bitttt_trainer_save for the same config
 * and shapes (else BITTTT_ERR_INVALID_ARGUMENT naming the first field that
 * differs). `extra_json` (if not NULL) receives the caller's JSON, valid
 * until the next call on this trainer. Nothing changes on failure. */
BITTTT_API bitttt_status bitttt_trainer_load(bitttt_trainer *trainer,
                                             const char *path,
                                             const char **extra_json);
/* Exports the current weights: an inference .bitt at `bitt_path` (packed
 * weights, the artifacts already compiled: weights are arguments) and/or
 * a model directory (config.json, model.safetensors, tokenizer.json) at
 * `model_dir`; either may be NULL. Files are written atomically. */
BITTTT_API bitttt_status bitttt_trainer_export(const bitttt_trainer *trainer,
                                               const char *bitt_path,
                                               const char *model_dir);
/* Restores the newest checkpoint of `dir` (step-<N>.ckpt files) that reads
 * back valid for this trainer, reporting each one skipped on stderr;
 * `path` and `extra_json` (if not NULL) name it and its caller JSON, valid
 * until the next call on this trainer. */
BITTTT_API bitttt_status bitttt_trainer_resume(bitttt_trainer *trainer,
                                               const char *dir,
                                               const char **path,
                                               const char **extra_json);
/* Keeps the newest `keep` step checkpoints of `dir` (never best.ckpt). */
BITTTT_API bitttt_status bitttt_checkpoint_prune(const char *dir, int keep);
/* Makes `dir`/best.ckpt the checkpoint `dir`/`file`, atomically. */
BITTTT_API bitttt_status bitttt_checkpoint_mark_best(const char *dir,
                                                     const char *file);
/* The latent f32 values of parameter `name` (read and write). */
BITTTT_API bitttt_status bitttt_trainer_param(bitttt_trainer *trainer,
                                              const char *name, float **data,
                                              int64_t *count);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* BITTTT_H */
