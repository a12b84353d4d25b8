// Repository writer: creates and maintains a TUF repository - root with per-role keys and
// thresholds, targets with delegations, snapshot, timestamp - signs it, and writes the files a
// client fetches, each atomically, in an order that never shows a client a half-published
// state: target files, then delegated and top-level targets metadata, then the snapshot, then
// timestamp.json (the one file whose name is reused) last.
//
// With consistent snapshots (the default) the files are `N.root.json` (and `root.json`),
// `N.ROLE.json` for targets roles and the snapshot, `timestamp.json`, and targets as
// `targets/DIR/HASH.NAME` for every listed hash. Role names are percent-encoded in file names.
//
// Used by the tests now and by the origin. Signers are borrowed: they must outlive the writer.
// Published bytes are also kept in memory (files()), so tests can serve them without a disk.
//
// Thread safety: not thread safe.
#ifndef FERRY_TUF_REPOSITORY_H_
#define FERRY_TUF_REPOSITORY_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/time.h"
#include "tuf/keys.h"
#include "tuf/metadata.h"

namespace ferry::tuf {

struct RoleSigning {
  std::vector<const Signer*> signers;
  std::int64_t threshold = 1;
};

// One file of a staged publish, relative to the repository directory ("metadata/3.snapshot.json").
struct StagedFile {
  std::string path;
  std::string bytes;
  std::string role;          // whose metadata this is
  std::int64_t version = 0;  // its version
};

struct RepositoryOptions {
  // Directory the repository is written to (metadata/ and targets/ below it); empty: memory only.
  std::string dir;
  bool consistent_snapshot = true;
  // How long each role's metadata stays valid after it is signed.
  std::int64_t root_expiry_seconds = 365 * 86400;
  std::int64_t targets_expiry_seconds = 90 * 86400;
  std::int64_t snapshot_expiry_seconds = 7 * 86400;
  std::int64_t timestamp_expiry_seconds = 1 * 86400;
  // Also list sha512 for targets (sha256 always).
  bool sha512_targets = false;
  // List length and sha256 of each targets role in snapshot.meta (optional in TUF).
  bool snapshot_meta_hashes = false;
  // Per-role validity overriding targets_expiry_seconds for delegated roles the writer signs
  // (e.g. the online "mirrors" role: a week).
  std::map<std::string, std::int64_t> role_expiry_seconds;
};

class Repository {
 public:
  // A new repository: root v1 and empty targets v1, snapshot v1, timestamp v1, published at
  // `now`. Every role needs at least `threshold` signers.
  static Result<Repository> Create(const RepositoryOptions& options, const RoleSigning& root,
                                   const RoleSigning& targets, const RoleSigning& snapshot,
                                   const RoleSigning& timestamp, UnixTime now);

  // Reopens a repository from the current metadata bytes of every role ("root", "targets",
  // "snapshot", "timestamp" and each delegated role), e.g. as kept in the origin's catalog.
  // No signer is attached: SetSigners() provides the keys a process holds (the origin's server
  // holds only online keys; the administrator's tool adds the targets or root keys). Metadata
  // that fails to parse is kBadMetadata naming the role.
  static Result<Repository> Open(const RepositoryOptions& options,
                                 const std::map<std::string, std::string>& current);

  // Attaches the signers for an existing role without changing its keys. kInvalidArgument if a
  // signer's keyid is not one of the role's keyids.
  Status SetSigners(std::string_view role, const RoleSigning& signing);

  // Lists `content` as `target_path` in `role` (top-level "targets" or a delegated role) and
  // writes the target file(s). kUnsafeName for paths outside the safe set; kInvalidArgument if
  // a delegated role's paths do not cover it.
  Status AddTarget(std::string_view role, std::string_view target_path, std::string_view content,
                   std::optional<json::Value> custom = std::nullopt);
  // Lists a target whose bytes are stored elsewhere (the origin's blob store).
  Status AddTargetInfo(std::string_view role, std::string_view target_path, const TargetFile& file);
  Status RemoveTarget(std::string_view role, std::string_view target_path);

