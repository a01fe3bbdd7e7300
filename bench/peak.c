/* bench/peak.c - the measured int8 dot-product peak of this CPU: the
 * ceiling the BitLinear kernels' GMAC/s are stated against.
 *
 *   peak [--quick] [--threads 1,2] [--reps N]     (JSON on stdout)
 *
 * Built on first use by bench/peak.py (clang-22 -O2 -march=native -pthread
 * into bench/.cache/). Every loop is register-only (no loads or stores:
 * operands are constants the compiler cannot see through) with enough
 * independent accumulators to hide the instruction's latency, so it runs
 * at the issue rate of the dot instruction. 1 MAC = one u8 x s8 product.
 *
 *   vpdpbusd_zmm   16 accumulators, 64 MAC per instruction (AVX-512 VNNI)
 *   vpdpbusd_ymm   16 accumulators, 32 MAC per instruction (AVX-512 VL
 *                  VNNI or AVX-VNNI, whichever the compiler encodes)
 *   avx2_maddubsw_maddwd
 *                  8 chains of vpmaddubsw -> vpmaddwd(x1) -> vpaddd: the
 *                  plain AVX2 widening dot, 32 MAC per 3 instructions
 *   avx2_block     what the x86-64-v3 BitLinear loop does per 128-weight
 *                  block: 4 vpmaddubsw, 3 vpaddw, 1 vpmaddwd, 1 vpaddd
 *                  (128 MAC per 9 instructions), 4 blocks in flight
 *
 * The VNNI loops end every iteration with an empty asm that takes the
 * accumulators as in/out operands (nothing is hoisted or folded); the AVX2
 * loops are asm (see there). Each kernel runs on 1 thread and on n threads
 * (pinned to distinct CPUs of the affinity mask, started by a barrier);
 * GMAC/s = threads x MAC per thread / wall time (first start to last
 * end), best of --reps. A dependent chain of imul (3 cycles each)
 * estimates the clock, so the JSON also gives MAC per cycle.
 */
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Each kernel runs `iters` iterations and returns a value derived from its
 * accumulators (printed nowhere, kept so the work is live). */
typedef int64_t (*kernel_fn)(long iters);

#define VNNI512 __attribute__((target("avx512f,avx512bw,avx512vnni")))
#define VNNI256 __attribute__((target("avx512f,avx512vl,avx512vnni")))
#define AVX2 __attribute__((target("avx2")))

/* 16 accumulators of a 512-bit dot: 16 x 64 = 1024 MAC per iteration. */
VNNI512 __attribute__((noinline)) static int64_t k_dpbusd_zmm(long iters) {
  __m512i a = _mm512_set1_epi8(1), b = _mm512_set1_epi8(2);
  __asm__ volatile("" : "+v"(a), "+v"(b));
  __m512i c0 = _mm512_setzero_si512(), c1 = c0, c2 = c0, c3 = c0, c4 = c0,
          c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0,
          c12 = c0, c13 = c0, c14 = c0, c15 = c0;
  for (long i = 0; i < iters; ++i) {
    c0 = _mm512_dpbusd_epi32(c0, a, b);
    c1 = _mm512_dpbusd_epi32(c1, a, b);
    c2 = _mm512_dpbusd_epi32(c2, a, b);
    c3 = _mm512_dpbusd_epi32(c3, a, b);
    c4 = _mm512_dpbusd_epi32(c4, a, b);
    c5 = _mm512_dpbusd_epi32(c5, a, b);
    c6 = _mm512_dpbusd_epi32(c6, a, b);
    c7 = _mm512_dpbusd_epi32(c7, a, b);
    c8 = _mm512_dpbusd_epi32(c8, a, b);
    c9 = _mm512_dpbusd_epi32(c9, a, b);
    c10 = _mm512_dpbusd_epi32(c10, a, b);
    c11 = _mm512_dpbusd_epi32(c11, a, b);
    c12 = _mm512_dpbusd_epi32(c12, a, b);
    c13 = _mm512_dpbusd_epi32(c13, a, b);
    c14 = _mm512_dpbusd_epi32(c14, a, b);
    c15 = _mm512_dpbusd_epi32(c15, a, b);
    __asm__ volatile(""
                     : "+v"(c0), "+v"(c1), "+v"(c2), "+v"(c3), "+v"(c4),
                       "+v"(c5), "+v"(c6), "+v"(c7));
    __asm__ volatile(""
                     : "+v"(c8), "+v"(c9), "+v"(c10), "+v"(c11), "+v"(c12),
                       "+v"(c13), "+v"(c14), "+v"(c15));
  }
  __m512i s = _mm512_add_epi32(
      _mm512_add_epi32(_mm512_add_epi32(c0, c1), _mm512_add_epi32(c2, c3)),
      _mm512_add_epi32(_mm512_add_epi32(c4, c5), _mm512_add_epi32(c6, c7)));
  __m512i t = _mm512_add_epi32(
      _mm512_add_epi32(_mm512_add_epi32(c8, c9), _mm512_add_epi32(c10, c11)),
      _mm512_add_epi32(_mm512_add_epi32(c12, c13), _mm512_add_epi32(c14, c15)));
  return _mm512_reduce_add_epi32(_mm512_add_epi32(s, t));
}

