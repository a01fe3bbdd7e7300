//===- CpuTarget.h - the x86-64 target table --------------------*- C++ -*-===//
//
// CpuTargets.def as one C++ table, for the compiler (lane counts, dot
// lowering, -mcpu/-mattr) and the runtime (which targets a CPU runs). Plain
// C++, no LLVM.
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

/// CPU feature bits the REQUIRES column names: the values of
/// bitttt_cpu_feature (runtime/include/bitttt.h; the runtime checks that
/// they agree).
namespace feature {
constexpr uint32_t AVX2 = 1u << 0, FMA = 1u << 1, AVX512F = 1u << 2,
                   AVX512BW = 1u << 3, AVX512VL = 1u << 4, AVX512VNNI = 1u << 5,
                   AVXVNNI = 1u << 6, AVX512VBMI = 1u << 7;
} // namespace feature

struct CpuTarget {
  const char *name;
  const char *llvmCpu;
  const char *llvmFeatures;
  int64_t f32Lanes;
  DotKind dot;
  int64_t dotBytes;     ///< packed code bytes per dot vector (32 or 64)
  int64_t matmulRows;   ///< rows of the ternary matmul's register tile
  int64_t matmulTokens; ///< tokens of the ternary matmul's register tile
  uint32_t requires;    ///< feature bits the CPU must have
};

inline constexpr CpuTarget kCpuTargets[] = {
#define BITTTT_X86_TARGET(NAME, CPU, FEATURES, LANES, DOT, DOT_BYTES, ROWS,    \
                          TOKENS, REQUIRES)                                    \
  {NAME, CPU, FEATURES, LANES, DotKind::DOT, DOT_BYTES, ROWS, TOKENS, [] {     \
     using namespace feature;                                                  \
     return uint32_t(REQUIRES);                                                \
   }()},
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
