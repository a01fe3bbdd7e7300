//===- Eval.cpp - bitttt-run eval: perplexity on a text or token file -----===//
#include "Common.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <memory>

namespace bitttt::run {
namespace {

struct EvalOptions {
  ModelOptions model;
  std::string file;
  int64_t maxTokens = 0;
  bool json = false;
};

void run(const EvalOptions &o) {
  ModelHandle m(o.model.path, o.model.threads, o.model.target);
  size_t vocab = bitttt_model_vocab_size(m.model);
  std::vector<int32_t> ids =
      isTokenFile(o.file)
          ? readTokenFile(o.file, vocab)
          : encode(m.tokenizer(o.model.path), readFile(o.file), false);
  if (o.maxTokens > 0 && ids.size() > size_t(o.maxTokens))
    ids.resize(size_t(o.maxTokens));
  if (ids.size() < 2)
    throw Error(o.file + ": needs at least 2 tokens to score, has " +
                std::to_string(ids.size()));
  SessionHandle s(m.model);
  double nll = 0;
  size_t count = 0;
  constexpr size_t kPiece = 4096;
  Progress progress("eval", ids.size(), "tok");
  for (size_t done = 0; done < ids.size(); done += kPiece) {
    size_t n = std::min(kPiece, ids.size() - done);
    check(bitttt_session_nll(s.session, ids.data() + done, n, &nll, &count));
    progress.update(done + n);
  }
  double mean = nll / double(count);
  if (o.json)
    std::printf("%s\n", nlohmann::json{{"file", o.file},
                                       {"tokens", ids.size()},
                                       {"scored", count},
                                       {"mean_nll", mean},
                                       {"perplexity", std::exp(mean)}}
                            .dump()
                            .c_str());
  else
    std::printf("perplexity %.4f over %zu tokens (mean NLL %.6f nats; %zu "
                "tokens in %s)\n",
                std::exp(mean), count, mean, ids.size(), o.file.c_str());
}

} // namespace

void addEval(CLI::App &app) {
  auto o = std::make_shared<EvalOptions>();
  CLI::App *cmd = app.add_subcommand(
      "eval",
      "Perplexity of the model on FILE: exp of the mean negative "
      "log-likelihood of every token given the ones before it, all in one "
      "session. FILE is text (tokenized with the model's tokenizer) or a "
      "token file (.bin: u16, .u32/.u32.bin: u32, as `data prepare` "
      "writes).");
  o->model.add(*cmd);
  cmd->add_option("FILE", o->file, "Text or token file to score")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--max-tokens", o->maxTokens,
                  "Score only the first N tokens (0: all)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--json", o->json, "Print the result as one JSON object");
  cmd->callback([o] { run(*o); });
}

} // namespace bitttt::run
