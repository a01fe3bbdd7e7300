//===- CpuFeatures.cpp - x86-64 feature detection for kernel choice -------===//
//
// CPUID says what the core implements; XGETBV says whether the OS saves the
// AVX (YMM) and AVX-512 (ZMM, opmask) state. A feature counts only if both.
//
//===----------------------------------------------------------------------===//
#include "Status.h"
#include "bitttt/Target/X86/CpuTarget.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace {

#if defined(__x86_64__)
uint64_t readXcr0() {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (uint64_t(edx) << 32) | eax;
}

uint32_t detect() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d))
    return 0;
  bool osxsave = c & (1u << 27);
  bool fma = c & (1u << 12);
  if (!osxsave)
    return 0;
  uint64_t xcr0 = readXcr0();
  bool ymmSaved = (xcr0 & 0x6) == 0x6;   // SSE + AVX state
  bool zmmSaved = (xcr0 & 0xe6) == 0xe6; // + opmask, ZMM_Hi256, Hi16_ZMM
  if (!ymmSaved)
    return 0;
  uint32_t features = fma ? BITTTT_CPU_FMA : 0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
    return features;
  if (b & (1u << 5))
    features |= BITTTT_CPU_AVX2;
  if (zmmSaved) {
    if (b & (1u << 16))
      features |= BITTTT_CPU_AVX512F;
    if (b & (1u << 30))
      features |= BITTTT_CPU_AVX512BW;
    if (b & (1u << 31))
      features |= BITTTT_CPU_AVX512VL;
    if (c & (1u << 11))
      features |= BITTTT_CPU_AVX512VNNI;
    if (c & (1u << 1))
      features |= BITTTT_CPU_AVX512VBMI;
  }
  if (__get_cpuid_count(7, 1, &a, &b, &c, &d) && (a & (1u << 4)))
    features |= BITTTT_CPU_AVXVNNI;
  return features;
}
#else
uint32_t detect() { return 0; }
#endif

} // namespace

extern "C" {

uint32_t bitttt_cpu_features(void) {
  static const uint32_t features = detect();
  return features;
}

namespace feature = bitttt::x86::feature;
static_assert(feature::AVX2 == BITTTT_CPU_AVX2 &&
                  feature::FMA == BITTTT_CPU_FMA &&
                  feature::AVX512F == BITTTT_CPU_AVX512F &&
                  feature::AVX512BW == BITTTT_CPU_AVX512BW &&
                  feature::AVX512VL == BITTTT_CPU_AVX512VL &&
                  feature::AVX512VNNI == BITTTT_CPU_AVX512VNNI &&
                  feature::AVXVNNI == BITTTT_CPU_AVXVNNI &&
                  feature::AVX512VBMI == BITTTT_CPU_AVX512VBMI,
              "CpuTarget.h's feature bits are bitttt_cpu_feature's");

const char *bitttt_cpu_target(void) {
  uint32_t f = bitttt_cpu_features();
  for (const bitttt::x86::CpuTarget &t : bitttt::x86::kCpuTargets)
    if ((f & t.requires) == t.requires)
      return t.name;
  bitttt::rt::fail(BITTTT_ERR_UNSUPPORTED,
                   "this CPU has none of the feature sets bitttt kernels "
                   "are compiled for (" +
                       bitttt::x86::cpuTargetNames() +
                       "; the least is x86-64-v3: AVX2 + FMA)");
  return nullptr;
}

} // extern "C"
