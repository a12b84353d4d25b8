#include "tests/integration/tufjs.h"

#include <chrono>
#include <cstdlib>

#include "base/fs.h"
#include "tests/integration/process.h"

namespace ferry::testing {
namespace {

const std::string kInteropDir = std::string(FERRY_BINARY_DIR) + "/interop";

}  // namespace

std::string EnsureTufJs() {
  static std::string status = [] {
    if (PathExists(kInteropDir + "/node_modules/tuf-js/package.json")) return std::string();
    if (std::system("command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1") != 0) {
      return std::string("node/npm not installed");
    }
    if (!MakeDirs(kInteropDir).ok()) return std::string("cannot create " + kInteropDir);
    RunResult r = RunProcess({"npm", "install", "--prefix", kInteropDir, "--no-audit", "--no-fund",
                              "--silent", "tuf-js@5.0.1"},
                             {}, std::chrono::seconds(180));
    if (r.exit_code != 0)
      return "npm install tuf-js@5.0.1 failed (registry unreachable?): " + r.err;
    return std::string();
  }();
  return status;
}

std::map<std::string, std::string> TufJsEnv() {
  return {{"NODE_PATH", kInteropDir + "/node_modules"}};
}

}  // namespace ferry::testing
