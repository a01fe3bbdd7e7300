//===- Generate.cpp - bitttt-run generate: greedy decoding ----------------===//
#include "Commands.h"
#include "Options.h"

#include "bitttt.h"

#include <chrono>
#include <cstdio>
#include <limits>
#include <memory>

namespace bitttt::run {
namespace {

Command makeCommand() {
  return Command(
      "generate",
      "bitttt-run generate MODEL.bitt --ids 1,2,3 [-n N] [--threads N] "
      "[--target T]",
      "Feeds the prompt token ids to the model (whole chunks through the\n"
      "compiled prefill, the rest through decode), then generates N tokens\n"
      "greedily (argmax of the logits), printing each new id on stdout as\n"
      "soon as it is produced. Prefill and decode speeds go to stderr.",
      {{"--ids", "", "LIST",
        "Prompt token ids, comma separated (\"1,2,3\"); at least one. Each "
        "must be in [0, vocab_size)."},
       {"--n-predict", "-n", "N",
        "Number of tokens to generate (default 16; 0 only feeds the "
        "prompt)."},
       {"--threads", "", "N",
        "Threads of the runtime's pool (default 0 = all online cores)."},
       {"--target", "", "T",
        "Artifact to run: x86-64-v4 (AVX-512 VNNI) or x86-64-v3 (AVX2+FMA). "
        "Default: the best this CPU supports. A target the CPU or the file "
        "lacks is an error."}});
}

bool parseIds(const std::string &text, std::vector<int32_t> &ids,
              std::string &error) {
  size_t start = 0;
  for (;;) {
    size_t comma = text.find(',', start);
    std::string item = text.substr(
        start, comma == std::string::npos ? std::string::npos : comma - start);
    int64_t id;
    if (!parseInteger(item, std::numeric_limits<int32_t>::min(),
                      std::numeric_limits<int32_t>::max(), id)) {
      error = "--ids: '" + item +
              "' is not a token id (expected a list "
              "like 1,2,3)";
      return false;
    }
    ids.push_back(int32_t(id));
    if (comma == std::string::npos)
      return true;
    start = comma + 1;
  }
}

/// Owns the model and session; frees both on every path.
struct Handles {
  bitttt_model *model = nullptr;
  bitttt_session *session = nullptr;
  ~Handles() {
    bitttt_session_free(session);
    bitttt_model_free(model);
  }
};

int runtimeError() { return reportError(bitttt_last_error()); }

double seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

std::string speed(size_t tokens, double secs) {
  char buf[128];
  std::snprintf(buf, sizeof(buf), "%zu tokens in %.3f ms (%.1f tokens/s)",
                tokens, secs * 1e3, secs > 0 ? double(tokens) / secs : 0.0);
  return buf;
}

} // namespace

int generateCommand(const std::vector<std::string> &args) {
  Command cmd = makeCommand();
  std::string error;
  if (!cmd.parse(args, 2, error))
    return reportError(error);
  if (cmd.wantsHelp()) {
    std::fputs(cmd.helpText().c_str(), stdout);
    return 0;
  }
  if (cmd.positional().size() != 1)
    return reportError("generate: expected one MODEL.bitt, got " +
                       std::to_string(cmd.positional().size()) +
                       " (see --help)");
  if (!cmd.has("--ids"))
    return reportError("generate: --ids is required (the prompt's token ids)");
  std::vector<int32_t> prompt;
  if (!parseIds(cmd.get("--ids"), prompt, error))
    return reportError("generate: " + error);
  int64_t nPredict = 16, threads = 0;
  if (!parseInteger(cmd.get("--n-predict", "16"), 0, 1 << 30, nPredict))
    return reportError("generate: -n: '" + cmd.get("--n-predict") +
                       "' is not a count (expected 0 or more)");
  if (!parseInteger(cmd.get("--threads", "0"), 0, 1024, threads))
    return reportError("generate: --threads: '" + cmd.get("--threads") +
                       "' is not a thread count (expected 0 to 1024)");

  bitttt_model_params params = bitttt_model_default_params();
  params.n_threads = int(threads);
  std::string target = cmd.get("--target");
  if (cmd.has("--target"))
    params.target = target.c_str();
  Handles h;
  if (bitttt_model_load(cmd.positional()[0].c_str(), &params, &h.model))
    return runtimeError();
  if (bitttt_session_create(h.model, &h.session))
    return runtimeError();

  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  if (bitttt_session_prefill(h.session, prompt.data(), prompt.size()))
    return runtimeError();
  double prefillSecs = seconds(Clock::now() - t0);

  double decodeSecs = 0;
  size_t decoded = 0;
  for (int64_t i = 0; i < nPredict; ++i) {
    if (i > 0) {
      int32_t previous;
      if (bitttt_session_argmax(h.session, &previous))
        return runtimeError();
      auto t = Clock::now();
      if (bitttt_session_decode(h.session, previous))
        return runtimeError();
      decodeSecs += seconds(Clock::now() - t);
      ++decoded;
    }
    int32_t next;
    if (bitttt_session_argmax(h.session, &next))
      return runtimeError();
    std::printf(i == 0 ? "%d" : " %d", next);
    std::fflush(stdout);
  }
  if (nPredict > 0)
    std::printf("\n");
  std::fflush(stdout);
  std::fprintf(stderr, "prefill: %s; decode: %s [%s, %d threads]\n",
               speed(prompt.size(), prefillSecs).c_str(),
               speed(decoded, decodeSecs).c_str(), bitttt_model_target(h.model),
               bitttt_model_n_threads(h.model));
  return 0;
}

} // namespace bitttt::run
