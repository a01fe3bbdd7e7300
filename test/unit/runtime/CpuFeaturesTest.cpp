//===- CpuFeaturesTest.cpp - CPUID detection vs. the kernel's view --------===//
//
// The reference is Linux's own flag list in /proc/cpuinfo, which the kernel
// derives from CPUID and XCR0 independently of our code.
//
//===----------------------------------------------------------------------===//
#include "bitttt.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace {

std::set<std::string> procCpuFlags() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0)
      continue;
    std::istringstream words(line.substr(line.find(':') + 1));
    std::set<std::string> flags;
    for (std::string w; words >> w;)
      flags.insert(w);
    return flags;
  }
  return {};
}

} // namespace

TEST(CpuFeatures, MatchLinuxCpuinfo) {
  std::set<std::string> flags = procCpuFlags();
  if (flags.empty())
    GTEST_SKIP() << "hardware: no /proc/cpuinfo flags line on this system";
  uint32_t f = bitttt_cpu_features();
  auto has = [&](const char *name) { return flags.count(name) != 0; };
  EXPECT_EQ(bool(f & BITTTT_CPU_AVX2), has("avx2"));
  EXPECT_EQ(bool(f & BITTTT_CPU_FMA), has("fma"));
  EXPECT_EQ(bool(f & BITTTT_CPU_AVX512F), has("avx512f"));
  EXPECT_EQ(bool(f & BITTTT_CPU_AVX512BW), has("avx512bw"));
  EXPECT_EQ(bool(f & BITTTT_CPU_AVX512VL), has("avx512vl"));
  EXPECT_EQ(bool(f & BITTTT_CPU_AVX512VNNI), has("avx512_vnni"));
  EXPECT_EQ(bool(f & BITTTT_CPU_AVXVNNI), has("avx_vnni"));
  EXPECT_EQ(bool(f & BITTTT_CPU_AVX512VBMI), has("avx512vbmi"));
}

TEST(CpuFeatures, TargetFollowsFeatures) {
  uint32_t f = bitttt_cpu_features();
  const char *target = bitttt_cpu_target();
  bool v3 = (f & BITTTT_CPU_AVX2) && (f & BITTTT_CPU_FMA);
  bool v4 = v3 && (f & BITTTT_CPU_AVX512F) && (f & BITTTT_CPU_AVX512BW) &&
            (f & BITTTT_CPU_AVX512VL) && (f & BITTTT_CPU_AVX512VNNI) &&
            (f & BITTTT_CPU_AVX512VBMI);
  if (v4) {
    EXPECT_STREQ(target, "x86-64-v4");
  } else if (v3) {
    EXPECT_STREQ(target, "x86-64-v3");
  } else {
    EXPECT_EQ(target, nullptr);
    EXPECT_NE(std::string(bitttt_last_error()).find("AVX2"), std::string::npos);
  }
}
