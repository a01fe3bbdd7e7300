//===- Fuzzing.h - what the fuzz targets' copy of the runtime relaxes -----===//
//
// The libFuzzer targets (test/fuzz) compile the runtime's sources with
// FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION defined (libFuzzer's and
// OSS-Fuzz's convention). There, checksums are still computed but a mismatch
// does not end the read: a mutated input would otherwise never get past
// the checksum to the parsing and validation behind it, which is what the
// fuzzers are for. Nothing that ships defines it: the library, the tools
// and their tests always enforce every checksum.
//
//===----------------------------------------------------------------------===//
#ifndef BITTTT_RUNTIME_FUZZING_H
#define BITTTT_RUNTIME_FUZZING_H

namespace bitttt::rt {

#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
inline constexpr bool kEnforceChecksums = false;
#else
inline constexpr bool kEnforceChecksums = true;
#endif

} // namespace bitttt::rt

#endif // BITTTT_RUNTIME_FUZZING_H