/* 16 accumulators of a 256-bit dot: 16 x 32 = 512 MAC per iteration. */
VNNI256 __attribute__((noinline)) static int64_t k_dpbusd_ymm(long iters) {
  __m256i a = _mm256_set1_epi8(1), b = _mm256_set1_epi8(2);
  __asm__ volatile("" : "+v"(a), "+v"(b));
  __m256i c0 = _mm256_setzero_si256(), c1 = c0, c2 = c0, c3 = c0, c4 = c0,
          c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0,
          c12 = c0, c13 = c0, c14 = c0, c15 = c0;
  for (long i = 0; i < iters; ++i) {
    c0 = _mm256_dpbusd_epi32(c0, a, b);
    c1 = _mm256_dpbusd_epi32(c1, a, b);
    c2 = _mm256_dpbusd_epi32(c2, a, b);
    c3 = _mm256_dpbusd_epi32(c3, a, b);
    c4 = _mm256_dpbusd_epi32(c4, a, b);
    c5 = _mm256_dpbusd_epi32(c5, a, b);
    c6 = _mm256_dpbusd_epi32(c6, a, b);
    c7 = _mm256_dpbusd_epi32(c7, a, b);
    c8 = _mm256_dpbusd_epi32(c8, a, b);
    c9 = _mm256_dpbusd_epi32(c9, a, b);
    c10 = _mm256_dpbusd_epi32(c10, a, b);
    c11 = _mm256_dpbusd_epi32(c11, a, b);
    c12 = _mm256_dpbusd_epi32(c12, a, b);
    c13 = _mm256_dpbusd_epi32(c13, a, b);
    c14 = _mm256_dpbusd_epi32(c14, a, b);
    c15 = _mm256_dpbusd_epi32(c15, a, b);
    __asm__ volatile(""
                     : "+v"(c0), "+v"(c1), "+v"(c2), "+v"(c3), "+v"(c4),
                       "+v"(c5), "+v"(c6), "+v"(c7));
    __asm__ volatile(""
                     : "+v"(c8), "+v"(c9), "+v"(c10), "+v"(c11), "+v"(c12),
                       "+v"(c13), "+v"(c14), "+v"(c15));
  }
  __m256i s = _mm256_add_epi32(
      _mm256_add_epi32(_mm256_add_epi32(c0, c1), _mm256_add_epi32(c2, c3)),
      _mm256_add_epi32(_mm256_add_epi32(c4, c5), _mm256_add_epi32(c6, c7)));
  __m256i t = _mm256_add_epi32(
      _mm256_add_epi32(_mm256_add_epi32(c8, c9), _mm256_add_epi32(c10, c11)),
      _mm256_add_epi32(_mm256_add_epi32(c12, c13), _mm256_add_epi32(c14, c15)));
  s = _mm256_add_epi32(s, t);
  return _mm256_extract_epi32(s, 0) + _mm256_extract_epi32(s, 7);
}

/* The AVX2 loops are written in asm: with intrinsics the compiler hoists
 * or shares a vpmaddubsw whose operands do not change, and fuses vpmaddwd +
 * vpaddd into vpdpwssd where VNNI exists. "x" operands are xmm0-15, so
 * every instruction is VEX-encoded AVX2. */

/* One widening dot step: acc += maddwd(maddubs(a, b), 1). */
#define AVX2_STEP(c)                                                           \
  "vpmaddubsw %[b], %[a], %[t]\n\t"                                            \
  "vpmaddwd %[one], %[t], %[t]\n\t"                                            \
  "vpaddd %[t], %[" c "], %[" c "]\n\t"

