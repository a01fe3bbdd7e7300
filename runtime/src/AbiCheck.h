//===- AbiCheck.h - the artifact's ABI against the .bitt header -*- C++ -*-===//
//
// The header says how to call the compiled code; the code says what it was
// compiled for (its `bitttt_abi` description, docs/abi.md). Nothing is
// called until the two agree buffer by buffer: an edited or corrupted
// header is an error naming the function, the buffer and both values, never
// an out-of-bounds access in compiled code.
//
//===----------------------------------------------------------------------===//
#ifndef BITTTT_RUNTIME_ABICHECK_H
#define BITTTT_RUNTIME_ABICHECK_H

#include "ModelSpec.h"

#include <string>

namespace bitttt::rt {

/// Compares the description `text` (`size` bytes of the artifact's
/// `bitttt_abi` symbol, NUL terminated) with every function of `spec`, and
/// takes each state's valid range from it. `what` names the artifact in
/// messages ("model.bitt: artifact 'x86-64-v4'").
format::Status checkArtifactAbi(const std::string &what, const char *text,
                                size_t size, ModelSpec &spec);

/// Checks that every state initialised from a file tensor starts inside its
/// range (only integer states have ranges).
format::Status checkStateInits(const std::string &file, const ModelSpec &spec);

} // namespace bitttt::rt

#endif // BITTTT_RUNTIME_ABICHECK_H
