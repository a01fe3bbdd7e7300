/* bench/micro_dot.c - why the generated x86-64-v4 (VNNI) BitLinear kernel is
 * slower than the AVX2 one, and what the i2_b128 layout allows.
 *
 *   clang-22 -O3 -march=native -o micro_dot bench/micro_dot.c && ./micro_dot
 *
 * Part 1: latency and throughput of vpdpbusd / vpmaddubsw / vpaddd (ns per
 * instruction for a dependent chain and for 8 independent chains; a chain
 * of scalar adds, one cycle per add, gives the clock).
 * Part 2: hand-written T = 1 dot kernels over the i2_b128 layout
 * (docs/packing.md), int32 result Σ q·x − Σ x per row, all checked equal:
 *   avx2_1acc   what bitttt-lower-x86-dot emits for x86-64-v3 (4 vpmaddubsw,
 *               paddw tree, vpmaddwd, one vpaddd into the accumulator)
 *   vnni_1acc   what it emits for x86-64-v4 (4 ymm vpdpbusd into ONE
 *               accumulator: a serial chain through vpdpbusd's latency)
 *   vnni_4acc   the same instructions, one accumulator per k = 0..3
 *   vnni512_4acc zmm: two blocks per load, 4 accumulators
 * Output: one JSON document on stdout.
 */
#include <immintrin.h>
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

/* ---- part 1: instruction latency / throughput ------------------------- */
#define ITERS 20000000L

__attribute__((noinline)) static double chain_dpbusd(int nacc) {
  __m256i a = _mm256_set1_epi8(1), b = _mm256_set1_epi8(2);
  __m256i c0 = _mm256_setzero_si256(), c1 = c0, c2 = c0, c3 = c0, c4 = c0,
          c5 = c0, c6 = c0, c7 = c0;
  double t0 = now();
  if (nacc == 1) {
    for (long i = 0; i < ITERS; ++i) {
      c0 = _mm256_dpbusd_epi32(c0, a, b);
      c0 = _mm256_dpbusd_epi32(c0, a, b);
      c0 = _mm256_dpbusd_epi32(c0, a, b);
      c0 = _mm256_dpbusd_epi32(c0, a, b);
      c0 = _mm256_dpbusd_epi32(c0, a, b);
      c0 = _mm256_dpbusd_epi32(c0, a, b);
      c0 = _mm256_dpbusd_epi32(c0, a, b);
      c0 = _mm256_dpbusd_epi32(c0, a, b);
      __asm__ volatile("" : "+x"(c0));
    }
  } else {
    for (long i = 0; i < ITERS; ++i) {
      c0 = _mm256_dpbusd_epi32(c0, a, b);
      c1 = _mm256_dpbusd_epi32(c1, a, b);
      c2 = _mm256_dpbusd_epi32(c2, a, b);
      c3 = _mm256_dpbusd_epi32(c3, a, b);
      c4 = _mm256_dpbusd_epi32(c4, a, b);
      c5 = _mm256_dpbusd_epi32(c5, a, b);
      c6 = _mm256_dpbusd_epi32(c6, a, b);
      c7 = _mm256_dpbusd_epi32(c7, a, b);
      __asm__ volatile("" : "+x"(c0), "+x"(c1), "+x"(c2), "+x"(c3), "+x"(c4),
                       "+x"(c5), "+x"(c6), "+x"(c7));
    }
  }
  double t = now() - t0;
  __m256i s = _mm256_add_epi32(_mm256_add_epi32(c0, c1), _mm256_add_epi32(c2, c3));
  s = _mm256_add_epi32(s, _mm256_add_epi32(_mm256_add_epi32(c4, c5), _mm256_add_epi32(c6, c7)));
  volatile int sink = _mm256_extract_epi32(s, 0);
  (void)sink;
  return t / (8.0 * ITERS) * 1e9;
}

