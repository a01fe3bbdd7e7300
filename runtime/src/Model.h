//===- Model.h - a loaded compiled model (internal) --------------*- C++
//-*-===//
#ifndef BITTTT_RUNTIME_MODEL_H
#define BITTTT_RUNTIME_MODEL_H

#include "ModelSpec.h"
#include "SharedObject.h"
#include "ThreadPool.h"
#include "bitttt.h"
#include "bitttt/Format/BittFile.h"

#include <map>
#include <memory>
#include <string>

namespace bitttt::rt {
/// Every compiled entry point: buffers[i] = inputs then outputs (docs/abi.md).
using EntryFn = void (*)(void **buffers);
} // namespace bitttt::rt

/// Immutable after bitttt_model_load; shared by its sessions.
struct bitttt_model {
  std::unique_ptr<bitttt::format::BittFile> file;
  bitttt::rt::ModelSpec spec;
  std::string target;
  std::unique_ptr<bitttt::rt::SharedObject> artifact;
  /// Function name -> resolved entry point.
  std::map<std::string, bitttt::rt::EntryFn> entries;
  std::unique_ptr<bitttt::rt::ThreadPool> pool;
};

#endif // BITTTT_RUNTIME_MODEL_H
