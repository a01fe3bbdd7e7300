//===- ModelBuilder.h - config + checkpoint -> bitttt module -----*- C++
//-*-===//
//
// Builds the MLIR module of a Bit-TTT model: `@prefill` over a chunk of T
// tokens and `@decode` over one token, both
//
//   (%ids: tensor<Txi32> {bitttt.io = "ids"},
//    <weights, canonical order, {bitttt.tensor = "<safetensors name>"}>,
//    <TTT state per layer, {bitttt.state = "layers.{i}.ttt.<slot>"}>)
//     -> (tensor<TxVxf32> {bitttt.io = "logits"}, <new TTT state>)
//
// Weights are arguments, never constants, so one compiled module serves
// every checkpoint of its config; the checkpoint only has to match the
// config (every tensor present, F32, with the expected shape, nothing else).
// docs/frontend.md describes the interface.
//
//===----------------------------------------------------------------------===//
#ifndef BITTTT_FRONTEND_MODELBUILDER_H
#define BITTTT_FRONTEND_MODELBUILDER_H

#include "bitttt/Format/BittFile.h"
#include "bitttt/Format/LMHead.h"
#include "bitttt/Format/Packing.h"
#include "bitttt/Frontend/ModelConfig.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/Error.h"

#include <map>
#include <string>
#include <vector>

namespace mlir {
class MLIRContext;
} // namespace mlir

namespace bitttt {

/// A weight a compiled .bitt already holds packed (an entry of its "packed"
/// index): the latent tensor is absent, `codes` and `scale` stand for it.
struct PackedSource {
  std::string codes, scale;
  int64_t rows = 0, cols = 0;
  format::TernaryLayout layout = format::TernaryLayout::I2B128;
};
using PackedSources = std::map<std::string, PackedSource>;

/// The LM head a compiled .bitt holds in a compact format (its header's
/// `bitttt.lm_head`): `parts` maps each part ("values", "row_scale",
/// "row_sum") to its tensor; the f32 `lm_head.weight` may be absent.
struct LMHeadSource {
  format::LMHeadFormat format = format::LMHeadFormat::F32;
  std::map<std::string, std::string> parts;
};

/// The argument names of the LM head's parts in `format` (docs/lm-head.md):
/// part → tensor name, {"lm_head.weight"} itself for f32.
std::vector<std::pair<std::string, std::string>>
lmHeadParts(format::LMHeadFormat format);

struct ModelBuildOptions {
  /// Tokens per @prefill call; a positive multiple of ttt.mini_batch.
  int64_t prefillChunk = 64;
  /// Weights the checkpoint holds packed (recompiling a .bitt v2), or null.
  const PackedSources *packed = nullptr;
  /// What the LM head of @prefill/@decode reads (--lm-head).
  format::LMHeadFormat lmHead = format::LMHeadFormat::F32;
  /// The compact LM head the checkpoint holds (recompiling a .bitt), or null.
  const LMHeadSource *lmHeadSource = nullptr;
};

/// A checkpoint tensor the model needs (all are F32).
struct WeightSpec {
  std::string name;
  llvm::SmallVector<int64_t, 3> shape;
};

/// Every tensor of a checkpoint for `config`, in the canonical argument
/// order: embed.weight; per layer norm1, norm2, mlp.{gate,up,down}_proj, then
/// the TTT tensors (linear: q,k,v,o_proj, lr_proj.{weight,bias}, W0, b0,
/// ttt_norm.{weight,bias}, post_norm.{weight,bias}; seed: down, up);
/// norm_f.weight; lm_head.weight.
std::vector<WeightSpec> expectedWeights(const ModelConfig &config);

/// The state slots of one layer, in argument order: linear `w, c, keys,
/// eta_grads, pos`; seed `w, keys, errors, pos` (docs/frontend.md).
llvm::ArrayRef<llvm::StringRef> stateSlots(const ModelConfig &config);

/// Checks that `chunk` is a positive multiple of ttt.mini_batch and at most
/// BITTTT_MAX_CALL_TOKENS. The message starts with `subject` (default
/// "prefill chunk N") and names `configName` beside the mini-batch if given.
llvm::Error checkPrefillChunk(const ModelConfig &config, int64_t chunk,
                              llvm::StringRef subject = "",
                              llvm::StringRef configName = "");

/// Checks the checkpoint against expectedWeights(config): every tensor is
/// present with dtype F32 and the expected shape (or, when `packed` lists
/// it, as codes in its layout + scale of that shape; or, for lm_head.weight
/// when `lmHead` is the format of `lmHeadSource`, as its parts), and there is
/// no other (compiled artifacts excepted when recompiling a .bitt).
llvm::Error
checkCheckpoint(const ModelConfig &config, const format::BittFile &checkpoint,
                const PackedSources *packed = nullptr,
                format::LMHeadFormat lmHead = format::LMHeadFormat::F32,
                const LMHeadSource *lmHeadSource = nullptr);

/// Checks options and checkpoint, builds @prefill and @decode, and verifies
/// the module. `context` must have the bitttt, func, arith and tensor
/// dialects loaded or registered.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
buildModelModule(mlir::MLIRContext &context, const ModelConfig &config,
                 const format::BittFile &checkpoint,
                 const ModelBuildOptions &options);

struct TrainBuildOptions {
  /// Windows per step (B) and tokens per window (T): static per artifact.
  int64_t batch = 16;
  int64_t context = 128;
};

/// Builds `@train_loss(weights..., %tokens: tensor<B x (T+1) x i32>
/// {bitttt.io = "tokens"}) -> tensor<f32> {bitttt.io = "loss"}`: the mean
/// next-token cross-entropy of B windows, the TTT layers in their training
/// forms (whole sequences from the initial state). bitttt-train-pipeline
/// turns it into @train_grad, @train_apply and @train_step.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
buildTrainModule(mlir::MLIRContext &context, const ModelConfig &config,
                 const TrainBuildOptions &options);

} // namespace bitttt

#endif // BITTTT_FRONTEND_MODELBUILDER_H