__attribute__((noinline)) static double chain_dpbusd512(int nacc) {
  __m512i a = _mm512_set1_epi8(1), b = _mm512_set1_epi8(2);
  __m512i c0 = _mm512_setzero_si512(), c1 = c0, c2 = c0, c3 = c0, c4 = c0,
          c5 = c0, c6 = c0, c7 = c0;
  double t0 = now();
  if (nacc == 1) {
    for (long i = 0; i < ITERS; ++i) {
      for (int k = 0; k < 8; ++k)
        c0 = _mm512_dpbusd_epi32(c0, a, b);
      __asm__ volatile("" : "+v"(c0));
    }
  } else {
    for (long i = 0; i < ITERS; ++i) {
      c0 = _mm512_dpbusd_epi32(c0, a, b);
      c1 = _mm512_dpbusd_epi32(c1, a, b);
      c2 = _mm512_dpbusd_epi32(c2, a, b);
      c3 = _mm512_dpbusd_epi32(c3, a, b);
      c4 = _mm512_dpbusd_epi32(c4, a, b);
      c5 = _mm512_dpbusd_epi32(c5, a, b);
      c6 = _mm512_dpbusd_epi32(c6, a, b);
      c7 = _mm512_dpbusd_epi32(c7, a, b);
      __asm__ volatile("" : "+v"(c0), "+v"(c1), "+v"(c2), "+v"(c3), "+v"(c4),
                       "+v"(c5), "+v"(c6), "+v"(c7));
    }
  }
  double t = now() - t0;
  __m512i s = _mm512_add_epi32(_mm512_add_epi32(c0, c1), _mm512_add_epi32(c2, c3));
  s = _mm512_add_epi32(s, _mm512_add_epi32(_mm512_add_epi32(c4, c5), _mm512_add_epi32(c6, c7)));
  volatile int sink = _mm512_reduce_add_epi32(s);
  (void)sink;
  return t / (8.0 * ITERS) * 1e9;
}

/* Clock: a chain of dependent scalar adds is one cycle per add on any
 * x86 core of the last decade. */
__attribute__((noinline)) static double chain_add(void) {
  uint64_t v = 0;
  double t0 = now();
  for (long i = 0; i < ITERS; ++i)
    __asm__ volatile("add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
                     "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
                     "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
                     "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0"
                     : "+r"(v));
  double t = now() - t0;
  volatile uint64_t sink = v;
  (void)sink;
  return t / (16.0 * ITERS) * 1e9;
}

__attribute__((noinline)) static double chain_paddd(void) {
  __m256i a = _mm256_set1_epi32(1), c0 = _mm256_setzero_si256();
  double t0 = now();
  for (long i = 0; i < ITERS; ++i) {
    for (int k = 0; k < 8; ++k) {
      c0 = _mm256_add_epi32(c0, a);
      __asm__ volatile("" : "+x"(c0));
    }
  }
  double t = now() - t0;
  volatile int sink = _mm256_extract_epi32(c0, 0);
  (void)sink;
  return t / (8.0 * ITERS) * 1e9;
}

__attribute__((noinline)) static double chain_maddubs(void) {
  __m256i a = _mm256_set1_epi8(1), c0 = _mm256_set1_epi8(1);
  double t0 = now();
  for (long i = 0; i < ITERS; ++i) {
    for (int k = 0; k < 8; ++k) {
      c0 = _mm256_maddubs_epi16(a, c0);
      __asm__ volatile("" : "+x"(c0));
    }
  }
  double t = now() - t0;
  volatile int sink = _mm256_extract_epi32(c0, 0);
  (void)sink;
  return t / (8.0 * ITERS) * 1e9;
}

/* ---- part 2: T = 1 kernels on i2_b128 ---------------------------------- */

static int32_t hsum256(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xee));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x55));
  return _mm_cvtsi128_si32(s);
}

typedef void (*kernel_t)(const uint8_t *, const int8_t *, int32_t, int, int, int32_t *);

/* codes [N, K/4], x [K] int8, sx = Σx; K multiple of 256. */
__attribute__((noinline)) static void avx2_1acc(const uint8_t *w, const int8_t *x,
                                                int32_t sx, int N, int K, int32_t *y) {
  const __m256i m3 = _mm256_set1_epi8(3), one16 = _mm256_set1_epi16(1);
  int rb = K / 4;
  for (int r = 0; r < N; ++r) {
    const uint8_t *row = w + (size_t)r * rb;
    __m256i acc = _mm256_setzero_si256();
    for (int b = 0; b < K / 128; ++b) {
      __m256i v = _mm256_loadu_si256((const __m256i *)(row + 32 * b));
      const int8_t *xb = x + 128 * b;
      __m256i p0 = _mm256_maddubs_epi16(_mm256_and_si256(v, m3),
                                        _mm256_loadu_si256((const __m256i *)xb));
      __m256i p1 = _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(v, 2), m3),
                                        _mm256_loadu_si256((const __m256i *)(xb + 32)));
      __m256i p2 = _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(v, 4), m3),
                                        _mm256_loadu_si256((const __m256i *)(xb + 64)));
      __m256i p3 = _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(v, 6), m3),
                                        _mm256_loadu_si256((const __m256i *)(xb + 96)));
      __m256i s = _mm256_add_epi16(_mm256_add_epi16(p0, p1), _mm256_add_epi16(p2, p3));
      acc = _mm256_add_epi32(acc, _mm256_madd_epi16(s, one16));
    }
    y[r] = hsum256(acc) - sx;
  }
}

