//===- Status.cpp - status codes and per-thread error messages ------------===//
#include "Status.h"

namespace {
thread_local std::string lastError;
} // namespace

bitttt_status bitttt::rt::fail(bitttt_status status, std::string message) {
  // Moving never allocates, so recording the message cannot throw.
  lastError = std::move(message);
  return status;
}

extern "C" {

const char *bitttt_version(void) { return "0.1.0"; }

const char *bitttt_status_string(bitttt_status status) {
  switch (status) {
  case BITTTT_OK:
    return "ok";
  case BITTTT_ERR_INVALID_ARGUMENT:
    return "invalid argument";
  case BITTTT_ERR_IO:
    return "i/o error";
  case BITTTT_ERR_FORMAT:
    return "malformed input";
  case BITTTT_ERR_UNSUPPORTED:
    return "unsupported";
  case BITTTT_ERR_OUT_OF_MEMORY:
    return "out of memory";
  case BITTTT_ERR_INTERNAL:
    return "internal error";
  }
  return "unknown status";
}

const char *bitttt_last_error(void) { return lastError.c_str(); }

void bitttt_clear_error(void) { lastError.clear(); }

} // extern "C"
