/* ArtifactAbi.h - the call ABI between the runtime and compiled CPU code.
 *
 * Plain C, shared by the compiler (which generates code against it) and the
 * runtime (which calls that code); docs/abi.md is the prose.
 *
 * Every compiled model function is exported as
 *
 *   void bitttt_entry_<function>(void **buffers, const bitttt_exec *exec);
 *
 * `buffers` holds the base addresses of the function's inputs, then its
 * outputs, in the order of its ABI description. `exec` is the executor the
 * call runs on: its parallel loops (the rows of packed BitLinears, of the
 * LM head) call exec->parallel_for, which must run body(closure, begin, end)
 * over a partition of [0, n) and return when every part is done. A NULL
 * exec (or a NULL parallel_for) runs each loop on the calling thread.
 *
 * The artifact also exports `const char bitttt_abi[]`, a JSON description
 * of every entry point (symbol, buffers with role, name, dtype, shape and
 * valid ranges) that the runtime compares with the .bitt header before it
 * calls anything.
 */
#ifndef BITTTT_TARGET_CPU_ARTIFACTABI_H
#define BITTTT_TARGET_CPU_ARTIFACTABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Version of this call ABI; the artifact's bitttt_abi says which it was
 * compiled for ("abi_version"). 2: entry(buffers, exec). */
#define BITTTT_ARTIFACT_ABI_VERSION 2

/* Symbol of the artifact's ABI description. */
#define BITTTT_ARTIFACT_ABI_SYMBOL "bitttt_abi"
/* Entry points are BITTTT_ENTRY_PREFIX + the function's name. */
#define BITTTT_ENTRY_PREFIX "bitttt_entry_"

/* The most tokens one call takes (2^24): bitttt-compile refuses a larger
 * --prefill-chunk, the runtime a header whose "tokens" says more. */
#define BITTTT_MAX_CALL_TOKENS (1 << 24)

/* One part of a parallel loop: iterations [begin, end). */
typedef void (*bitttt_loop_body)(void *closure, int64_t begin, int64_t end);

/* Runs body over [0, n) and returns when it is done. */
typedef void (*bitttt_parallel_for_fn)(void *ctx, int64_t n,
                                       bitttt_loop_body body, void *closure);

typedef struct bitttt_exec {
  void *ctx;                           /* passed back to parallel_for */
  bitttt_parallel_for_fn parallel_for; /* NULL: loops run sequentially */
} bitttt_exec;

typedef void (*bitttt_entry_fn)(void **buffers, const bitttt_exec *exec);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* BITTTT_TARGET_CPU_ARTIFACTABI_H */
