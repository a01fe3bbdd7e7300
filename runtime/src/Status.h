//===- Status.h - setting the thread's last error ---------------*- C++ -*-===//
#ifndef BITTTT_RUNTIME_STATUS_H
#define BITTTT_RUNTIME_STATUS_H

#include "bitttt.h"

#include <string>

namespace bitttt::rt {

/// Records `message` as this thread's last error and returns `status`, so a
/// failing path reads `return fail(BITTTT_ERR_IO, "cannot open " + path);`.
bitttt_status fail(bitttt_status status, std::string message);

} // namespace bitttt::rt

#endif // BITTTT_RUNTIME_STATUS_H
