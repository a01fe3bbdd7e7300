//===- bitttt-run.cpp - run compiled bitttt models ------------------------===//
//
// A thin front end over the runtime's C API (bitttt.h), as llama-cli is over
// llama.h. Subcommands: generate, inspect.
//
//===----------------------------------------------------------------------===//
#include "Commands.h"

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

namespace {

const char *const kUsage =
    "usage: bitttt-run COMMAND [OPTIONS]\n"
    "\n"
    "Runs models compiled by bitttt-compile (.bitt v2 files with artifacts).\n"
    "\n"
    "commands:\n"
    "  generate MODEL.bitt --ids 1,2,3 [-n N] [--threads N] [--target T]\n"
    "      Feed the prompt ids, then greedily generate N token ids, printing\n"
    "      each as soon as it exists; speeds on stderr.\n"
    "  inspect MODEL.bitt\n"
    "      Summarise the file: config, compiled functions, state, artifacts,\n"
    "      tensors.\n"
    "\n"
    "'bitttt-run COMMAND --help' explains each command's options.\n";

} // namespace

int bitttt::run::reportError(const std::string &message) {
  std::fflush(stdout);
  std::fprintf(stderr, "bitttt-run: error: %s\n", message.c_str());
  return 1;
}

int main(int argc, char **argv) {
  using namespace bitttt::run;
  try {
    std::vector<std::string> args(argv, argv + argc);
    if (args.size() < 2)
      return reportError("no command given\n" + std::string(kUsage));
    const std::string &command = args[1];
    if (command == "--help" || command == "-h" || command == "help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (command == "generate")
      return generateCommand(args);
    if (command == "inspect")
      return inspectCommand(args);
    return reportError("unknown command '" + command +
                       "' (commands: generate, inspect; see --help)");
  } catch (const std::exception &e) {
    return reportError(std::string("internal error: ") + e.what());
  }
}
