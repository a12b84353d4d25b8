// The first step of a mirror sync (and of the crawler): a verified TUF update of the WHOLE
// repository. Unlike a client, which loads delegated roles lazily along one target's path, the
// planner loads every role the snapshot lists that is reachable through delegations, each
// verified with tuf::TrustedSet against the pinned root or its delegator, and keeps every file's
// exact bytes. The result is a SyncPlan: the metadata files to serve and every target they list.
//
// Order (TUF 1.0 section 5): root chain from the pinned root (N+1, N+2, ... until 404; also the
// older roots N-1, N-2, ... down to 1 when the upstream has them, verified forward so that the
// chain arrives exactly at the pinned root), timestamp (rollback-checked against the timestamp
// the mirror serves), snapshot (role rollback checked against the snapshot it serves), then
// targets and delegated roles breadth first.
//
// Local first: a versioned file (N.root.json, N.snapshot.json, N.ROLE.json) already in the
// mirror's served metadata directory is read from there and verified like a download; only
// missing (or no longer verifying) files are fetched. timestamp.json always comes from upstream.
//
// Failure (nothing is to be published): a signature, threshold, version, hash, length or expiry
// check fails (the error names the file and the check), the upstream is unreachable or answers
// an error, or a limit is exceeded. A target whose path cannot be served safely as a file, whose
// hash algorithm Ferry cannot check, or that the delegation does not cover is left out of the
// plan with a warning (clients would not accept it either).
//
// Thread safety: PlanSync is reentrant; the upstream must allow concurrent use if shared.
#ifndef FERRY_MIRROR_PLAN_H_
#define FERRY_MIRROR_PLAN_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/time.h"
#include "mirror/upstream.h"
#include "store/digest.h"
#include "tuf/metadata.h"
#include "tuf/trusted_set.h"

namespace ferry::mirror {

// A metadata file as served under metadata/.
struct MetadataFile {
  std::string name;    // "3.root.json", "7.snapshot.json", "4.plugins.git.json", "timestamp.json"
  std::string bytes;   // exactly as the upstream served them
  bool local = false;  // read from the mirror's own served directory (already published)
};

// One target to serve, under every listed hash.
struct TargetEntry {
  std::string path;  // target path ("plugins/git/git-1.0.hpi")
  std::uint64_t length = 0;
  tuf::Hashes hashes;  // as listed (document order), never empty
  std::string role;    // a role that lists it (for messages)

  // The sha256 listed, if any: the blob store's name for the bytes.
  std::optional<store::Digest> Sha256() const;
  // "targets/DIR/HASH.NAME" for every listed hash, in the order of `hashes`.
  std::vector<std::string> ServedPaths() const;
  // URL path (under the upstream's base) of the copy named by the first hash.
  std::string UrlPath() const;
};

struct SyncPlan {
  std::vector<MetadataFile> roots;  // every N.root.json held or fetched, ascending versions
  MetadataFile timestamp;           // name "timestamp.json"
  MetadataFile snapshot;
  std::vector<MetadataFile> roles;    // N.targets.json and every delegated N.ROLE.json
  std::vector<TargetEntry> targets;   // every target of every role, deduplicated
  std::vector<std::string> warnings;  // what was left out and why
  // The upstream's timestamp has the version the mirror already serves: nothing beyond the
  // roots was loaded (timestamp, snapshot, roles and targets are empty).
  bool timestamp_unchanged = false;
  std::int64_t root_version = 0;
  std::int64_t timestamp_version = 0;  // of the upstream's timestamp (verified)
  std::int64_t snapshot_version = 0;
  std::uint64_t bytes_downloaded = 0;  // metadata bytes fetched from the upstream
};

struct PlannerLimits {
  // Caps for metadata whose length is not signed (the reference clients' values).
  std::uint64_t root_max_bytes = 512000;
  std::uint64_t timestamp_max_bytes = 16384;
  std::uint64_t snapshot_max_bytes = 2000000;
  std::uint64_t targets_max_bytes = 5000000;
  // Delegation edges (delegator -> role) loaded in one plan: a bound on work, not a TUF rule.
  std::size_t max_role_edges = 100000;
};

struct PlannerOptions {
  // Bytes of the trust anchor (the operator's pinned root.json).
  std::string pinned_root;
  // The mirror's served metadata directory ("DATA/repo/metadata"), read for local-first loading
  // and rollback protection. Empty: everything comes from the upstream (the crawler).
  std::string local_metadata_dir;
  // Reference time for expiry, read once per sync.
  UnixTime now = 0;
  PlannerLimits limits;
  tuf::TrustedSetOptions trust;
  // Load everything even when the upstream's timestamp is the one already served (a repair:
  // the sync then re-links any missing file of the current state).
  bool full = false;
};

// Runs the verified update (see the file comment). Errors: kUnsupported if the root does not use
// consistent snapshots (a mirror can only switch states atomically with versioned names); the
// trusted set's codes (kBadSignature, kThresholdNotMet, kRollback, kExpired, kHashMismatch,
// kLengthMismatch, kBadVersion, kMissingRole, ...) with the file named; kIoError/kTimeout for
// upstream failures ("HTTP 503 for metadata/5.snapshot.json from URL"); kDelegationLimit.
Result<SyncPlan> PlanSync(Upstream& upstream, const PlannerOptions& options);

// True if `path` can be served as a file below targets/: '/'-separated segments, none empty, "."
// or "..", no NUL, backslash or control byte, at most 4096 bytes, and a hash-prefixed basename
// (128 hex + '.' + name) within 255 bytes.
bool IsServableTargetPath(std::string_view path);

}  // namespace ferry::mirror

#endif  // FERRY_MIRROR_PLAN_H_
