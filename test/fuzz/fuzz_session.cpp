//===- fuzz_session.cpp - session files under libFuzzer -------------------===//
//
// Input: a session file's bytes, loaded with bitttt_session_load into a
// session of $BITTTT_FUZZ_MODEL (the .bitt container, the bitttt_session
// header section, each state's dtype, shape and value range, the logits).
// A refused load must leave the session as it was; a load that succeeds is
// followed by one decoded token, so that whatever state values pass the
// checks also go through the compiled code. Checksums are computed but not
// enforced in this build (runtime/src/Fuzzing.h).
//
//===----------------------------------------------------------------------===//
#include "FuzzFile.h"
#include "bitttt.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace {
bitttt_model *model = nullptr;
bitttt_session *session = nullptr;

void die(const char *what) { bitttt::fuzz::die("fuzz_session", what); }
} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  model = bitttt::fuzz::loadModel("fuzz_session");
  if (bitttt_session_create(model, &session) != BITTTT_OK)
    die("bitttt_session_create");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string &path = bitttt::fuzz::asFile(data, size);
  if (bitttt_session_reset(session) != BITTTT_OK)
    die("bitttt_session_reset");
  if (bitttt_session_load(session, path.c_str()) != BITTTT_OK) {
    if (bitttt_session_n_past(session) != 0) // nothing changed
      std::abort();
    return 0;
  }
  if (bitttt_session_decode(session, 1) != BITTTT_OK)
    die("bitttt_session_decode after a load that succeeded");
  return 0;
}
