#include "tests/testutil/testutil.h"

#include <cstdlib>
#include <filesystem>

#include "base/fs.h"

namespace ferry::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string templ = std::string(base && *base ? base : "/tmp") + "/ferry-test-XXXXXX";
  char* p = ::mkdtemp(templ.data());
  if (p == nullptr) std::abort();
  path_ = p;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string SharedPath(const std::string& rel) { return std::string(FERRY_SHARED_DIR) + "/" + rel; }
std::string SourcePath(const std::string& rel) { return std::string(FERRY_SOURCE_DIR) + "/" + rel; }

std::string ReadFileOrDie(const std::string& path) {
  auto r = ReadFile(path);
  if (!r) {
    ADD_FAILURE() << r.error().ToString();
    return {};
  }
  return *r;
}

}  // namespace ferry::testing
