//===- CpuTarget.h - the x86-64 target table for the compiler ---*- C++ -*-===//
//
// CpuTargets.def as a C++ table: what the passes (lane counts, dot lowering)
// and the shared-object builder (-mcpu, -mattr) need to know of a target.
// Plain C++, no LLVM.
//
//===----------------------------------------------------------------------===//
#ifndef BITTTT_TARGET_X86_CPUTARGET_H
#define BITTTT_TARGET_X86_CPUTARGET_H

#include <cstdint>
#include <string>

namespace bitttt::x86 {

/// How `bitttt.dot_2bit_i8` becomes instructions.
enum class DotKind {
  Vnni, ///< vpdpbusd on ymm (AVX-512 VNNI + VL, or AVX-VNNI)
  Madd, ///< vpmaddubsw + vpmaddwd (AVX2)
};

struct CpuTarget {
  const char *name;
  const char *llvmCpu;
  const char *llvmFeatures;
  int64_t f32Lanes;
  DotKind dot;
};

inline constexpr CpuTarget kCpuTargets[] = {
#define BITTTT_X86_TARGET(NAME, CPU, FEATURES, LANES, DOT, REQUIRES)           \
  {NAME, CPU, FEATURES, LANES, DotKind::DOT},
#include "bitttt/Target/X86/CpuTargets.def"
};

/// The target called `name`, or nullptr.
inline const CpuTarget *lookupCpuTarget(const std::string &name) {
  for (const CpuTarget &t : kCpuTargets)
    if (name == t.name)
      return &t;
  return nullptr;
}

/// "x86-64-v4, x86-64-v3": every target, best first, for messages.
inline std::string cpuTargetNames() {
  std::string names;
  for (const CpuTarget &t : kCpuTargets)
    names += std::string(names.empty() ? "" : ", ") + t.name;
  return names;
}

} // namespace bitttt::x86

#endif // BITTTT_TARGET_X86_CPUTARGET_H
