//===- ModelConfig.h - config.json of a Bit-TTT model ------------*- C++
//-*-===//
//
// The model configuration of DESIGN.md §1 ("config.json"), parsed with exactly
// the rules of the reference model (python/bitttt_ref/config.py): the nested
// form, the original engine's flat form with its aliases (which maps to the
// seed variant, mini_batch 1, act_bits 0), and the same errors in the same
// order, each naming the field at fault.
//
//===----------------------------------------------------------------------===//
#ifndef BITTTT_FRONTEND_MODELCONFIG_H
#define BITTTT_FRONTEND_MODELCONFIG_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>

namespace bitttt {

enum class TTTVariant { Linear, Seed };

struct ModelConfig {
  int64_t vocabSize = 0;
  int64_t hiddenDim = 0;
  int64_t numLayers = 0;
  int64_t intermediateDim = 0; ///< 4 * hiddenDim when the file omits it.
  double rmsEps = 1e-5;
  int64_t actBits = 8; ///< 8 (int8 activations) or 0 (f32 activations).
  TTTVariant variant = TTTVariant::Linear;
  int64_t numHeads = 4;   ///< Linear only.
  int64_t miniBatch = 16; ///< 1 by default for the seed variant.
  double baseLr = 1.0;    ///< Linear only.
  double innerLr = 0.1;   ///< Seed only.
  /// True when the file used the original engine's flat form.
  bool fromFlatConfig = false;

  /// f = D / H, the head size of TTT-Linear.
  int64_t headDim() const { return hiddenDim / numHeads; }
  /// d = D / 4, the fast-weight size of seed TTT.
  int64_t seedDim() const { return hiddenDim / 4; }
  llvm::StringRef variantName() const {
    return variant == TTTVariant::Linear ? "linear" : "seed";
  }
};

/// Parses the text of a config.json. `fileName` prefixes every message:
/// `<fileName>: field 'ttt.num_heads': hidden_dim 32 is not divisible by
/// num_heads 3`.
llvm::Expected<ModelConfig> parseModelConfig(llvm::StringRef jsonText,
                                             llvm::StringRef fileName);

/// Reads and parses the config.json at `path`.
llvm::Expected<ModelConfig> loadModelConfig(llvm::StringRef path);

} // namespace bitttt

#endif // BITTTT_FRONTEND_MODELCONFIG_H
