// Administration of an origin: what `ferry-origin` subcommands do besides `serve`. Each runs in
// its own process on the origin host (it opens the data directory; publishes are serialized
// with a running server through the catalog and the publish lock).
//
// Keys: the server holds only the online keys (snapshot, timestamp, mirrors) in
// DATA/keys/online/. The root keys and the targets key are "offline": init writes them to a
// directory the administrator moves off the machine, and the commands that need them (adding a
// plugin, adding a release, rotating keys, re-signing root/targets) take them as files.
#ifndef FERRY_ORIGIN_ADMIN_H_
#define FERRY_ORIGIN_ADMIN_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "origin/service.h"
#include "tuf/keys.h"

namespace ferry::origin {

struct InitOptions {
  ServiceOptions service;        // data_dir and validity periods
  std::string offline_keys_dir;  // where root-N.key and targets.key are written
  int root_keys = 3;
  int root_threshold = 2;
  // Encrypts the offline keys (recommended); the online keys are never encrypted (the server
  // starts unattended) but are 0600.
  std::optional<std::string> passphrase;
};

struct InitResult {
  std::vector<std::string> offline_key_files;
  std::string root_json_path;  // DATA/repo/metadata/1.root.json: what clients pin
};

// Creates keys, the catalog and repository version 1 (root, targets delegating "mirrors" to the
// online mirrors key, snapshot, timestamp). kAlreadyExists if DATA already holds a catalog.
Result<InitResult> InitOrigin(const InitOptions& options);

// Loads offline key files (passphrase used for encrypted ones).
Result<std::vector<std::unique_ptr<tuf::Signer>>> LoadKeys(
    const std::vector<std::string>& paths, const std::optional<std::string>& passphrase);

// Parses an author's public key: a TUF key object (JSON), a 64-hex ed25519 key, or a
// minisign public key file's text.
Result<tuf::Key> ParseAuthorKey(const std::string& text);

// Registers plugin NAME with its authors' keys (threshold 1 of them) and publishes the
// delegation "plugins.NAME" -> paths "plugins/NAME/*" signed with the targets key. Re-running
// after an interruption completes it.
Status AddPlugin(OriginService& svc, const std::string& name,
                 const std::vector<std::pair<std::string, tuf::Key>>& authors,
                 const tuf::Signer& targets_key);

// Adds a release artifact under the top-level targets role (an administrator path): stores the
// file, lists it as `target_path` (must start with "release/") with custom.ferry {package,
// version, minisig signed by the targets key}, publishes.
Result<PublishResult> AddRelease(OriginService& svc, const std::string& file,
                                 const std::string& target_path, const std::string& package,
                                 const std::string& version, const tuf::Signer& targets_key);

// Issues a token (returned once; stored hashed).
Result<std::string> IssueToken(Catalog& catalog, const std::string& scope,
                               const std::string& description, std::optional<UnixTime> expires,
                               UnixTime now);

// Replaces the author keys of plugin NAME (threshold 1 of them): the delegation, re-signed with
// the targets key, then the catalog (for the minisign check of uploads). The plugin's current
// role, signed by the old keys, stops verifying if its signer was removed: a remaining or new
// author must publish or renew (`ferry renew`) to make its files available again.
Status SetPluginAuthors(OriginService& svc, const std::string& name,
                        const std::vector<std::pair<std::string, tuf::Key>>& authors,
                        const tuf::Signer& targets_key);

// New key for an online delegated role ("mirrors" or "deltas"): the delegation (re-signed with
// the targets key) lists `new_key`, and the role is re-signed with it at once.
Status RotateDelegatedRole(OriginService& svc, const std::string& role, const tuf::Signer& new_key,
                           const tuf::Signer& targets_key);

// Replaces the keys of a top-level role. Root changes are signed by the current root keys
// (`root_keys`, at least the threshold) and the new ones. For online roles (snapshot,
// timestamp) new key files replace the ones in DATA/keys/online; a running server reads them
// again at its next publish.
Status RotateRole(OriginService& svc, const std::string& role,
                  const std::vector<const tuf::Signer*>& root_keys,
                  const std::vector<const tuf::Signer*>& new_keys, std::int64_t threshold);

// Re-signs root and/or targets (new version, fresh expiry) with the offline keys.
Status ResignOffline(OriginService& svc, const std::vector<const tuf::Signer*>& root_keys,
                     const tuf::Signer* targets_key);

}  // namespace ferry::origin

#endif  // FERRY_ORIGIN_ADMIN_H_
