//===- Chat.cpp - bitttt-run chat: a REPL whose memory is the TTT state ---===//
//
// Every turn is fed into the same session: the model's fast weights are the
// conversation so far (no context window, no KV cache to trim). Lines that
// start with '/' are commands. Works the same when stdin is a pipe (a
// script), minus the prompt marks.
//
//===----------------------------------------------------------------------===//
#include "Common.h"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <numeric>

#include <unistd.h>

namespace bitttt::run {
namespace {

struct ChatOptions {
  ModelOptions model;
  SamplingOptions sampling;
  std::string templ = "User: {}\nAssistant:";
  std::string system;
};

const char *const kHelp =
    "commands:\n"
    "  /reset        forget the conversation (a fresh TTT state)\n"
    "  /save FILE    save the conversation state to FILE\n"
    "  /load FILE    continue from a state saved with /save\n"
    "  /temp X       set the sampling temperature (0: greedy)\n"
    "  /logits [K]   print the K most likely next tokens and their logits\n"
    "  /help         this list\n"
    "  /quit         leave (so does end of input)\n";

/// The K largest logits of the session's last position, as "id:logit".
void printLogits(bitttt_session *session, size_t k) {
  const float *logits;
  size_t vocab;
  check(bitttt_session_logits(session, &logits, &vocab));
  std::vector<size_t> order(vocab);
  std::iota(order.begin(), order.end(), size_t(0));
  k = std::min(k, vocab);
  std::partial_sort(order.begin(), order.begin() + long(k), order.end(),
                    [&](size_t a, size_t b) {
                      return logits[a] > logits[b] ||
                             (logits[a] == logits[b] && a < b);
                    });
  for (size_t i = 0; i < k; ++i)
    std::printf("%s%zu:%.9g", i ? " " : "", order[i], double(logits[order[i]]));
  std::printf("\n");
}

void run(const ChatOptions &o) {
  size_t hole = o.templ.find("{}");
  if (hole == std::string::npos)
    throw Error("chat: --template must contain {} where the message goes");
  ModelHandle m(o.model.path, o.model.threads, o.model.target);
  const bitttt_tokenizer *tokenizer = m.tokenizer(o.model.path);
  SessionHandle s(m.model);
  SamplerHandle sampler(o.sampling.resolved());
  bool tty = ::isatty(0) && ::isatty(1);
  auto feed = [&](const std::string &text) {
    std::vector<int32_t> ids = encode(tokenizer, text, false);
    for (int32_t id : ids)
      check(bitttt_sampler_accept(sampler.sampler, id));
    check(bitttt_session_prefill(s.session, ids.data(), ids.size()));
  };
  if (!o.system.empty())
    feed(o.system);
  if (tty)
    std::printf("bitttt chat: %s (type /help for commands)\n",
                o.model.path.c_str());
  std::string line;
  while (true) {
    if (tty) {
      std::printf("> ");
      std::fflush(stdout);
    }
    if (!std::getline(std::cin, line))
      break;
    if (line.empty())
      continue;
    if (line[0] == '/') {
      std::string cmd = line.substr(0, line.find(' '));
      std::string arg = line.size() > cmd.size() ? line.substr(cmd.size() + 1)
                                                 : std::string();
      try {
        if (cmd == "/quit" || cmd == "/exit")
          break;
        if (cmd == "/help") {
          std::fputs(kHelp, stdout);
        } else if (cmd == "/reset") {
          check(bitttt_session_reset(s.session));
          bitttt_sampler_reset(sampler.sampler);
          if (!o.system.empty())
            feed(o.system);
          std::printf("(state reset)\n");
        } else if (cmd == "/save" || cmd == "/load") {
          if (arg.empty())
            throw Error(cmd + " needs a file name");
          check(cmd == "/save" ? bitttt_session_save(s.session, arg.c_str())
                               : bitttt_session_load(s.session, arg.c_str()));
          std::printf("(%s %s)\n", cmd == "/save" ? "saved to" : "loaded from",
                      arg.c_str());
        } else if (cmd == "/temp") {
          char *end = nullptr;
          float t = std::strtof(arg.c_str(), &end);
          if (arg.empty() || *end)
            throw Error("/temp needs a number, got '" + arg + "'");
          check(bitttt_sampler_set_temperature(sampler.sampler, t));
          std::printf("(temperature %g)\n", double(t));
        } else if (cmd == "/logits") {
          printLogits(s.session, arg.empty() ? 10 : std::stoul(arg));
        } else {
          throw Error("unknown command " + cmd + " (see /help)");
        }
      } catch (const Error &e) {
        std::fprintf(stderr, "bitttt-run: chat: %s\n", e.what());
      } catch (const std::logic_error &) {
        std::fprintf(stderr, "bitttt-run: chat: %s: bad argument '%s'\n",
                     cmd.c_str(), arg.c_str());
      }
      std::fflush(stdout);
      continue;
    }
    feed(o.templ.substr(0, hole) + line + o.templ.substr(hole + 2));
    generateText(s.session, tokenizer, sampler.sampler, o.sampling);
    std::printf("\n");
    std::fflush(stdout);
  }
}

} // namespace

void addChat(CLI::App &app) {
  auto o = std::make_shared<ChatOptions>();
  CLI::App *cmd = app.add_subcommand(
      "chat",
      "Talk to the model. Each line you type is put into the --template and "
      "fed to the same session, whose TTT state is the memory of the whole "
      "conversation; the reply streams back. Lines starting with / are "
      "commands (/help lists them). Reads a script from stdin when it is "
      "not a terminal.");
  o->model.add(*cmd);
  cmd->add_option("--template", o->templ,
                  "How a message is framed; {} is replaced by it")
      ->capture_default_str();
  cmd->add_option("--system", o->system,
                  "Text fed once at the start (and after /reset)");
  o->sampling.add(*cmd, 256);
  o->sampling.stop = {"\nUser:"};
  cmd->callback([o] { run(*o); });
}

} // namespace bitttt::run
