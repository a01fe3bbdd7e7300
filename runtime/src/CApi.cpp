//===- CApi.cpp - status conversion for the extern "C" entry points -------===//
#include "CApi.h"

using bitttt::format::ErrorCode;

bitttt_status bitttt::rt::toC(ErrorCode code) {
  switch (code) {
  case ErrorCode::Ok:
    return BITTTT_OK;
  case ErrorCode::InvalidArgument:
    return BITTTT_ERR_INVALID_ARGUMENT;
  case ErrorCode::IO:
    return BITTTT_ERR_IO;
  case ErrorCode::Format:
    return BITTTT_ERR_FORMAT;
  case ErrorCode::Unsupported:
    return BITTTT_ERR_UNSUPPORTED;
  case ErrorCode::OutOfMemory:
    return BITTTT_ERR_OUT_OF_MEMORY;
  case ErrorCode::Internal:
    return BITTTT_ERR_INTERNAL;
  }
  return BITTTT_ERR_INTERNAL;
}

bitttt_status bitttt::rt::report(const format::Status &s) {
  return s.isOk() ? BITTTT_OK : fail(toC(s.code()), s.message());
}

bitttt_status bitttt::rt::nullArgument(const char *function,
                                       const char *argument) {
  try {
    return fail(BITTTT_ERR_INVALID_ARGUMENT,
                std::string(function) + ": " + argument + " is NULL");
  } catch (...) {
    return BITTTT_ERR_INVALID_ARGUMENT;
  }
}

bitttt_status bitttt::rt::failSafely(bitttt_status status, const char *function,
                                     const char *what) noexcept {
  try {
    return fail(status, std::string(function) + ": " + what);
  } catch (...) {
    return status;
  }
}
