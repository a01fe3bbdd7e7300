//===- TokenizerCmd.cpp - bitttt-run tokenizer train|encode|decode --------===//
#include "Common.h"

#include <cstdio>
#include <memory>

namespace bitttt::run {
namespace {

struct TrainOptions {
  std::vector<std::string> files, special;
  std::string out;
  size_t vocabSize = 32000;
  uint64_t minFrequency = 2;
};

void train(const TrainOptions &o) {
  bitttt_bpe_train_params p = bitttt_bpe_train_default_params();
  p.vocab_size = o.vocabSize;
  p.min_frequency = o.minFrequency;
  std::vector<const char *> special, files;
  for (const std::string &s : o.special)
    special.push_back(s.c_str());
  for (const std::string &f : o.files)
    files.push_back(f.c_str());
  p.special_tokens = special.data();
  p.n_special = special.size();
  TokenizerHandle t;
  auto t0 = std::chrono::steady_clock::now();
  check(bitttt_tokenizer_train(files.data(), files.size(), &p, &t.tokenizer));
  check(bitttt_tokenizer_save(t.tokenizer, o.out.c_str()));
  std::fprintf(stderr, "trained a %zu-token byte-level BPE in %.1f s -> %s\n",
               bitttt_tokenizer_vocab_size(t.tokenizer),
               seconds(std::chrono::steady_clock::now() - t0), o.out.c_str());
}

struct CodeOptions {
  std::string tokenizer, text, file, ids;
  bool addSpecial = false;
};

void encodeCmd(const CodeOptions &o) {
  TokenizerHandle t;
  check(bitttt_tokenizer_load(o.tokenizer.c_str(), &t.tokenizer));
  std::string text = o.file.empty() ? o.text : readFile(o.file);
  std::vector<int32_t> ids = encode(t.tokenizer, text, o.addSpecial);
  for (size_t i = 0; i < ids.size(); ++i)
    std::printf(i ? " %d" : "%d", ids[i]);
  std::printf("\n");
}

void decodeCmd(const CodeOptions &o) {
  TokenizerHandle t;
  check(bitttt_tokenizer_load(o.tokenizer.c_str(), &t.tokenizer));
  std::vector<int32_t> ids = parseIds(o.ids, "decode");
  std::string out(ids.size() * 16 + 16, '\0');
  size_t n = 0;
  if (bitttt_tokenizer_decode(t.tokenizer, ids.data(), ids.size(), 0,
                              out.data(), out.size(), &n) != BITTTT_OK) {
    if (n <= out.size())
      check(BITTTT_ERR_INVALID_ARGUMENT);
    out.resize(n);
    check(bitttt_tokenizer_decode(t.tokenizer, ids.data(), ids.size(), 0,
                                  out.data(), out.size(), &n));
  }
  std::fwrite(out.data(), 1, n, stdout);
  std::printf("\n");
}

} // namespace

void addTokenizer(CLI::App &app) {
  CLI::App *tok = app.add_subcommand(
      "tokenizer",
      "Train, or try, a byte-level BPE tokenizer (tokenizer.json)");
  tok->require_subcommand(1);

  auto t = std::make_shared<TrainOptions>();
  CLI::App *train = tok->add_subcommand(
      "train",
      "Train a byte-level BPE tokenizer (GPT-2 pre-tokenizer) on the text "
      "of FILE... and write it as a Hugging Face tokenizer.json. "
      "Deterministic: the same files and options give the same file.");
  train
      ->add_option("--vocab-size", t->vocabSize,
                   "Tokens in the result, special tokens included")
      ->check(CLI::Range(size_t(257), size_t(1) << 24))
      ->capture_default_str();
  train
      ->add_option("--min-frequency", t->minFrequency,
                   "Do not merge pairs seen fewer times")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  train->add_option("--special", t->special,
                    "A special token (repeatable), e.g. \"<|endoftext|>\"");
  train->add_option("-o,--output", t->out, "Where to write tokenizer.json")
      ->capture_default_str()
      ->default_val("tokenizer.json");
  train->add_option("FILE", t->files, "Text files to learn from")
      ->required()
      ->check(CLI::ExistingFile);
  train->callback([t] { ::bitttt::run::train(*t); });

  auto e = std::make_shared<CodeOptions>();
  CLI::App *enc = tok->add_subcommand("encode", "Print the ids of a text");
  enc->add_option("TOKENIZER", e->tokenizer, "tokenizer.json")
      ->required()
      ->check(CLI::ExistingFile);
  auto *text = enc->add_option("TEXT", e->text, "The text");
  enc->add_option("-f,--file", e->file, "Read the text from a file")
      ->check(CLI::ExistingFile)
      ->excludes(text);
  enc->add_flag("--add-special", e->addSpecial,
                "Add the post-processor's special tokens (a BOS, say)");
  enc->callback([e] { encodeCmd(*e); });

  auto d = std::make_shared<CodeOptions>();
  CLI::App *dec = tok->add_subcommand("decode", "Print the text of ids");
  dec->add_option("TOKENIZER", d->tokenizer, "tokenizer.json")
      ->required()
      ->check(CLI::ExistingFile);
  dec->add_option("IDS", d->ids, "Ids, comma or space separated")->required();
  dec->callback([d] { decodeCmd(*d); });
}

} // namespace bitttt::run
