//===- Model.h - a loaded compiled model (internal) -------------*- C++ -*-===//
#ifndef BITTTT_RUNTIME_MODEL_H
#define BITTTT_RUNTIME_MODEL_H

#include "ModelSpec.h"
#include "SharedObject.h"
#include "ThreadPool.h"
#include "Tokenizer.h"
#include "bitttt.h"
#include "bitttt/Format/BittFile.h"
#include "bitttt/Target/CPU/ArtifactAbi.h"

#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace bitttt::rt {
/// Every compiled entry point: buffers[i] = inputs then outputs, and the
/// executor its parallel loops run on (docs/abi.md).
using EntryFn = bitttt_entry_fn;
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
  /// Handed to every entry call: compiled parallel loops run on `pool`.
  bitttt_exec exec{};
  /// The header's "tokenizer", or null.
  std::unique_ptr<bitttt_tokenizer> tokenizer;
  /// bitttt_model_identity, computed on first use.
  std::once_flag identityOnce;
  std::string identity;
};

#endif // BITTTT_RUNTIME_MODEL_H