/* 8 chains x 32 MAC = 256 MAC per iteration. */
AVX2 __attribute__((noinline)) static int64_t k_avx2_seq(long iters) {
  __m256i a = _mm256_set1_epi8(1), b = _mm256_set1_epi8(2);
  __m256i one = _mm256_set1_epi16(1);
  __m256i c0 = _mm256_setzero_si256(), c1 = c0, c2 = c0, c3 = c0, c4 = c0,
          c5 = c0, c6 = c0, c7 = c0, t;
  for (long i = 0; i < iters; ++i)
    __asm__ volatile(AVX2_STEP("c0") AVX2_STEP("c1") AVX2_STEP("c2")
                         AVX2_STEP("c3") AVX2_STEP("c4") AVX2_STEP("c5")
                             AVX2_STEP("c6") AVX2_STEP("c7")
                     : [c0] "+x"(c0), [c1] "+x"(c1), [c2] "+x"(c2),
                       [c3] "+x"(c3), [c4] "+x"(c4), [c5] "+x"(c5),
                       [c6] "+x"(c6), [c7] "+x"(c7), [t] "=&x"(t)
                     : [a] "x"(a), [b] "x"(b), [one] "x"(one));
  __m256i s = _mm256_add_epi32(
      _mm256_add_epi32(_mm256_add_epi32(c0, c1), _mm256_add_epi32(c2, c3)),
      _mm256_add_epi32(_mm256_add_epi32(c4, c5), _mm256_add_epi32(c6, c7)));
  return _mm256_extract_epi32(s, 0) + _mm256_extract_epi32(s, 7);
}

/* One 128-weight block as the x86-64-v3 BitLinear loop computes it: four
 * 32-byte products summed as words, widened once, added once. */
#define AVX2_BLOCK(c)                                                          \
  "vpmaddubsw %[b], %[a], %[p0]\n\t"                                           \
  "vpmaddubsw %[b], %[a], %[p1]\n\t"                                           \
  "vpmaddubsw %[b], %[a], %[p2]\n\t"                                           \
  "vpmaddubsw %[b], %[a], %[p3]\n\t"                                           \
  "vpaddw %[p1], %[p0], %[p0]\n\t"                                             \
  "vpaddw %[p3], %[p2], %[p2]\n\t"                                             \
  "vpaddw %[p2], %[p0], %[p0]\n\t"                                             \
  "vpmaddwd %[one], %[p0], %[p0]\n\t"                                          \
  "vpaddd %[p0], %[" c "], %[" c "]\n\t"

/* 4 blocks x 128 MAC = 512 MAC per iteration. */
AVX2 __attribute__((noinline)) static int64_t k_avx2_block(long iters) {
  __m256i a = _mm256_set1_epi8(1), b = _mm256_set1_epi8(-1);
  __m256i one = _mm256_set1_epi16(1);
  __m256i c0 = _mm256_setzero_si256(), c1 = c0, c2 = c0, c3 = c0, p0, p1, p2,
          p3;
  for (long i = 0; i < iters; ++i)
    __asm__ volatile(
        AVX2_BLOCK("c0") AVX2_BLOCK("c1") AVX2_BLOCK("c2") AVX2_BLOCK("c3")
        : [c0] "+x"(c0), [c1] "+x"(c1), [c2] "+x"(c2), [c3] "+x"(c3),
          [p0] "=&x"(p0), [p1] "=&x"(p1), [p2] "=&x"(p2), [p3] "=&x"(p3)
        : [a] "x"(a), [b] "x"(b), [one] "x"(one));
  __m256i s =
      _mm256_add_epi32(_mm256_add_epi32(c0, c1), _mm256_add_epi32(c2, c3));
  return _mm256_extract_epi32(s, 0) + _mm256_extract_epi32(s, 7);
}

/* A dependent chain of 64-bit imul: 3 cycles each on every x86-64 core
 * of the last decade (a chain of immediate adds is not a clock: recent
 * Intel cores fold those at rename). */
