// ferry: the command-line client (see client/cli.h and docs/cli.md).
#include <string>
#include <vector>

#include "client/cli.h"

int main(int argc, char** argv) {
  return ferry::client::RunCli(std::vector<std::string>(argv + 1, argv + argc));
}