  // Accepts a new version of a delegated role signed elsewhere (a plugin author's machine). It must
  // parse, be signed by a threshold of the keys its delegator lists for it, have a higher version
  // than the current one, not be expired at `now`, and list only safe paths that the delegation
  // covers. The bytes are published as they are (never re-signed).
  Status PutSignedTargets(std::string_view role, const std::string& bytes, UnixTime now);

  // `delegator` delegates `delegation.name` to the signers' keys (keyids and threshold are
  // filled in from `signing`). The new role starts empty.
  Status AddDelegation(std::string_view delegator, DelegatedRole delegation,
                       const RoleSigning& signing);

  // `delegator` delegates `delegation.name` to public keys held elsewhere (a plugin's authors;
  // threshold from `delegation`). No metadata is created for the role: its first version comes
  // signed by those keys through PutSignedTargets, and until then the snapshot does not list it
  // (clients find no targets there).
  Status AddDelegation(std::string_view delegator, DelegatedRole delegation,
                       const std::vector<Key>& keys);

  // New keys/threshold for a delegated role: its delegator lists them (and drops keys no role
  // uses any more) and is re-signed at the next Publish. Metadata of the role signed by the old
  // keys no longer verifies; a role this repository signs needs SetSigners and Touch too.
  Status SetDelegatedKeys(std::string_view role, const std::vector<Key>& keys,
                          std::int64_t threshold);

  // New keys/threshold for a top-level role; the next Publish writes root N+1. A root key change
  // is signed by the old and the new root keys.
  Status SetRoleKeys(std::string_view role, const RoleSigning& signing);

  // Mark a role for re-signing with a new version and expiry at the next Publish (e.g. before
  // it expires). The timestamp is re-signed by every Publish; the snapshot when a targets role
  // changed or when touched.
  Status Touch(std::string_view role);

  // Signs every changed role, then (if any targets role changed, or it was touched) a new
  // snapshot, then a new timestamp, and returns the files to write in publishing order (targets
  // roles, snapshot, timestamp.json last). The in-memory state
  // moves to the new versions; if writing fails, reopen from the last committed state.
  // kInvalidArgument naming the role when a role must be signed but has no signers.
  Result<std::vector<StagedFile>> Stage(UnixTime now);
  // Writes staged files atomically, in order (idempotent: safe to repeat after a crash).
  Status Write(const std::vector<StagedFile>& files);
  // Stage + Write.
  Status Publish(UnixTime now);

  // The delegator of a delegated role ("" for top-level roles or unknown roles).
  std::string DelegatorOf(std::string_view role) const;

  const Root& root() const { return root_; }
  const Targets* targets(std::string_view role) const;
  const Snapshot& snapshot() const { return snapshot_; }
  const Timestamp& timestamp() const { return timestamp_; }

  // Bytes of the current metadata file of a role ("root", "timestamp", ... or a delegated role).
  const std::string& MetadataBytes(std::string_view role) const;
  // Every file published so far, by path relative to dir ("metadata/1.root.json",
  // "targets/a/HASH.b.tgz"); includes old versions, as a consistent-snapshot server keeps them.
  const std::map<std::string, std::string>& files() const { return files_; }

 private:
  explicit Repository(const RepositoryOptions& options) : options_(options) {}

  Status WriteFile(const std::string& rel, const std::string& bytes);
  Result<Targets*> MutableTargets(std::string_view role);
  Result<const RoleSigning*> SigningFor(std::string_view role) const;

  RepositoryOptions options_;
  Root root_;
  std::map<std::string, Targets> targets_;         // role -> metadata body
  std::map<std::string, RoleSigning> signing_;     // role -> current signers
  std::map<std::string, std::string> delegators_;  // delegated role -> its delegator
  Snapshot snapshot_;
  Timestamp timestamp_;
  std::set<std::string> dirty_;                       // roles to re-sign
  std::map<std::string, std::string> presigned_;      // role -> bytes signed elsewhere, to publish
  std::optional<RoleSigning> previous_root_signing_;  // set while a root rotation is pending
  std::map<std::string, std::string> current_;        // role -> current bytes
  std::map<std::string, std::string> files_;
};

}  // namespace ferry::tuf

#endif  // FERRY_TUF_REPOSITORY_H_
