// TUF 1.0 metadata: the four top-level roles and delegated targets, parsed with full validation
// from the JSON a repository serves, and built back to JSON for signing.
//
// Parsing keeps the whole `signed` object (unknown fields included) and its canonical encoding:
// signatures are always checked over canonical(parsed `signed`), never over the file bytes and
// never over a re-serialisation of the typed structs (tuf-pitfalls.md section 1).
//
// Validation (kBadMetadata / kWrongType, with the field path in the message):
//   `_type` as expected; spec_version "1.<digits>[.<digits>]"; version >= 1; expires strictly
//   "YYYY-MM-DDTHH:MM:SSZ"; lengths >= 0; hashes non-empty objects of lowercase hex strings;
//   thresholds >= 1; keyids unique within a role; root lists exactly the four top-level roles;
//   a delegation has exactly one of `paths` / `path_hash_prefixes`; delegated role names are
//   unique and never a top-level role name; exactly one of `roles` / `succinct_roles`; signature
//   keyids unique within the envelope.
//
// Thread safety: plain values.
#ifndef FERRY_TUF_METADATA_H_
#define FERRY_TUF_METADATA_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/json.h"
#include "base/result.h"
#include "base/time.h"
#include "crypto/hash.h"
#include "tuf/keys.h"

namespace ferry::tuf {

inline constexpr std::string_view kRoot = "root";
inline constexpr std::string_view kTargets = "targets";
inline constexpr std::string_view kSnapshot = "snapshot";
inline constexpr std::string_view kTimestamp = "timestamp";
// What Ferry writes as spec_version: the widest-compatible 1.0.x form (tuf-pitfalls.md section 5).
inline constexpr std::string_view kSpecVersion = "1.0.31";

bool IsTopLevelRole(std::string_view name);

// Hash algorithm name -> lowercase hex digest, in document order (clients fetch the target copy
// named by the first hash).
using Hashes = std::vector<std::pair<std::string, std::string>>;

// Checks every listed hash of `data`. An algorithm Ferry cannot compute makes it fail
// (kHashMismatch naming the algorithm): skipping it would let an attacker pick the check.
Status VerifyHashes(const Hashes& hashes, std::string_view data, std::string_view what);

// Streaming form of VerifyHashes, for downloads hashed while they arrive.
class HashVerifier {
 public:
  // kHashMismatch if any algorithm is unsupported (fail closed, as VerifyHashes).
  static Result<HashVerifier> Create(const Hashes& hashes, std::string_view what);
  void Update(ByteSpan data);
  // Compares every digest; kHashMismatch names the algorithm and both values.
  Status Finish();

 private:
  HashVerifier() = default;
  std::string what_;
  std::vector<std::pair<std::string, crypto::Hasher>> hashers_;  // expected hex, hasher
  std::vector<std::string> names_;
};

struct Signature {
  std::string keyid;
  std::string sig;  // hex
};

// Fields every role has.
struct Common {
  std::string spec_version{kSpecVersion};
  std::int64_t version = 1;
  UnixTime expires = 0;
  // Members of `signed` Ferry does not interpret, kept so a re-serialisation keeps them.
  json::Object unrecognized;

  bool IsExpired(UnixTime reference_time) const { return expires <= reference_time; }
};

struct RoleKeys {
  std::vector<std::string> keyids;
  std::int64_t threshold = 1;
};

struct Root : Common {
  static constexpr std::string_view kType = kRoot;
  bool consistent_snapshot = true;
  std::map<std::string, Key> keys;       // keyid -> key
  std::map<std::string, RoleKeys> roles; // exactly root, targets, snapshot, timestamp
};

// An entry of snapshot.meta / timestamp.meta.
struct MetaFile {
  std::int64_t version = 1;
  std::optional<std::int64_t> length;
  Hashes hashes;  // may be empty (hashes are optional in meta)