__attribute__((noinline)) static int64_t k_imul_chain(long iters) {
  uint64_t v = 3;
  for (long i = 0; i < iters; ++i)
    __asm__ volatile("imul %0, %0\n\timul %0, %0\n\timul %0, %0\n\t"
                     "imul %0, %0\n\timul %0, %0\n\timul %0, %0\n\t"
                     "imul %0, %0\n\timul %0, %0"
                     : "+r"(v));
  return (int64_t)v;
}

typedef struct {
  const char *name;
  kernel_fn fn;
  const char *isa; /* __builtin_cpu_supports names, comma-separated */
  int mac_per_iter;
  int dot_instr_per_iter; /* vpdpbusd / vpmaddubsw per iteration */
  long iters_full;        /* ~0.1-0.3 s per run at 3-4 GHz */
  const char *what;
} kernel_t;

static const kernel_t KERNELS[] = {
    {"vpdpbusd_zmm", k_dpbusd_zmm, "avx512vnni", 1024, 16, 40000000L,
     "vpdpbusd zmm, 16 independent accumulators"},
    {"vpdpbusd_ymm", k_dpbusd_ymm, "avx512vnni,avx512vl", 512, 16, 40000000L,
     "vpdpbusd ymm, 16 independent accumulators"},
    {"avx2_maddubsw_maddwd", k_avx2_seq, "avx2", 256, 8, 60000000L,
     "8 chains of vpmaddubsw -> vpmaddwd(x1) -> vpaddd (ymm)"},
    {"avx2_block", k_avx2_block, "avx2", 512, 16, 40000000L,
     "x86-64-v3 BitLinear block: 4 vpmaddubsw, 3 vpaddw, 1 vpmaddwd, "
     "1 vpaddd (ymm), 4 blocks in flight"},
};
#define NKERNELS (int)(sizeof KERNELS / sizeof KERNELS[0])

static int supported(const char *isa) {
  char buf[64];
  snprintf(buf, sizeof buf, "%s", isa);
  for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
    if (!strcmp(tok, "avx512vnni") && !__builtin_cpu_supports("avx512vnni"))
      return 0;
    if (!strcmp(tok, "avx512vl") && !__builtin_cpu_supports("avx512vl"))
      return 0;
    if (!strcmp(tok, "avx2") && !__builtin_cpu_supports("avx2"))
      return 0;
  }
  return 1;
}

/* ---- threads ----------------------------------------------------------- */

typedef struct {
  kernel_fn fn;
  long iters;
  int cpu; /* -1: no pinning */
  pthread_barrier_t *barrier;
  double t0, t1;
  int64_t sink;
} job_t;

