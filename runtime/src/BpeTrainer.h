//===- BpeTrainer.h - byte-level BPE training (internal) --------*- C++ -*-===//
#ifndef BITTTT_RUNTIME_BPETRAINER_H
#define BITTTT_RUNTIME_BPETRAINER_H

#include "Tokenizer.h"

#include <string>
#include <vector>

namespace bitttt::rt {

struct BpeTrainOptions {
  std::vector<std::string> files;
  std::vector<std::string> specialTokens;
  size_t vocabSize = 32000;
  uint64_t minFrequency = 2;
  bool showProgress = true;
};

/// Trains on the files (docs/tokenizer.md, "Training"): each line is
/// pre-tokenized with the GPT-2 regex, the words counted, and the most
/// frequent pair merged until the vocabulary is full or no pair reaches
/// minFrequency; ties go to the smallest pair of ids.
format::Status trainBpe(const BpeTrainOptions &options,
                        std::unique_ptr<bitttt_tokenizer> &out);

} // namespace bitttt::rt

#endif // BITTTT_RUNTIME_BPETRAINER_H
