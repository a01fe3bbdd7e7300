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

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* BITTTT_H */
