//===- Commands.h - bitttt-run's subcommands --------------------*- C++ -*-===//
#ifndef BITTTT_RUN_COMMANDS_H
#define BITTTT_RUN_COMMANDS_H

#include <string>
#include <vector>

namespace bitttt::run {

/// Each subcommand gets the whole argv (args[1] is its name) and returns the
/// process exit status: 0 on success, 1 on any error (message on stderr).
int generateCommand(const std::vector<std::string> &args);
int inspectCommand(const std::vector<std::string> &args);

/// Prints "bitttt-run: error: <message>" and returns 1.
int reportError(const std::string &message);

} // namespace bitttt::run

#endif // BITTTT_RUN_COMMANDS_H
