//===- Hex.h - 64-bit checksums as text ------------------------*- C++ -*-===//
//
// XXH3-64 values as the file formats write them: 16 lowercase hex digits
// (checkpoint and session checksums, the .bitt artifacts' "xxh3_64").
//
//===----------------------------------------------------------------------===//
#ifndef BITTTT_RUNTIME_HEX_H
#define BITTTT_RUNTIME_HEX_H

#include <cstdint>
#include <cstdio>
#include <string>

namespace bitttt::rt {

inline std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

} // namespace bitttt::rt

#endif // BITTTT_RUNTIME_HEX_H
