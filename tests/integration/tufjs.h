// tuf-js 5.0.1 (the npm TUF client) for the interoperability tests, installed once per build
// directory into BUILD/interop. Its scripts live in tests/interop/.
#ifndef FERRY_TESTS_INTEGRATION_TUFJS_H_
#define FERRY_TESTS_INTEGRATION_TUFJS_H_

#include <map>
#include <string>

namespace ferry::testing {

// Installs tuf-js@5.0.1 unless present. Returns an empty string when it is there, else why it
// could not be installed (no node/npm, registry unreachable): the caller then skips.
std::string EnsureTufJs();

// The environment for `node tests/interop/SCRIPT.js` to find it (NODE_PATH).
std::map<std::string, std::string> TufJsEnv();

}  // namespace ferry::testing

#endif  // FERRY_TESTS_INTEGRATION_TUFJS_H_
