//===- Generate.cpp - bitttt-run generate ---------------------------------===//
#include "Common.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>

namespace bitttt::run {
namespace {

struct GenerateOptions {
  ModelOptions model;
  SamplingOptions sampling;
  std::string prompt, promptFile, ids;
  bool promptGiven = false; ///< -p was given (perhaps empty)
};

std::string speed(size_t tokens, double secs) {
  char buf[128];
  std::snprintf(buf, sizeof(buf), "%zu tokens in %.3f ms (%.1f tokens/s)",
                tokens, secs * 1e3, secs > 0 ? double(tokens) / secs : 0.0);
  return buf;
}

void run(const GenerateOptions &o) {
  if (!o.promptGiven && o.promptFile.empty() && o.ids.empty())
    throw Error("generate: give a prompt (-p TEXT or -f FILE) or --ids");
  ModelHandle m(o.model.path, o.model.threads, o.model.target);
  bool textMode = o.ids.empty();
  const bitttt_tokenizer *tokenizer =
      textMode ? m.tokenizer(o.model.path) : nullptr;
  std::vector<int32_t> prompt;
  if (textMode) {
    std::string text = o.promptFile.empty() ? o.prompt : readFile(o.promptFile);
    checkText(text, o.promptFile.empty() ? std::string("the prompt (-p)")
                                         : o.promptFile + ": the prompt");
    prompt = encode(tokenizer, text, /*addSpecial=*/true);
  } else {
    prompt = parseIds(o.ids, "--ids");
    if (prompt.empty())
      throw Error("--ids: no token ids given");
  }
  SessionHandle s(m.model);
  SamplerHandle sampler(o.sampling.resolved());
  for (int32_t id : prompt)
    check(bitttt_sampler_accept(sampler.sampler, id));

  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  check(bitttt_session_prefill(s.session, prompt.data(), prompt.size()));
  double prefillSecs = seconds(Clock::now() - t0), decodeSecs = 0;
  size_t decoded = 0;
  if (textMode) {
    decoded = generateText(s.session, tokenizer, sampler.sampler, o.sampling,
                           &decodeSecs)
                  .size();
    std::printf("\n");
  } else {
    // Ids out, one per generated token; the last one is not fed back.
    for (int64_t i = 0; i < o.sampling.maxTokens; ++i) {
      const float *logits;
      size_t vocab;
      check(bitttt_session_logits(s.session, &logits, &vocab));
      int32_t next;
      check(bitttt_sampler_sample(sampler.sampler, logits, vocab, &next));
      std::printf(i == 0 ? "%d" : " %d", next);
      std::fflush(stdout);
      if (i + 1 == o.sampling.maxTokens)
        break;
      auto t = Clock::now();
      check(bitttt_session_decode(s.session, next));
      decodeSecs += seconds(Clock::now() - t);
      ++decoded;
    }
    if (o.sampling.maxTokens > 0)
      std::printf("\n");
  }
  std::fflush(stdout);
  std::fprintf(stderr, "prefill: %s; decode: %s [%s, %d threads]\n",
               speed(prompt.size(), prefillSecs).c_str(),
               speed(decoded, decodeSecs).c_str(), bitttt_model_target(m.model),
               bitttt_model_n_threads(m.model));
}

} // namespace

void addGenerate(CLI::App &app) {
  auto o = std::make_shared<GenerateOptions>();
  CLI::App *cmd = app.add_subcommand(
      "generate",
      "Continue a prompt. Text in (-p / -f, tokenized with the model's "
      "tokenizer), text out, streamed as it is generated; or token ids in "
      "(--ids 1,2,3) and ids out. Prefill and decode speeds go to stderr.");
  o->model.add(*cmd);
  auto *p = cmd->add_option("-p,--prompt", o->prompt, "The prompt text");
  auto *f = cmd->add_option("-f,--file", o->promptFile,
                            "Read the prompt from this file")
                ->check(CLI::ExistingFile);
  auto *ids = cmd->add_option(
      "--ids", o->ids,
      "The prompt as token ids, comma separated (\"1,2,3\"); prints ids");
  p->excludes(f)->excludes(ids);
  f->excludes(ids);
  o->sampling.add(*cmd, 128);
  cmd->callback([o, p] {
    o->promptGiven = p->count() > 0;
    run(*o);
  });
}

} // namespace bitttt::run
