/* bench/harness.c - the timing side of bench/kernels.py.
 *
 * Loaded with ctypes; every timed loop runs here in C so no Python call
 * overhead lands inside a measurement. Three kinds of measurement:
 *   - bench_entry: call a compiled
 *     `void bitttt_entry_<f>(void **, const bitttt_exec *)` R times, cycling
 *     through several buffer sets (to defeat the caches if wanted), on 1
 *     thread (exec NULL) or on a small fork-join pthread pool (below);
 *   - bench_openblas: cblas_sgemv (T = 1) / cblas_sgemm (T > 1) on a dense
 *     f32 [N, K] matrix, same cycling;
 *   - bench_read_bw: a streaming read over a buffer much larger than L3,
 *     with 1..n pthreads (DRAM read bandwidth).
 * Times are seconds per call, written into a caller-owned array.
 *
 * Build: clang-22 -O3 -march=native -shared -fPIC -pthread -Iinclude \
 *          harness.c -lopenblas
 */
#define _GNU_SOURCE
#include <cblas.h>
#include <immintrin.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bitttt/Target/CPU/ArtifactAbi.h"

/* OpenBLAS extensions (declared in OpenBLAS's cblas.h, repeated for safety). */
void openblas_set_num_threads(int);
int openblas_get_num_threads(void);

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- fork-join pool implementing bitttt_exec --------------------------
 * parallel_for(n) splits [0, n) into min(threads, n) contiguous, nearly
 * equal chunks; chunk 0 runs on the calling thread, chunk i on worker i.
 * Waiting (an idle worker for the next loop, the caller for the workers) is
 * the runtime pool's (runtime/src/ThreadPool.cpp): pause-spin for 50 us,
 * sched_yield up to 300 us, then block on a condition variable. */

#define POOL_MAX 256
#define SPIN_PAUSE_S 50e-6
#define SPIN_S 300e-6

typedef struct pool pool_t;
typedef struct {
  pool_t *pool;
  int index;
} worker_t;

struct pool {
  bitttt_exec exec; /* exec.ctx == this pool */
  int threads;
  pthread_t th[POOL_MAX];
  worker_t w[POOL_MAX];
  pthread_mutex_t mu;
  pthread_cond_t cv, done_cv;
  atomic_uint gen;     /* bumped once per parallel_for */
  atomic_int pending;  /* workers yet to finish this generation */
  atomic_int sleeping; /* workers waiting on cv */
  atomic_int caller_sleeping;
  atomic_int stop;
  /* the current loop, written before gen is bumped */
  int64_t n;
  int parts;
  bitttt_loop_body body;
  void *closure;
  long loops; /* parallel_for calls so far */
};

static int loop_ready(pool_t *p, unsigned seen) {
  return atomic_load(&p->gen) != seen || atomic_load(&p->stop);
}
static int loop_done(pool_t *p, unsigned unused) {
  (void)unused;
  return atomic_load(&p->pending) == 0;
}

/* Polls until done(p, arg) or SPIN_S passed; returns done(p, arg). */
static int spin_until(int (*done)(pool_t *, unsigned), pool_t *p,
                      unsigned arg) {
  double start = now();
  int yielding = 0;
  for (unsigned i = 1;; ++i) {
    if (done(p, arg))
      return 1;
    if (yielding)
      sched_yield();
    else
      _mm_pause();
    if (i % 64 == 0) {
      double spent = now() - start;
      if (spent > SPIN_S)
        return done(p, arg);
      yielding = spent > SPIN_PAUSE_S;
    }
  }
}

static void chunk(int64_t n, int parts, int k, int64_t *b, int64_t *e) {
  int64_t q = n / parts, r = n % parts;
  *b = q * k + (k < r ? k : r);
  *e = *b + q + (k < r);
}

static void pool_parallel_for(void *ctx, int64_t n, bitttt_loop_body body,
                              void *closure) {
  pool_t *p = (pool_t *)ctx;
  ++p->loops;
  if (n <= 0)
    return;
  int parts = n < p->threads ? (int)n : p->threads;
  if (parts == 1) {
    body(closure, 0, n);
    return;
  }
  p->n = n, p->parts = parts, p->body = body, p->closure = closure;
  atomic_store(&p->pending, p->threads - 1);
  atomic_fetch_add(&p->gen, 1); /* publishes the loop (seq_cst) */
  if (atomic_load(&p->sleeping) > 0) {
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
  }
  int64_t b, e;
  chunk(n, parts, 0, &b, &e);
  body(closure, b, e);
  if (!spin_until(loop_done, p, 0)) {
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->caller_sleeping, 1);
    while (!loop_done(p, 0))
      pthread_cond_wait(&p->done_cv, &p->mu);
    atomic_store(&p->caller_sleeping, 0);
    pthread_mutex_unlock(&p->mu);
  }
}

