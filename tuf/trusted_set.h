// The trusted set: an I/O-free state machine for the TUF 1.0 client workflow (specification
// section 5, "detailed client workflow"). Callers feed it metadata bytes in the order the
// specification gives; it accepts them into the trusted state or rejects them with a typed
// error that says what failed and why. It never reads files, the network or the clock.
//
//   auto ts = TrustedSet::Create(local_root_bytes, NowUnix());       // 5.2 (time read once)
//   while (fetch N+1.root.json) ts->UpdateRoot(bytes);                 // 5.3
//   ts->UpdateTimestamp(bytes);   // 5.4; kEqualVersion: keep the trusted one and stop
//   ts->UpdateSnapshot(bytes);    // 5.5
//   ts->UpdateTargets(bytes);     // 5.6
//   ts->UpdateDelegatedTargets(bytes, "role", "targets");             // 5.6.7
//
// Local (previously persisted) metadata goes through the same calls: a local timestamp or
// snapshot whose signature no longer verifies under the newest root (keys rotated) is rejected
// and so no longer protects against rollback - the specification's fast-forward recovery
// (5.3.11). A local snapshot is loaded with `trusted = true` (skips the hash check against the
// timestamp, which may be newer).
//
// State kept on failure, as in the specification and python-tuf: a timestamp or snapshot that
// verifies but fails only a final check (expired, or a snapshot whose version differs from the
// timestamp's) is still kept as trusted, because it protects later updates against rollback,
// and the call returns the error (kExpired / kBadVersion). Nothing else changes on error.
//
// Thread safety: not thread safe; one updater owns one TrustedSet.
#ifndef FERRY_TUF_TRUSTED_SET_H_
#define FERRY_TUF_TRUSTED_SET_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "base/result.h"
#include "base/time.h"
#include "tuf/metadata.h"

namespace ferry::tuf {

struct TrustedSetOptions {
  // Also require keyid == sha256(canonical(key)) for every key used to verify. Off by default:
  // python-tuf and tuf-js do not check it and real repositories break it (tuf-pitfalls.md 2).
  bool strict_keyids = false;
  // Most root versions accepted through UpdateRoot by one TrustedSet (one update); the
  // reference clients stop at 256 too (a server serving 2^20 roots cannot keep a client busy).
  int max_root_rotations = 256;
};

class TrustedSet {
 public:
  // 5.2: load the trusted root. It must verify with its own root keys (threshold); its expiry
  // is checked later, after the root walk (5.3.10), by UpdateTimestamp.
  static Result<TrustedSet> Create(std::string_view root_bytes, UnixTime reference_time,
                                   const TrustedSetOptions& options = {});

  // 5.3.4-5.3.9: accept N+1.root.json. It must be signed by a threshold of the trusted root's
  // root keys and of its own, and its version must be exactly trusted+1 (kRollback if lower,
  // kBadVersion if it skips). Expiry is not checked: only the final root's expiry matters.
  // kWrongOrder once a timestamp is loaded; kTooManyRotations after max_root_rotations.
  Status UpdateRoot(std::string_view bytes);

  // 5.4: timestamp. Checks the final root is not expired, the timestamp keys' threshold, no
  // rollback of the timestamp version or of the snapshot version it lists, then expiry.
  // kEqualVersion (not a failure for the updater) when the version equals the trusted one: the
  // trusted timestamp stays.
  Status UpdateTimestamp(std::string_view bytes);

  // 5.5: snapshot. Unless `trusted`, length and hashes must match the timestamp's entry. Then
  // signature threshold, no role removed or rolled back relative to the trusted snapshot, not
  // expired, and version equal to the timestamp's entry.
  Status UpdateSnapshot(std::string_view bytes, bool trusted = false);

  // 5.6: top-level targets (delegator "root").
  Status UpdateTargets(std::string_view bytes) { return UpdateDelegatedTargets(bytes, kTargets, kRoot); }

  // 5.6 for a delegated role: `delegator` must already be loaded and must delegate `role`; the
  // snapshot must list ROLE.json; length/hashes (if listed), signature threshold of the
  // delegator's keys for the role, version equal to the snapshot's, not expired. The role is
  // trusted as reached from this delegator only (a role reached from two delegators is verified
  // against each separately).
  Status UpdateDelegatedTargets(std::string_view bytes, std::string_view role,
                                std::string_view delegator);

  UnixTime reference_time() const { return reference_time_; }
  const Metadata<Root>& root() const { return root_; }
  const Metadata<Timestamp>* timestamp() const { return timestamp_ ? &*timestamp_ : nullptr; }
  const Metadata<Snapshot>* snapshot() const { return snapshot_ ? &*snapshot_ : nullptr; }
  const Metadata<Targets>* targets() const { return Delegated(kTargets, kRoot); }
  // A targets role as verified through `delegator`, or nullptr.
  const Metadata<Targets>* Delegated(std::string_view role, std::string_view delegator) const;

 private:
  TrustedSet(Metadata<Root> root, UnixTime reference_time, const TrustedSetOptions& options)
      : root_(std::move(root)), reference_time_(reference_time), options_(options) {}

  Status CheckKeyIds(const std::map<std::string, Key>& keys) const;
  Status CheckFinalTimestamp() const;
  Status CheckFinalSnapshot() const;

  Metadata<Root> root_;
  std::optional<Metadata<Timestamp>> timestamp_;
  std::optional<Metadata<Snapshot>> snapshot_;
  // (delegator, role) -> verified targets metadata.
  std::map<std::pair<std::string, std::string>, Metadata<Targets>, std::less<>> targets_;
  UnixTime reference_time_;
  TrustedSetOptions options_;
  int root_updates_ = 0;
};

}  // namespace ferry::tuf

#endif  // FERRY_TUF_TRUSTED_SET_H_
