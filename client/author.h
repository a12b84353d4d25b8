// The plugin author's side of publishing: the next version of the plugin's delegated role,
// listing one more file with Ferry's custom data, signed with the author's key on the author's
// machine. `ferry publish` sends it to the origin with the file.
#ifndef FERRY_CLIENT_AUTHOR_H_
#define FERRY_CLIENT_AUTHOR_H_

#include <cstdint>
#include <string>

#include "base/result.h"
#include "base/time.h"
#include "tuf/keys.h"
#include "tuf/metadata.h"

namespace ferry::client {

struct RoleFile {
  std::string target_path;  // "plugins/NAME/NAME-1.2.hpi"
  std::string local_path;   // the file on disk (hashed, minisign-signed)
  std::string package;      // NAME
  std::string version;      // "1.2"
};

// Returns the signed bytes of role `role`: `current` (the verified current version, or nullptr
// if the role has none yet) plus `file` (length, sha256, custom.ferry {package, version, minisig}),
// version + 1, expiring `valid_seconds` after `now`. kConflict if `current` already lists the
// path with other bytes.
Result<std::string> SignNextRoleVersion(const std::string& role, const tuf::Targets* current,
                                        const RoleFile& file, const tuf::Ed25519Signer& author,
                                        UnixTime now, std::int64_t valid_seconds = 365 * 86400);

// A renewal: `current` again with the same files, version + 1, expiring `valid_seconds` after
// `now`, signed by `author`. The origin accepts it when it expires later than `current`.
Result<std::string> SignRenewedRoleVersion(const tuf::Targets& current,
                                           const tuf::Ed25519Signer& author, UnixTime now,
                                           std::int64_t valid_seconds = 365 * 86400);

}  // namespace ferry::client

#endif  // FERRY_CLIENT_AUTHOR_H_