__attribute__((noinline)) static void vnni_1acc(const uint8_t *w, const int8_t *x,
                                                int32_t sx, int N, int K, int32_t *y) {
  const __m256i m3 = _mm256_set1_epi8(3);
  int rb = K / 4;
  for (int r = 0; r < N; ++r) {
    const uint8_t *row = w + (size_t)r * rb;
    __m256i acc = _mm256_setzero_si256();
    for (int b = 0; b < K / 128; ++b) {
      __m256i v = _mm256_loadu_si256((const __m256i *)(row + 32 * b));
      const int8_t *xb = x + 128 * b;
      acc = _mm256_dpbusd_epi32(acc, _mm256_and_si256(v, m3),
                                _mm256_loadu_si256((const __m256i *)xb));
      acc = _mm256_dpbusd_epi32(acc, _mm256_and_si256(_mm256_srli_epi16(v, 2), m3),
                                _mm256_loadu_si256((const __m256i *)(xb + 32)));
      acc = _mm256_dpbusd_epi32(acc, _mm256_and_si256(_mm256_srli_epi16(v, 4), m3),
                                _mm256_loadu_si256((const __m256i *)(xb + 64)));
      acc = _mm256_dpbusd_epi32(acc, _mm256_and_si256(_mm256_srli_epi16(v, 6), m3),
                                _mm256_loadu_si256((const __m256i *)(xb + 96)));
    }
    y[r] = hsum256(acc) - sx;
  }
}

__attribute__((noinline)) static void vnni_4acc(const uint8_t *w, const int8_t *x,
                                                int32_t sx, int N, int K, int32_t *y) {
  const __m256i m3 = _mm256_set1_epi8(3);
  int rb = K / 4;
  for (int r = 0; r < N; ++r) {
    const uint8_t *row = w + (size_t)r * rb;
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (int b = 0; b < K / 128; ++b) {
      __m256i v = _mm256_loadu_si256((const __m256i *)(row + 32 * b));
      const int8_t *xb = x + 128 * b;
      a0 = _mm256_dpbusd_epi32(a0, _mm256_and_si256(v, m3),
                               _mm256_loadu_si256((const __m256i *)xb));
      a1 = _mm256_dpbusd_epi32(a1, _mm256_and_si256(_mm256_srli_epi16(v, 2), m3),
                               _mm256_loadu_si256((const __m256i *)(xb + 32)));
      a2 = _mm256_dpbusd_epi32(a2, _mm256_and_si256(_mm256_srli_epi16(v, 4), m3),
                               _mm256_loadu_si256((const __m256i *)(xb + 64)));
      a3 = _mm256_dpbusd_epi32(a3, _mm256_and_si256(_mm256_srli_epi16(v, 6), m3),
                               _mm256_loadu_si256((const __m256i *)(xb + 96)));
    }
    y[r] = hsum256(_mm256_add_epi32(_mm256_add_epi32(a0, a1), _mm256_add_epi32(a2, a3))) - sx;
  }
}

/* zmm: bytes of blocks b, b+1 in one load; the matching activations are
 * x[128b + 32k .. +32) and x[128(b+1) + 32k .. +32): gathered per k with a
 * 256-bit insert (the layout puts them 128 bytes apart). */
__attribute__((noinline)) static void vnni512_4acc(const uint8_t *w, const int8_t *x,
                                                   int32_t sx, int N, int K, int32_t *y) {
  const __m512i m3 = _mm512_set1_epi8(3);
  int rb = K / 4;
  for (int r = 0; r < N; ++r) {
    const uint8_t *row = w + (size_t)r * rb;
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    for (int b = 0; b < K / 128; b += 2) {
      __m512i v = _mm512_loadu_si512((const void *)(row + 32 * b));
      const int8_t *xb = x + 128 * b;
#define XK(k)                                                                   \
  _mm512_inserti64x4(_mm512_castsi256_si512(                                    \
                         _mm256_loadu_si256((const __m256i *)(xb + 32 * (k)))), \
                     _mm256_loadu_si256((const __m256i *)(xb + 128 + 32 * (k))), 1)
      a0 = _mm512_dpbusd_epi32(a0, _mm512_and_si512(v, m3), XK(0));
      a1 = _mm512_dpbusd_epi32(a1, _mm512_and_si512(_mm512_srli_epi16(v, 2), m3), XK(1));
      a2 = _mm512_dpbusd_epi32(a2, _mm512_and_si512(_mm512_srli_epi16(v, 4), m3), XK(2));
      a3 = _mm512_dpbusd_epi32(a3, _mm512_and_si512(_mm512_srli_epi16(v, 6), m3), XK(3));
#undef XK
    }
    y[r] = _mm512_reduce_add_epi32(_mm512_add_epi32(_mm512_add_epi32(a0, a1),
                                                    _mm512_add_epi32(a2, a3))) - sx;
  }
}

