//===- BittEmitter.h - compiled model → .bitt v2 ----------------*- C++ -*-===//
#ifndef BITTTT_TARGET_BITT_BITTEMITTER_H
#define BITTTT_TARGET_BITT_BITTEMITTER_H

#include "bitttt/Format/BittFile.h"
#include "bitttt/Frontend/ModelBuilder.h"
#include "bitttt/Frontend/ModelConfig.h"
#include "bitttt/Target/CPU/EntryAbi.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <map>
#include <string>
#include <vector>

namespace bitttt {

struct BittContents {
  std::string configJson;    ///< config.json as read
  std::string tokenizerJson; ///< tokenizer.json, or empty
  const ModelConfig *config = nullptr;
  const format::BittFile *checkpoint = nullptr;
  /// Weights the checkpoint already holds packed (recompiling a .bitt v2):
  /// their codes and scale are copied, not repacked.
  const PackedSources *packed = nullptr;
  /// The compact LM head the checkpoint already holds (a .bitt recompiled
  /// with the same --lm-head): its parts are copied, or null.
  const LMHeadSource *lmHeadSource = nullptr;
  /// The entry ABI every artifact was compiled for (all targets agree):
  /// the header's functions are written from it, and its `bitttt.packed`
  /// buffers say which checkpoint weights to pack.
  EntryAbi abi;
  /// The functions the header lists (the runtime calls them).
  std::vector<std::string> functions = {"prefill", "decode"};
  std::map<std::string, std::string> artifacts; ///< target → shared object
  /// Threads that pack weights while the file is written (the bytes are
  /// the same for any count).
  unsigned threads = 1;

  /// With --train: the training artifacts (target → shared object), their
  /// entry ABI (train_step, train_grad, train_apply) and the header's
  /// "train" object (batch, context, optimizer); the latent f32 weights the
  /// trainer starts from are stored too (docs/training.md).
  std::map<std::string, std::string> trainArtifacts;
  EntryAbi trainAbi;
  llvm::json::Object trainInfo;
};

/// Packs the checkpoint's BitLinear weights (format::packTernary), gathers
/// every tensor the entry points read and writes a `.bitt` v2 atomically.
/// Weights are packed tensor by tensor as the file is written and f32
/// tensors are written from the checkpoint's mapping, whose pages are
/// released once used: memory stays far below the checkpoint's size.
llvm::Error writeBitt(llvm::StringRef path, const BittContents &contents);

} // namespace bitttt

#endif // BITTTT_TARGET_BITT_BITTEMITTER_H
