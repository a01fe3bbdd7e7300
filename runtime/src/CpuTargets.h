//===- CpuTargets.h - the runtime's view of CpuTargets.def ------*- C++ -*-===//
//
// Which artifact targets exist (best first) and the CPU features each needs:
// bitttt_cpu_target() and the model loader choose from this table, the same
// rows the compiler builds artifacts from.
//
//===----------------------------------------------------------------------===//
#ifndef BITTTT_RUNTIME_CPUTARGETS_H
#define BITTTT_RUNTIME_CPUTARGETS_H

#include "bitttt.h"

#include <cstdint>
#include <string>

namespace bitttt::rt {

struct CpuTargetInfo {
  const char *name;
  uint32_t requires; ///< bitttt_cpu_feature bits
};

namespace features {
// The names CpuTargets.def's REQUIRES column uses.
constexpr uint32_t AVX2 = BITTTT_CPU_AVX2, FMA = BITTTT_CPU_FMA,
                   AVX512F = BITTTT_CPU_AVX512F, AVX512BW = BITTTT_CPU_AVX512BW,
                   AVX512VL = BITTTT_CPU_AVX512VL,
                   AVX512VNNI = BITTTT_CPU_AVX512VNNI,
                   AVXVNNI = BITTTT_CPU_AVXVNNI;
} // namespace features

inline constexpr CpuTargetInfo kCpuTargets[] = {
#define BITTTT_X86_TARGET(NAME, CPU, FEATURES, LANES, DOT, REQUIRES)           \
  {NAME, [] {                                                                  \
     using namespace features;                                                 \
     return uint32_t(REQUIRES);                                                \
   }()},
#include "bitttt/Target/X86/CpuTargets.def"
};

/// The row called `name`, or nullptr.
inline const CpuTargetInfo *findCpuTarget(const std::string &name) {
  for (const CpuTargetInfo &t : kCpuTargets)
    if (name == t.name)
      return &t;
  return nullptr;
}

/// "x86-64-v4, x86-64-v3".
inline std::string cpuTargetNames() {
  std::string out;
  for (const CpuTargetInfo &t : kCpuTargets)
    out += std::string(out.empty() ? "" : ", ") + t.name;
  return out;
}

} // namespace bitttt::rt

#endif // BITTTT_RUNTIME_CPUTARGETS_H