static void time_kernel(const char *name, kernel_t k, const uint8_t *w, const int8_t *x,
                        int32_t sx, int N, int K, int32_t *y, const int32_t *ref,
                        int first) {
  memset(y, 0, sizeof(int32_t) * (size_t)N);
  k(w, x, sx, N, K, y);
  int ok = memcmp(y, ref, sizeof(int32_t) * (size_t)N) == 0;
  double best = 1e30, total = 0;
  int reps = 0;
  while (reps < 5 || (total < 1.0 && reps < 2000)) {
    double t0 = now();
    k(w, x, sx, N, K, y);
    double t = now() - t0;
    total += t;
    if (t < best) best = t;
    ++reps;
  }
  double wbytes = (double)N * K / 4;
  printf("%s    {\"kernel\": \"%s\", \"N\": %d, \"K\": %d, \"correct\": %s, \"reps\": %d, "
         "\"ms_best\": %.4f, \"weight_GBps\": %.2f, \"GMACps\": %.1f, "
         "\"ns_per_128_weight_block\": %.3f}",
         first ? "" : ",\n", name, N, K, ok ? "true" : "false", reps, best * 1e3,
         wbytes / best / 1e9, (double)N * K / best / 1e9, best / ((double)N * K / 128) * 1e9);
}

int main(int argc, char **argv) {
  double add = chain_add(), vadd = chain_paddd();
  double dp1 = chain_dpbusd(1), dp8 = chain_dpbusd(8);
  double dz1 = chain_dpbusd512(1), dz8 = chain_dpbusd512(8);
  double mb = chain_maddubs();
  printf("{\n  \"ns_per_cycle_from_scalar_add_chain\": %.4f,\n  \"est_GHz\": %.2f,\n", add, 1 / add);
  printf("  \"vpaddd_ymm\": {\"latency_ns\": %.4f, \"latency_cycles\": %.2f},\n", vadd, vadd / add);
  printf("  \"vpdpbusd_ymm\": {\"latency_ns\": %.4f, \"latency_cycles\": %.2f, "
         "\"throughput_ns\": %.4f, \"per_cycle\": %.2f},\n", dp1, dp1 / add, dp8, add / dp8);
  printf("  \"vpdpbusd_zmm\": {\"latency_ns\": %.4f, \"latency_cycles\": %.2f, "
         "\"throughput_ns\": %.4f, \"per_cycle\": %.2f},\n", dz1, dz1 / add, dz8, add / dz8);
  printf("  \"vpmaddubsw_ymm\": {\"latency_ns\": %.4f, \"latency_cycles\": %.2f},\n", mb, mb / add);
  printf("  \"kernels\": [\n");
  int shapes[][2] = {{4096, 4096}, {16384, 16384}};
  int first = 1;
  for (int s = 0; s < 2; ++s) {
    int N = shapes[s][0], K = shapes[s][1];
    if (argc > 1 && s > 0) break;   /* any argument: the small shape only */
    size_t rb = (size_t)K / 4;
    uint8_t *w = aligned_alloc(64, (size_t)N * rb);
    int8_t *x = aligned_alloc(64, (size_t)K);
    int32_t *y = aligned_alloc(64, sizeof(int32_t) * (size_t)N);
    int32_t *ref = aligned_alloc(64, sizeof(int32_t) * (size_t)N);
    uint64_t st = 88172645463325252ull;
    for (size_t i = 0; i < (size_t)N * rb; ++i) {
      st ^= st << 13; st ^= st >> 7; st ^= st << 17;
      uint8_t byte = 0;
      for (int k = 0; k < 4; ++k) byte |= (uint8_t)((st >> (8 * k)) % 3) << (2 * k);
      w[i] = byte;
    }
    int32_t sx = 0;
    for (int i = 0; i < K; ++i) {
      st ^= st << 13; st ^= st >> 7; st ^= st << 17;
      x[i] = (int8_t)((int)(st % 255) - 127);
      sx += x[i];
    }
    for (int r = 0; r < N; ++r) {       /* scalar reference from the spec */
      int32_t acc = 0;
      for (int c = 0; c < K; ++c) {
        int b = c / 128, k = (c % 128) / 32, i = c % 32;
        int q = (w[(size_t)r * rb + 32 * b + i] >> (2 * k)) & 3;
        acc += (q - 1) * x[c];
      }
      ref[r] = acc;
    }
    time_kernel("avx2_1acc (= x86-64-v3 codegen)", avx2_1acc, w, x, sx, N, K, y, ref, first);
    first = 0;
    time_kernel("vnni_1acc (= x86-64-v4 codegen)", vnni_1acc, w, x, sx, N, K, y, ref, 0);
    time_kernel("vnni_4acc", vnni_4acc, w, x, sx, N, K, y, ref, 0);
    time_kernel("vnni512_4acc", vnni512_4acc, w, x, sx, N, K, y, ref, 0);
    free(w); free(x); free(y); free(ref);
  }
  printf("\n  ]\n}\n");
  return 0;
}