static void *pool_worker(void *arg) {
  worker_t *w = (worker_t *)arg;
  pool_t *p = w->pool;
  unsigned seen = 0;
  for (;;) {
    if (!spin_until(loop_ready, p, seen)) {
      pthread_mutex_lock(&p->mu);
      atomic_fetch_add(&p->sleeping, 1);
      while (!loop_ready(p, seen))
        pthread_cond_wait(&p->cv, &p->mu);
      atomic_fetch_sub(&p->sleeping, 1);
      pthread_mutex_unlock(&p->mu);
    }
    if (atomic_load(&p->stop))
      return NULL;
    seen = atomic_load(&p->gen);
    if (w->index < p->parts) {
      int64_t b, e;
      chunk(p->n, p->parts, w->index, &b, &e);
      p->body(p->closure, b, e);
    }
    if (atomic_fetch_sub(&p->pending, 1) == 1 &&
        atomic_load(&p->caller_sleeping)) {
      pthread_mutex_lock(&p->mu);
      pthread_cond_signal(&p->done_cv);
      pthread_mutex_unlock(&p->mu);
    }
  }
}

/* A pool of `threads` threads (the caller plus threads - 1 workers). */
static pool_t *pool_create(int threads) {
  pool_t *p = (pool_t *)calloc(1, sizeof *p);
  if (!p)
    return NULL;
  p->threads = threads < 1 ? 1 : threads > POOL_MAX ? POOL_MAX : threads;
  p->exec.ctx = p;
  p->exec.parallel_for = pool_parallel_for;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  pthread_cond_init(&p->done_cv, NULL);
  for (int i = 1; i < p->threads; ++i) {
    p->w[i].pool = p;
    p->w[i].index = i;
    if (pthread_create(&p->th[i], NULL, pool_worker, &p->w[i])) {
      p->threads = i; /* run with the workers that started */
      break;
    }
  }
  return p;
}

static void pool_destroy(pool_t *p) {
  if (!p)
    return;
  atomic_store(&p->stop, 1);
  pthread_mutex_lock(&p->mu);
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
  for (int i = 1; i < p->threads; ++i)
    pthread_join(p->th[i], NULL);
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->cv);
  pthread_cond_destroy(&p->done_cv);
  free(p);
}

/* One call of fn(bufs, exec): threads <= 0 passes exec NULL (returns -1);
 * otherwise a pool of `threads` (1 = no workers, loops run inline) and
 * returns how many parallel_for calls the entry made. */
long run_entry(bitttt_entry_fn fn, void **bufs, int threads) {
  if (threads <= 0) {
    fn(bufs, NULL);
    return -1;
  }
  pool_t *p = pool_create(threads);
  if (!p)
    return -2;
  fn(bufs, &p->exec);
  long loops = p->loops;
  pool_destroy(p);
  return loops;
}

/* Calls fn(sets[s * nbuf ...], exec) for s cycling over nsets buffer sets,
 * with exec NULL for threads <= 1, else a pool of `threads` threads that
 * lives for the whole measurement (created before the warm-up).
 * `warmup` untimed calls first, then timed calls until at least `min_reps`
 * were done and `min_seconds` elapsed, or `max_reps` were done.
 * Returns the number of timed calls (-1: no pool); times[i] is call i's
 * duration. */
int bench_entry(bitttt_entry_fn fn, int threads, void **sets, int nbuf,
                int nsets, int warmup, int min_reps, int max_reps,
                double min_seconds, double *times) {
  pool_t *pool = NULL;
  if (threads > 1 && !(pool = pool_create(threads)))
    return -1;
  const bitttt_exec *exec = pool ? &pool->exec : NULL;
  int s = 0;
  for (int i = 0; i < warmup; ++i) {
    fn(sets + (size_t)s * nbuf, exec);
    s = (s + 1) % nsets;
  }
  double start = now();
  int n = 0;
  while (n < max_reps && (n < min_reps || now() - start < min_seconds)) {
    double t0 = now();
    fn(sets + (size_t)s * nbuf, exec);
    times[n++] = now() - t0;
    s = (s + 1) % nsets;
  }
  pool_destroy(pool);
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
