// The `ferry` command-line client (client/main.cc), split out so tests can run its commands
// in-process. docs/cli.md documents the commands, files and exit codes.
#ifndef FERRY_CLIENT_CLI_H_
#define FERRY_CLIENT_CLI_H_

#include <string>
#include <vector>

namespace ferry::client {

// Exit codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;   // verification, network, I/O: the message says which
inline constexpr int kExitUsage = 2;     // bad command line
inline constexpr int kExitNotFound = 4;  // no such package, version or target

// Runs `ferry ARGS...` (args[0] is the command). Output to stdout/stderr.
int RunCli(const std::vector<std::string>& args);

}  // namespace ferry::client

#endif  // FERRY_CLIENT_CLI_H_