static void *job_main(void *arg) {
  job_t *j = (job_t *)arg;
  if (j->cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(j->cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  }
  pthread_barrier_wait(j->barrier);
  j->t0 = now();
  j->sink = j->fn(j->iters);
  j->t1 = now();
  return NULL;
}

static int cpus[1024];
static int ncpus;

/* Wall seconds of `threads` copies of fn(iters) started together. */
static double run_threads(kernel_fn fn, long iters, int threads) {
  job_t jobs[1024];
  pthread_t th[1024];
  pthread_barrier_t barrier;
  pthread_barrier_init(&barrier, NULL, (unsigned)threads);
  for (int t = 0; t < threads; ++t) {
    jobs[t] = (job_t){
        fn, iters, threads > 1 ? cpus[t % ncpus] : -1, &barrier, 0, 0, 0};
    if (t > 0)
      pthread_create(&th[t], NULL, job_main, &jobs[t]);
  }
  /* The calling thread is job 0; restore its affinity afterwards. */
  cpu_set_t saved;
  sched_getaffinity(0, sizeof saved, &saved);
  job_main(&jobs[0]);
  sched_setaffinity(0, sizeof saved, &saved);
  double t0 = jobs[0].t0, t1 = jobs[0].t1;
  for (int t = 1; t < threads; ++t) {
    pthread_join(th[t], NULL);
    if (jobs[t].t0 < t0)
      t0 = jobs[t].t0;
    if (jobs[t].t1 > t1)
      t1 = jobs[t].t1;
  }
  pthread_barrier_destroy(&barrier);
  volatile int64_t sink = jobs[0].sink;
  (void)sink;
  return t1 - t0;
}

static void usage(void) {
  fprintf(stderr, "usage: peak [--quick] [--threads N[,N...]] [--reps N]\n"
                  "  --threads: 0 = all CPUs of the affinity mask "
                  "(default 1,0)\n");
  exit(2);
}

int main(int argc, char **argv) {
  int quick = 0, reps = 5;
  const char *threads_arg = "1,0";
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--quick"))
      quick = 1;
    else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
      threads_arg = argv[++i];
    else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
      reps = atoi(argv[++i]);
    else
      usage();
  }
  if (reps < 1)
    usage();
  if (quick && reps == 5)
    reps = 3;

  cpu_set_t set;
  sched_getaffinity(0, sizeof set, &set);
  for (int c = 0; c < CPU_SETSIZE && ncpus < 1024; ++c)
    if (CPU_ISSET(c, &set))
      cpus[ncpus++] = c;

  int thread_list[16], nthreads = 0;
  char buf[256];
  snprintf(buf, sizeof buf, "%s", threads_arg);
  for (char *tok = strtok(buf, ","); tok && nthreads < 16;
       tok = strtok(NULL, ",")) {
    char *end;
    long v = strtol(tok, &end, 10);
    if (*end || v < 0 || v > 1024) {
      fprintf(stderr, "peak: bad --threads entry '%s'\n", tok);
      return 2;
    }
    int t = v == 0 ? ncpus : (int)v, dup = 0;
    for (int k = 0; k < nthreads; ++k)
      dup |= thread_list[k] == t;
    if (!dup)
      thread_list[nthreads++] = t;
  }
  if (!nthreads)
    usage();

  long scale = quick ? 20 : 1; /* --quick: 1/20 of the iterations */
  long mul_iters = 10000000L / scale;
  double mul_best = 1e30;
  for (int r = 0; r < reps; ++r) {
    double t = run_threads(k_imul_chain, mul_iters, 1);
    if (t < mul_best)
      mul_best = t;
  }
  double ns_per_cycle = mul_best / (3.0 * 8.0 * (double)mul_iters) * 1e9;

  printf("{\n  \"benchmark\": \"bitttt int8 dot peak (bench/peak.c)\",\n");
  printf("  \"quick\": %s,\n  \"reps\": %d,\n  \"cpus_usable\": %d,\n",
         quick ? "true" : "false", reps, ncpus);
  printf("  \"mac\": \"one u8 x s8 product\",\n");
  printf("  \"est_GHz_from_imul_chain\": %.3f,\n", 1.0 / ns_per_cycle);
  printf("  \"kernels\": [");
  int first = 1;
  for (int k = 0; k < NKERNELS; ++k) {
    const kernel_t *kn = &KERNELS[k];
    printf("%s\n    {\"name\": \"%s\", \"what\": \"%s\", \"isa\": \"%s\", "
           "\"mac_per_iter\": %d, \"dot_instr_per_iter\": %d",
           first ? "" : ",", kn->name, kn->what, kn->isa, kn->mac_per_iter,
           kn->dot_instr_per_iter);
    first = 0;
    if (!supported(kn->isa)) {
      printf(", \"supported\": false}");
      continue;
    }
    long iters = kn->iters_full / scale;
    printf(", \"supported\": true, \"iters_per_thread\": %ld, \"runs\": [",
           iters);
    for (int ti = 0; ti < nthreads; ++ti) {
      int threads = thread_list[ti];
      double best = 1e30, worst = 0;
      run_threads(kn->fn, iters / 10 + 1, threads); /* warm-up */
      for (int r = 0; r < reps; ++r) {
        double t = run_threads(kn->fn, iters, threads);
        if (t < best)
          best = t;
        if (t > worst)
          worst = t;
      }
      double macs = (double)threads * (double)iters * kn->mac_per_iter;
      double gmacs = macs / best / 1e9;
      printf("%s{\"threads\": %d, \"s_best\": %.6f, \"s_worst\": %.6f, "
             "\"GMACps\": %.2f, \"GMACps_per_thread\": %.2f, "
             "\"GMACps_worst\": %.2f, \"MAC_per_cycle_per_thread\": %.2f, "
             "\"dot_instr_per_cycle_per_thread\": %.3f}",
             ti ? ", " : "", threads, best, worst, gmacs, gmacs / threads,
             macs / worst / 1e9, gmacs / threads * ns_per_cycle,
             gmacs / threads * ns_per_cycle * kn->dot_instr_per_iter /
                 kn->mac_per_iter);
    }
    printf("]}");
  }
  printf("\n  ]\n}\n");
  return 0;
}
