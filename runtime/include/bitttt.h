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

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* BITTTT_H */
