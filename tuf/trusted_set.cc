#include "tuf/trusted_set.h"

namespace ferry::tuf {

namespace {

std::string V(std::int64_t v) { return "v" + std::to_string(v); }

Error Expired(std::string_view role, const Common& c, UnixTime ref) {
  return Error(Errc::kExpired, std::string(role) + " " + V(c.version) + " expired at " +
                                   FormatTufTime(c.expires) + " (reference time " +
                                   FormatTufTime(ref) + "); the repository must re-sign it");
}

template <class T>
Result<Metadata<T>> Parse(std::string_view bytes, std::string_view what) {
  auto md = ParseMetadata<T>(bytes);
  if (!md) return md.error().WithContext(what);
  return md;
}

}  // namespace

Status TrustedSet::CheckKeyIds(const std::map<std::string, Key>& keys) const {
  if (!options_.strict_keyids) return OkStatus();
  for (const auto& [id, key] : keys) {
    if (key.ComputeKeyId() != id) {
      return Error(Errc::kBadMetadata, "keyid " + id + " is not the sha256 of its key (" +
                                           key.ComputeKeyId() + ")");
    }
  }
  return OkStatus();
}

Result<TrustedSet> TrustedSet::Create(std::string_view root_bytes, UnixTime reference_time,
                                      const TrustedSetOptions& options) {
  FERRY_ASSIGN_OR_RETURN(Metadata<Root> root, Parse<Root>(root_bytes, "trusted root"));
  TrustedSet set(std::move(root), reference_time, options);
  const RoleKeys& rk = set.root_.body.roles.at(std::string(kRoot));
  FERRY_TRY(set.CheckKeyIds(set.root_.body.keys));
  auto st = VerifyThreshold("trusted root " + V(set.root_.body.version), set.root_.signed_bytes,
                            set.root_.signatures, set.root_.body.keys, rk);
  if (!st) return std::move(st).error();
  return set;
}

Status TrustedSet::UpdateRoot(std::string_view bytes) {
  if (timestamp_) {
    return Error(Errc::kWrongOrder, "cannot update root after the timestamp was loaded");
  }
  if (root_updates_ >= options_.max_root_rotations) {
    return Error(Errc::kTooManyRotations,
                 "more than " + std::to_string(options_.max_root_rotations) +
                     " root versions in one update; refusing to walk further");
  }
  FERRY_ASSIGN_OR_RETURN(Metadata<Root> next, Parse<Root>(bytes, "new root"));
  const std::int64_t have = root_.body.version;
  const std::int64_t got = next.body.version;
  const std::string what = "new root " + V(got);
  // 5.3.5: signed by a threshold of the trusted root's root keys, and of its own (new) keys.
  const RoleKeys& old_keys = root_.body.roles.at(std::string(kRoot));
  FERRY_TRY(VerifyThreshold(what + " (by the root keys of trusted " + V(have) + ")",
                            next.signed_bytes, next.signatures, root_.body.keys, old_keys));
  const RoleKeys& new_keys = next.body.roles.at(std::string(kRoot));
  FERRY_TRY(CheckKeyIds(next.body.keys));
  FERRY_TRY(VerifyThreshold(what + " (by its own root keys)", next.signed_bytes, next.signatures,
                            next.body.keys, new_keys));
  // 5.3.6: exactly N+1.
  if (got <= have) {
    return Error(Errc::kRollback, what + " is not newer than trusted root " + V(have));
  }
  if (got != have + 1) {
    return Error(Errc::kBadVersion,
                 what + " skips versions: expected " + V(have + 1) + " after trusted " + V(have));
  }
  root_ = std::move(next);
  ++root_updates_;
  return OkStatus();
}

Status TrustedSet::UpdateTimestamp(std::string_view bytes) {
  if (snapshot_) {
    return Error(Errc::kWrongOrder, "cannot update timestamp after the snapshot was loaded");
  }
  // 5.3.10: only the final root's expiry matters; the root walk is over once we get here.
  if (root_.body.IsExpired(reference_time_)) return Expired("root", root_.body, reference_time_);
  FERRY_ASSIGN_OR_RETURN(Metadata<Timestamp> next, Parse<Timestamp>(bytes, "timestamp"));
  const RoleKeys& rk = root_.body.roles.at(std::string(kTimestamp));
  FERRY_TRY(VerifyThreshold("timestamp " + V(next.body.version), next.signed_bytes,
                            next.signatures, root_.body.keys, rk));
  if (timestamp_) {
    const auto& old = timestamp_->body;
    // 5.4.3: no rollback of the timestamp version.
    if (next.body.version < old.version) {
      return Error(Errc::kRollback, "timestamp " + V(next.body.version) +
                                        " is older than trusted timestamp " + V(old.version));
    }
    if (next.body.version == old.version) {
      return Error(Errc::kEqualVersion,
                   "timestamp " + V(old.version) + " is unchanged; keeping the trusted one");
    }
    // 5.4.3.2: no rollback of the snapshot version it lists.
    if (next.body.snapshot_meta.version < old.snapshot_meta.version) {
      return Error(Errc::kRollback,
                   "timestamp " + V(next.body.version) + " lists snapshot " +
                       V(next.body.snapshot_meta.version) + ", older than the trusted " +
                       V(old.snapshot_meta.version));
    }
  }
  // Kept even if expired: it still protects the next update against rollback.
  timestamp_ = std::move(next);
  return CheckFinalTimestamp();
}

Status TrustedSet::CheckFinalTimestamp() const {
  // 5.4.4
  if (timestamp_->body.IsExpired(reference_time_)) {
    return Expired("timestamp", timestamp_->body, reference_time_);
  }
  return OkStatus();
}

Status TrustedSet::UpdateSnapshot(std::string_view bytes, bool trusted) {
  if (!timestamp_) return Error(Errc::kWrongOrder, "cannot load snapshot before timestamp");
  if (!targets_.empty()) {
    return Error(Errc::kWrongOrder, "cannot update snapshot after targets were loaded");
  }
  FERRY_TRY(CheckFinalTimestamp());
  const MetaFile& meta = timestamp_->body.snapshot_meta;
  // 5.5.2: length and hashes listed in the timestamp (a local snapshot may be older: skip).
  if (!trusted) FERRY_TRY(meta.Verify(bytes, "snapshot"));
  FERRY_ASSIGN_OR_RETURN(Metadata<Snapshot> next, Parse<Snapshot>(bytes, "snapshot"));
  // 5.5.3
  const RoleKeys& rk = root_.body.roles.at(std::string(kSnapshot));
  FERRY_TRY(VerifyThreshold("snapshot " + V(next.body.version), next.signed_bytes,
                            next.signatures, root_.body.keys, rk));
  // 5.5.5: no targets role disappears or rolls back.
  if (snapshot_) {
    for (const auto& [name, old_meta] : snapshot_->body.meta) {
      auto it = next.body.meta.find(name);
      if (it == next.body.meta.end()) {
        return Error(Errc::kMissingRole, "snapshot " + V(next.body.version) + " drops " + name +
                                             ", listed by the trusted snapshot " +
                                             V(snapshot_->body.version));
      }
      if (it->second.version < old_meta.version) {
        return Error(Errc::kRollback, "snapshot " + V(next.body.version) + " lists " + name +
                                          " " + V(it->second.version) +
                                          ", older than the trusted " + V(old_meta.version));
      }
    }
  }
  snapshot_ = std::move(next);
  return CheckFinalSnapshot();
}

Status TrustedSet::CheckFinalSnapshot() const {
  // 5.5.6 expiry, and 5.5.4 the version the timestamp lists.
  if (snapshot_->body.IsExpired(reference_time_)) {
    return Expired("snapshot", snapshot_->body, reference_time_);
  }
  const std::int64_t want = timestamp_->body.snapshot_meta.version;
  if (snapshot_->body.version != want) {
    return Error(Errc::kBadVersion, "snapshot " + V(snapshot_->body.version) +
                                        " does not match the " + V(want) +
                                        " listed in timestamp " + V(timestamp_->body.version));
  }
  return OkStatus();
}

Status TrustedSet::UpdateDelegatedTargets(std::string_view bytes, std::string_view role,
                                          std::string_view delegator) {
  if (!snapshot_) return Error(Errc::kWrongOrder, "cannot load targets before snapshot");
  FERRY_TRY(CheckFinalSnapshot());
  const std::string role_s(role);
  // Keys and threshold come from the delegator: the root for top-level targets.
  const std::map<std::string, Key>* keys = nullptr;
  const RoleKeys* rk = nullptr;
  if (delegator == kRoot) {
    if (role != kTargets) {
      return Error(Errc::kMissingRole, "root delegates only the targets role, not " + role_s);
    }
    keys = &root_.body.keys;
    rk = &root_.body.roles.at(std::string(kTargets));
  } else {
    // The delegator must itself be trusted, reached from some path.
    const Metadata<Targets>* parent = nullptr;
    for (const auto& [key, md] : targets_) {
      if (key.second == delegator) {
        parent = &md;
        break;
      }
    }
    if (parent == nullptr) {
      return Error(Errc::kWrongOrder, "cannot load " + role_s + " before its delegator " +
                                          std::string(delegator));
    }
    if (!parent->body.delegations || !(rk = parent->body.delegations->FindRole(role))) {
      return Error(Errc::kMissingRole, std::string(delegator) + " does not delegate " + role_s);
    }
    keys = &parent->body.delegations->keys;
  }
  // 5.6.1-5.6.2: the snapshot must list the role; length and hashes when listed.
  auto meta_it = snapshot_->body.meta.find(role_s + ".json");
  if (meta_it == snapshot_->body.meta.end()) {
    return Error(Errc::kMissingRole, "snapshot " + V(snapshot_->body.version) +
                                         " does not list " + role_s + ".json");
  }
  const MetaFile& meta = meta_it->second;
  FERRY_TRY(meta.Verify(bytes, role_s));
  auto parsed = ParseMetadata<Targets>(bytes);
  if (!parsed) return parsed.error().WithContext(role_s);
  Metadata<Targets>& next = *parsed;
  // 5.6.3: signatures of the delegator's keys for this role.
  FERRY_TRY(CheckKeyIds(*keys));
  FERRY_TRY(VerifyThreshold(role_s + " " + V(next.body.version) + " (delegated by " +
                                std::string(delegator) + ")",
                            next.signed_bytes, next.signatures, *keys, *rk));
  // 5.6.4: the version the snapshot lists (also rules out rollback and mix-and-match).
  if (next.body.version != meta.version) {
    return Error(Errc::kBadVersion, role_s + " " + V(next.body.version) + " does not match the " +
                                        V(meta.version) + " listed in snapshot " +
                                        V(snapshot_->body.version));
  }
  // 5.6.5
  if (next.body.IsExpired(reference_time_)) return Expired(role_s, next.body, reference_time_);
  targets_.insert_or_assign({std::string(delegator), role_s}, std::move(next));
  return OkStatus();
}

const Metadata<Targets>* TrustedSet::Delegated(std::string_view role,
                                               std::string_view delegator) const {
  auto it = targets_.find(std::make_pair(std::string(delegator), std::string(role)));
  return it == targets_.end() ? nullptr : &it->second;
}

}  // namespace ferry::tuf
