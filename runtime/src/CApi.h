//===- CApi.h - helpers shared by the extern "C" entry points ---*- C++ -*-===//
//
// Every C entry point converts container Statuses to bitttt_status plus the
// thread's last-error message, and catches every exception: none may leave
// the C API.
//
//===----------------------------------------------------------------------===//
#ifndef BITTTT_RUNTIME_CAPI_H
#define BITTTT_RUNTIME_CAPI_H

#include "Status.h"
#include "bitttt/Format/BittFile.h"

#include <exception>
#include <new>
#include <string>

namespace bitttt::rt {

/// The C status for a container error code.
bitttt_status toC(format::ErrorCode code);

/// BITTTT_OK, or the status's code with its message recorded.
bitttt_status report(const format::Status &s);

/// Records "<function>: <argument> is NULL".
bitttt_status nullArgument(const char *function, const char *argument);

/// Records "<function>: <what>" when memory allows; never throws.
bitttt_status failSafely(bitttt_status status, const char *function,
                         const char *what) noexcept;

/// Runs `body` (returning bitttt_status); an exception becomes
/// BITTTT_ERR_OUT_OF_MEMORY or BITTTT_ERR_INTERNAL with a message naming
/// `function`.
template <typename Body>
bitttt_status guarded(const char *function, Body &&body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc &) {
    return failSafely(BITTTT_ERR_OUT_OF_MEMORY, function, "out of memory");
  } catch (const std::exception &e) {
    return failSafely(BITTTT_ERR_INTERNAL, function, e.what());
  } catch (...) {
    return failSafely(BITTTT_ERR_INTERNAL, function, "unknown internal error");
  }
}

} // namespace bitttt::rt

#endif // BITTTT_RUNTIME_CAPI_H
