/* bench/harness.c - the timing side of bench/kernels.py.
 *
 * Loaded with ctypes; every timed loop runs here in C so no Python call
 * overhead lands inside a measurement. Three kinds of measurement:
 *   - bench_entry: call a compiled `void bitttt_entry_<f>(void **)` R times,
 *     cycling through several buffer sets (to defeat the caches if wanted);
 *   - bench_openblas: cblas_sgemv (T = 1) / cblas_sgemm (T > 1) on a dense
 *     f32 [N, K] matrix, same cycling;
 *   - bench_read_bw: a streaming read over a buffer much larger than L3,
 *     with 1..n pthreads (DRAM read bandwidth).
 * Times are seconds per call, written into a caller-owned array.
 *
 * Build: clang-22 -O3 -march=native -shared -fPIC harness.c -lopenblas -lpthread
 */
#define _GNU_SOURCE
#include <cblas.h>
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* OpenBLAS extensions (declared in OpenBLAS's cblas.h, repeated for safety). */
void openblas_set_num_threads(int);
int openblas_get_num_threads(void);

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef void (*entry_fn)(void **);

/* Calls fn(sets[s * nbuf ...]) for s cycling over nsets buffer sets.
 * `warmup` untimed calls first, then timed calls until at least `min_reps`
 * were done and `min_seconds` elapsed, or `max_reps` were done.
 * Returns the number of timed calls; times[i] is call i's duration. */
int bench_entry(entry_fn fn, void **sets, int nbuf, int nsets, int warmup,
                int min_reps, int max_reps, double min_seconds,
                double *times) {
  int s = 0;
  for (int i = 0; i < warmup; ++i) {
    fn(sets + (size_t)s * nbuf);
    s = (s + 1) % nsets;
  }
  double start = now();
  int n = 0;
  while (n < max_reps && (n < min_reps || now() - start < min_seconds)) {
    double t0 = now();
    fn(sets + (size_t)s * nbuf);
    times[n++] = now() - t0;
    s = (s + 1) % nsets;
  }
  return n;
}

int openblas_threads(int n) {
  if (n > 0)
    openblas_set_num_threads(n);
  return openblas_get_num_threads();
}

/* y[T, N] = x[T, K] · A[N, K]ᵀ with A cycling over `nsets` matrices;
 * same repetition policy as bench_entry. */
static void blas_call(const float *a, const float *x, float *y, int T, int N,
                      int K) {
  if (T == 1)
    cblas_sgemv(CblasRowMajor, CblasNoTrans, N, K, 1.0f, a, K, x, 1, 0.0f, y,
                1);
  else
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, N, K, 1.0f, x, K,
                a, K, 0.0f, y, N);
}

int bench_openblas(const float **mats, int nsets, const float *x, float *y,
                   int T, int N, int K, int warmup, int min_reps, int max_reps,
                   double min_seconds, double *times) {
  int s = 0;
  for (int i = 0; i < warmup; ++i) {
    blas_call(mats[s], x, y, T, N, K);
    s = (s + 1) % nsets;
  }
  double start = now();
  int n = 0;
  while (n < max_reps && (n < min_reps || now() - start < min_seconds)) {
    double t0 = now();
    blas_call(mats[s], x, y, T, N, K);
    times[n++] = now() - t0;
    s = (s + 1) % nsets;
  }
  return n;
}

/* ---- DRAM read bandwidth -------------------------------------------- */

typedef struct {
  const uint8_t *base;
  size_t bytes;
  pthread_barrier_t *barrier;
  double t0, t1;
  uint64_t sink;
} reader_t;

static uint64_t read_range(const uint8_t *p, size_t bytes) {
#if defined(__AVX512F__)
  __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i + 256 <= bytes; i += 256) {
    a0 = _mm512_xor_si512(a0, _mm512_load_si512((const void *)(p + i)));
    a1 = _mm512_xor_si512(a1, _mm512_load_si512((const void *)(p + i + 64)));
    a2 = _mm512_xor_si512(a2, _mm512_load_si512((const void *)(p + i + 128)));
    a3 = _mm512_xor_si512(a3, _mm512_load_si512((const void *)(p + i + 192)));
  }
  a0 = _mm512_xor_si512(_mm512_xor_si512(a0, a1), _mm512_xor_si512(a2, a3));
  return (uint64_t)_mm512_reduce_or_epi64(a0);
#else
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i + 128 <= bytes; i += 128) {
    a0 = _mm256_xor_si256(a0, _mm256_load_si256((const void *)(p + i)));
    a1 = _mm256_xor_si256(a1, _mm256_load_si256((const void *)(p + i + 32)));
    a2 = _mm256_xor_si256(a2, _mm256_load_si256((const void *)(p + i + 64)));
    a3 = _mm256_xor_si256(a3, _mm256_load_si256((const void *)(p + i + 96)));
  }
  a0 = _mm256_xor_si256(_mm256_xor_si256(a0, a1), _mm256_xor_si256(a2, a3));
  return (uint64_t)_mm256_extract_epi64(a0, 0) ^
         (uint64_t)_mm256_extract_epi64(a0, 3);
#endif
}

static void *reader_main(void *arg) {
  reader_t *r = (reader_t *)arg;
  pthread_barrier_wait(r->barrier);
  r->t0 = now();
  r->sink = read_range(r->base, r->bytes);
  r->t1 = now();
  return NULL;
}

/* Reads `bytes` of `buf` (64-byte aligned) split over `threads` threads,
 * `reps` times; times[i] = wall time of pass i (first start to last end).
 * Returns a value derived from the data so the reads cannot be elided. */
uint64_t bench_read_bw(const uint8_t *buf, size_t bytes, int threads, int reps,
                       double *times) {
  uint64_t sink = 0;
  size_t chunk = (bytes / (size_t)threads) & ~(size_t)255;
  for (int rep = 0; rep < reps; ++rep) {
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, (unsigned)threads);
    reader_t rd[256];
    pthread_t th[256];
    for (int t = 0; t < threads; ++t) {
      rd[t].base = buf + (size_t)t * chunk;
      rd[t].bytes = chunk;
      rd[t].barrier = &barrier;
      if (t > 0)
        pthread_create(&th[t], NULL, reader_main, &rd[t]);
    }
    reader_main(&rd[0]);
    for (int t = 1; t < threads; ++t)
      pthread_join(th[t], NULL);
    double t0 = rd[0].t0, t1 = rd[0].t1;
    for (int t = 0; t < threads; ++t) {
      if (rd[t].t0 < t0) t0 = rd[t].t0;
      if (rd[t].t1 > t1) t1 = rd[t].t1;
      sink ^= rd[t].sink;
    }
    times[rep] = t1 - t0;
    pthread_barrier_destroy(&barrier);
  }
  return sink;
}
