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
  BITTTT_ERR_UNSUPPORTED = 4,      /* valid, but not supported here (CPU, GPU) */
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
  int ndim;                        /* 0 for a scalar */
  int64_t shape[BITTTT_MAX_DIMS];  /* shape[0..ndim-1]; the rest are 0 */
  const void *data;
  uint64_t nbytes;                 /* product(shape) * element size */
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

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* BITTTT_H */
