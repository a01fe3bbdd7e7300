//===- bitttt-run.cpp - run compiled bitttt models ------------------------===//
//
// A thin front end over the runtime's C API (bitttt.h), as llama-cli is over
// llama.h: generate, chat, eval, data, tokenizer, inspect.
//
//===----------------------------------------------------------------------===//
#include "Common.h"
#include "Metrics.h"

#include <cstdio>

int main(int argc, char **argv) {
  using namespace bitttt::run;
  CLI::App app{"bitttt-run: run models compiled by bitttt-compile (.bitt v2 "
               "files), prepare data, train tokenizers.\n"
               "'bitttt-run COMMAND --help' explains each command.",
               "bitttt-run"};
  app.require_subcommand(1);
  app.get_formatter()->column_width(34);
  addGenerate(app);
  addChat(app);
  addEval(app);
  addData(app);
  addTokenizer(app);
  addTrain(app);
  addInspect(app);
  addPlot(app);
  // CLI11 would say "A subcommand is required" for a misspelt one too.
  std::string commands;
  bool known = argc > 1 && argv[1][0] == '-';
  for (const CLI::App *sub : app.get_subcommands({})) {
    commands += (commands.empty() ? "" : ", ") + sub->get_name();
    known = known || (argc > 1 && sub->get_name() == argv[1]);
  }
  if (!known) {
    std::fprintf(stderr,
                 argc > 1
                     ? "bitttt-run: error: unknown command '%s' (commands: "
                       "%s; see --help)\n"
                     : "bitttt-run: error: no command given%s (commands: "
                       "%s; see --help)\n",
                 argc > 1 ? argv[1] : "", commands.c_str());
    return 1;
  }
  try {
    app.parse(argc, argv);
    return 0;
  } catch (const CLI::CallForHelp &e) {
    return app.exit(e);
  } catch (const Exit &e) {
    std::fflush(stdout);
    return e.code;
  } catch (const CLI::ParseError &e) {
    if (e.get_exit_code() == 0)
      return app.exit(e);
    std::fflush(stdout);
    std::fprintf(stderr, "bitttt-run: error: %s (see --help)\n", e.what());
    return 1;
  } catch (const Error &e) {
    std::fflush(stdout);
    std::fprintf(stderr, "bitttt-run: error: %s\n", e.what());
    return 1;
  } catch (const std::exception &e) {
    std::fflush(stdout);
    std::fprintf(stderr, "bitttt-run: error: internal error: %s\n", e.what());
    return 1;
  }
}