  // Length (when listed) and every hash (when listed) of `data`.
  Status Verify(std::string_view data, std::string_view what) const;
};

struct TargetFile {
  std::int64_t length = 0;
  Hashes hashes;  // never empty
  std::optional<json::Value> custom;
};

struct DelegatedRole : RoleKeys {
  std::string name;
  bool terminating = false;
  std::optional<std::vector<std::string>> paths;
  std::optional<std::vector<std::string>> path_hash_prefixes;

  // True if this delegation covers `target_path` (paths: glob per '/'-separated segment, same
  // number of segments; path_hash_prefixes: hex sha256 of the path's bytes starts with one).
  bool IsDelegatedPath(std::string_view target_path) const;
};

// TAP 15 hash bins: 2^bit_length roles named NAME_PREFIX-<hex bin>, all with the same keys.
struct SuccinctRoles : RoleKeys {
  int bit_length = 1;  // 1..32
  std::string name_prefix;

  std::string RoleForTarget(std::string_view target_path) const;
  bool IsRole(std::string_view role_name) const;
  std::uint64_t NumberOfBins() const { return std::uint64_t{1} << bit_length; }
  std::string BinName(std::uint64_t bin) const;
};

struct Delegations {
  std::map<std::string, Key> keys;
  std::vector<DelegatedRole> roles;              // when not succinct
  std::optional<SuccinctRoles> succinct_roles;  // TAP 15

  // (role name, terminating) of every delegation covering target_path, in order of appearance.
  std::vector<std::pair<std::string, bool>> RolesForTarget(std::string_view target_path) const;
  // Keys and threshold for a delegated role name, or nullptr if not delegated here.
  const RoleKeys* FindRole(std::string_view role_name) const;
};

struct Targets : Common {
  static constexpr std::string_view kType = kTargets;
  std::map<std::string, TargetFile> targets;
  std::optional<Delegations> delegations;
};

struct Snapshot : Common {
  static constexpr std::string_view kType = kSnapshot;
  std::map<std::string, MetaFile> meta;  // "targets.json", "ROLE.json"
};

struct Timestamp : Common {
  static constexpr std::string_view kType = kTimestamp;
  MetaFile snapshot_meta;  // meta["snapshot.json"]
};

// A parsed, not yet verified, metadata file.
template <class T>
struct Metadata {
  T body;                              // the typed `signed` part
  std::vector<Signature> signatures;   // unique keyids
  std::string signed_bytes;            // canonical JSON of the parsed `signed` object
};

// Parses bytes as metadata of type T (Root, Targets, Snapshot or Timestamp). Checks shape and
// types only; no signature or expiry check.
template <class T>
Result<Metadata<T>> ParseMetadata(std::string_view bytes);

// The `_type` of a metadata file without parsing the rest (kBadMetadata if unreadable).
Result<std::string> PeekType(std::string_view bytes);

// JSON of the `signed` part, as Ferry writes it (canonical-friendly; unrecognized kept).
json::Value ToJson(const Root& root);
json::Value ToJson(const Targets& targets);
json::Value ToJson(const Snapshot& snapshot);
json::Value ToJson(const Timestamp& timestamp);

// Counts the signatures over `signed_bytes` that are valid for distinct keys of `role` found in
// `keys` (each keyid once, and each distinct key once even if listed under two keyids; unknown
// keyids, empty and junk signatures ignored). kThresholdNotMet if below role.threshold, with
// "ROLE: N of T required signatures are valid" in the message.
Status VerifyThreshold(std::string_view role_name, const std::string& signed_bytes,
                       const std::vector<Signature>& signatures,
                       const std::map<std::string, Key>& keys, const RoleKeys& role);

// Signs the canonical encoding of `signed_json` with every signer and returns the envelope
// document {"signatures": [...], "signed": ...} encoded as compact RFC 8259 JSON.
std::string SignEnvelope(const json::Value& signed_json, const std::vector<const Signer*>& signers);

}  // namespace ferry::tuf

#endif  // FERRY_TUF_METADATA_H_
