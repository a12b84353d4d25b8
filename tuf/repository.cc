#include "tuf/repository.h"

#include <algorithm>

#include "base/fs.h"
#include "crypto/hash.h"
#include "tuf/paths.h"

namespace ferry::tuf {

namespace {

RoleKeys KeysOf(const RoleSigning& s, std::map<std::string, Key>* keys) {
  RoleKeys rk;
  rk.threshold = s.threshold;
  for (const Signer* signer : s.signers) {
    rk.keyids.push_back(signer->keyid());
    keys->insert_or_assign(signer->keyid(), signer->public_key());
  }
  return rk;
}

Status CheckSigning(std::string_view role, const RoleSigning& s) {
  if (s.threshold < 1 || static_cast<std::int64_t>(s.signers.size()) < s.threshold) {
    return Error(Errc::kInvalidArgument, std::string(role) + ": needs at least threshold (" +
                                             std::to_string(s.threshold) + ") signers, got " +
                                             std::to_string(s.signers.size()));
  }
  return OkStatus();
}

}  // namespace

Result<Repository> Repository::Create(const RepositoryOptions& options, const RoleSigning& root,
                                      const RoleSigning& targets, const RoleSigning& snapshot,
                                      const RoleSigning& timestamp, UnixTime now) {
  FERRY_TRY(CheckSigning(kRoot, root));
  FERRY_TRY(CheckSigning(kTargets, targets));
  FERRY_TRY(CheckSigning(kSnapshot, snapshot));
  FERRY_TRY(CheckSigning(kTimestamp, timestamp));
  Repository repo(options);
  if (!options.dir.empty()) {
    FERRY_TRY(MakeDirs(JoinPath(options.dir, "metadata")));
    FERRY_TRY(MakeDirs(JoinPath(options.dir, "targets")));
  }
  repo.root_.version = 0;  // Publish bumps every dirty role to its next version
  repo.root_.consistent_snapshot = options.consistent_snapshot;
  repo.root_.roles[std::string(kRoot)] = KeysOf(root, &repo.root_.keys);
  repo.root_.roles[std::string(kTargets)] = KeysOf(targets, &repo.root_.keys);
  repo.root_.roles[std::string(kSnapshot)] = KeysOf(snapshot, &repo.root_.keys);
  repo.root_.roles[std::string(kTimestamp)] = KeysOf(timestamp, &repo.root_.keys);
  repo.signing_[std::string(kRoot)] = root;
  repo.signing_[std::string(kTargets)] = targets;
  repo.signing_[std::string(kSnapshot)] = snapshot;
  repo.signing_[std::string(kTimestamp)] = timestamp;
  repo.targets_[std::string(kTargets)].version = 0;
  repo.snapshot_.version = 0;
  repo.timestamp_.version = 0;
  repo.dirty_ = {std::string(kRoot), std::string(kTargets)};
  FERRY_TRY(repo.Publish(now));
  return repo;
}

Result<Targets*> Repository::MutableTargets(std::string_view role) {
  auto it = targets_.find(std::string(role));
  if (it == targets_.end()) {
    return Error(Errc::kNotFound, "no targets role named \"" + std::string(role) + "\"");
  }
  return &it->second;
}

const Targets* Repository::targets(std::string_view role) const {
  auto it = targets_.find(std::string(role));
  return it == targets_.end() ? nullptr : &it->second;
}

Status Repository::AddTargetInfo(std::string_view role, std::string_view target_path,
                                 const TargetFile& file) {
  FERRY_TRY(CheckSafeTargetPath(target_path));
  FERRY_ASSIGN_OR_RETURN(Targets * t, MutableTargets(role));
  // A delegated role may only list paths its delegation covers.
  auto del = delegators_.find(std::string(role));
  if (del != delegators_.end()) {
    const Targets& parent = targets_.at(del->second);
    bool covered = false;
    for (const auto& r : parent.delegations->roles) {
      if (r.name == role && r.IsDelegatedPath(target_path)) covered = true;
    }
    if (!covered) {
      return Error(Errc::kInvalidArgument, "role " + std::string(role) + " is not delegated \"" +
                                               std::string(target_path) + "\"");
    }
  }
  t->targets.insert_or_assign(std::string(target_path), file);
  dirty_.insert(std::string(role));
  return OkStatus();
}

Status Repository::AddTarget(std::string_view role, std::string_view target_path,
                             std::string_view content, std::optional<json::Value> custom) {
  FERRY_TRY(CheckSafeTargetPath(target_path));
  TargetFile file;
  file.length = static_cast<std::int64_t>(content.size());
  file.hashes.emplace_back("sha256", crypto::Sha256Hex(content));
  if (options_.sha512_targets) file.hashes.emplace_back("sha512", crypto::Sha512Hex(content));
  file.custom = std::move(custom);
  FERRY_TRY(AddTargetInfo(role, target_path, file));
  const std::string path(target_path);
  if (options_.consistent_snapshot) {
    for (const auto& [alg, digest] : file.hashes) {
      FERRY_TRY(WriteFile("targets/" + HashPrefixedTargetPath(path, digest), std::string(content)));
    }
  } else {
    FERRY_TRY(WriteFile("targets/" + path, std::string(content)));
  }
  return OkStatus();
}

Status Repository::RemoveTarget(std::string_view role, std::string_view target_path) {
  FERRY_ASSIGN_OR_RETURN(Targets * t, MutableTargets(role));
  if (t->targets.erase(std::string(target_path)) == 0) {
    return Error(Errc::kNotFound,
                 std::string(role) + " does not list \"" + std::string(target_path) + "\"");
  }
  dirty_.insert(std::string(role));
  return OkStatus();
}

Status Repository::AddDelegation(std::string_view delegator, DelegatedRole delegation,
                                 const RoleSigning& signing) {
  FERRY_TRY(CheckSafeRoleName(delegation.name));
  FERRY_TRY(CheckSigning(delegation.name, signing));
  if (targets_.count(delegation.name) != 0 || delegators_.count(delegation.name) != 0) {
    return Error(Errc::kAlreadyExists, "role " + delegation.name + " already exists");
  }
  if ((delegation.paths.has_value()) == (delegation.path_hash_prefixes.has_value())) {
    return Error(Errc::kInvalidArgument,
                 "a delegation needs exactly one of paths and path_hash_prefixes");
  }
  FERRY_ASSIGN_OR_RETURN(Targets * parent, MutableTargets(delegator));
  if (!parent->delegations) parent->delegations.emplace();
  if (parent->delegations->succinct_roles) {
    return Error(Errc::kInvalidArgument, std::string(delegator) + " uses succinct hash bins");
  }
  static_cast<RoleKeys&>(delegation) = KeysOf(signing, &parent->delegations->keys);
  const std::string name = delegation.name;
  parent->delegations->roles.push_back(std::move(delegation));
  targets_[name].version = 0;
  signing_[name] = signing;
  delegators_[name] = std::string(delegator);
  dirty_.insert(std::string(delegator));
  dirty_.insert(name);
  return OkStatus();
}

Status Repository::AddDelegation(std::string_view delegator, DelegatedRole delegation,
                                 const std::vector<Key>& keys) {
  FERRY_TRY(CheckSafeRoleName(delegation.name));
  if (keys.empty() || delegation.threshold < 1 ||
      static_cast<std::int64_t>(keys.size()) < delegation.threshold) {
    return Error(Errc::kInvalidArgument, delegation.name + ": needs at least threshold keys");
  }
  if (targets_.count(delegation.name) != 0 || delegators_.count(delegation.name) != 0) {
    return Error(Errc::kAlreadyExists, "role " + delegation.name + " already exists");
  }
  if ((delegation.paths.has_value()) == (delegation.path_hash_prefixes.has_value())) {
    return Error(Errc::kInvalidArgument,
                 "a delegation needs exactly one of paths and path_hash_prefixes");
  }
  FERRY_ASSIGN_OR_RETURN(Targets * parent, MutableTargets(delegator));
  if (!parent->delegations) parent->delegations.emplace();
  if (parent->delegations->succinct_roles) {
    return Error(Errc::kInvalidArgument, std::string(delegator) + " uses succinct hash bins");
  }
  delegation.keyids.clear();
  for (const Key& k : keys) {
    const std::string id = k.ComputeKeyId();
    delegation.keyids.push_back(id);
    parent->delegations->keys.insert_or_assign(id, k);
  }
  const std::string name = delegation.name;
  parent->delegations->roles.push_back(std::move(delegation));
  delegators_[name] = std::string(delegator);
  dirty_.insert(std::string(delegator));
  return OkStatus();
}

Status Repository::SetDelegatedKeys(std::string_view role, const std::vector<Key>& keys,
                                    std::int64_t threshold) {
  const auto d = delegators_.find(std::string(role));
  if (d == delegators_.end()) {
    return Error(Errc::kNotFound, "no delegated role named \"" + std::string(role) + "\"");
  }
  if (keys.empty() || threshold < 1 || static_cast<std::int64_t>(keys.size()) < threshold) {
    return Error(Errc::kInvalidArgument, std::string(role) + ": needs at least threshold keys");
  }
  FERRY_ASSIGN_OR_RETURN(Targets * parent, MutableTargets(d->second));
  DelegatedRole* delegation = nullptr;
  for (auto& r : parent->delegations->roles) {
    if (r.name == role) delegation = &r;
  }
  if (delegation == nullptr)
    return Error(Errc::kNotFound, "no delegation for " + std::string(role));
  delegation->keyids.clear();
  for (const Key& k : keys) {
    const std::string id = k.ComputeKeyId();
    if (std::find(delegation->keyids.begin(), delegation->keyids.end(), id) ==
        delegation->keyids.end()) {
      delegation->keyids.push_back(id);
    }
    parent->delegations->keys.insert_or_assign(id, k);
  }
  delegation->threshold = threshold;
  std::set<std::string> used;
  for (const auto& r : parent->delegations->roles) used.insert(r.keyids.begin(), r.keyids.end());
  for (auto it = parent->delegations->keys.begin(); it != parent->delegations->keys.end();) {
    it = used.count(it->first) ? std::next(it) : parent->delegations->keys.erase(it);
  }
  dirty_.insert(d->second);
  return OkStatus();
}

Status Repository::SetRoleKeys(std::string_view role, const RoleSigning& signing) {
  if (!IsTopLevelRole(role)) {
    return Error(Errc::kInvalidArgument,
                 "SetRoleKeys is for top-level roles, not " + std::string(role));
  }
  FERRY_TRY(CheckSigning(role, signing));
  const std::string name(role);
  if (role == kRoot && !previous_root_signing_) previous_root_signing_ = signing_.at(name);
  signing_[name] = signing;
  root_.roles[name] = KeysOf(signing, &root_.keys);
  // Drop keys no role uses any more.
  std::set<std::string> used;
  for (const auto& [r, rk] : root_.roles) used.insert(rk.keyids.begin(), rk.keyids.end());
  for (auto it = root_.keys.begin(); it != root_.keys.end();) {
    it = used.count(it->first) ? std::next(it) : root_.keys.erase(it);
  }
  dirty_.insert(std::string(kRoot));
  // A role whose keys changed is re-signed with them (the timestamp always is).
  if (role == kTargets || role == kSnapshot) dirty_.insert(name);
  return OkStatus();
}

Status Repository::Touch(std::string_view role) {
  if (role != kRoot && role != kSnapshot && targets_.count(std::string(role)) == 0) {
    return Error(Errc::kNotFound, "no role named \"" + std::string(role) + "\"");
  }
  dirty_.insert(std::string(role));
  return OkStatus();
}

Result<const RoleSigning*> Repository::SigningFor(std::string_view role) const {
  auto it = signing_.find(std::string(role));
  if (it == signing_.end() || it->second.signers.empty()) {
    return Error(Errc::kInvalidArgument,
                 "role " + std::string(role) + " must be re-signed but its key is not loaded here");
  }
  // What the role's keys in the metadata require, not what the caller claims.
  std::int64_t threshold = it->second.threshold;
  if (auto r = root_.roles.find(std::string(role)); r != root_.roles.end()) {
    threshold = r->second.threshold;
  }
  if (static_cast<std::int64_t>(it->second.signers.size()) < threshold) {
    return Error(Errc::kThresholdNotMet, "role " + std::string(role) + " needs " +
                                             std::to_string(threshold) + " keys to sign, " +
                                             std::to_string(it->second.signers.size()) + " given");
  }
  if (role == kRoot && previous_root_signing_ &&
      static_cast<std::int64_t>(previous_root_signing_->signers.size()) <
          previous_root_signing_->threshold) {
    return Error(Errc::kThresholdNotMet, "the new root must also be signed by " +
                                             std::to_string(previous_root_signing_->threshold) +
                                             " of the current root keys");
  }
  return &it->second;
}

Status Repository::WriteFile(const std::string& rel, const std::string& bytes) {
  if (!options_.dir.empty()) {
    const std::string path = JoinPath(options_.dir, rel);
    FERRY_TRY(MakeDirs(DirName(path)));
    FERRY_TRY(WriteFileAtomic(path, bytes));
  }
  files_[rel] = bytes;
  return OkStatus();
}

Result<std::vector<StagedFile>> Repository::Stage(UnixTime now) {
  const bool consistent = options_.consistent_snapshot;
  std::vector<StagedFile> out;
  // Check every needed key first, so a missing one changes nothing.
  if (dirty_.count(std::string(kRoot))) FERRY_TRY(SigningFor(kRoot));
  for (const auto& name : dirty_) {
    if (name != kRoot && name != kSnapshot) FERRY_TRY(SigningFor(name));
  }
  FERRY_TRY(SigningFor(kTimestamp));
  bool snapshot_changes = dirty_.count(std::string(kSnapshot)) != 0 || !presigned_.empty();
  for (const auto& name : dirty_) snapshot_changes |= targets_.count(name) != 0;
  if (snapshot_changes) FERRY_TRY(SigningFor(kSnapshot));
  // Root: N.root.json (never overwritten) and root.json.
  if (dirty_.count(std::string(kRoot))) {
    ++root_.version;
    root_.expires = now + options_.root_expiry_seconds;
    RoleSigning signing = signing_.at(std::string(kRoot));
    if (previous_root_signing_) {
      // A rotation: signed by the old keys (so clients trusting N accept N+1) and the new.
      for (const Signer* s : previous_root_signing_->signers) {
        bool present = false;
        for (const Signer* t : signing.signers) present |= t->keyid() == s->keyid();
        if (!present) signing.signers.push_back(s);
      }
    }
    std::string bytes = SignEnvelope(ToJson(root_), signing.signers);
    out.push_back({"metadata/" + MetadataFileName(kRoot, root_.version), bytes, std::string(kRoot),
                   root_.version});
    out.push_back(
        {"metadata/" + MetadataFileName(kRoot), bytes, std::string(kRoot), root_.version});
    current_[std::string(kRoot)] = std::move(bytes);
    previous_root_signing_.reset();
  }
  // Targets roles: delegated ones first, so a targets role never points at a missing child.
  std::vector<std::string> order;
  for (const auto& [name, t] : targets_) {
    if ((dirty_.count(name) || presigned_.count(name)) && name != kTargets) order.push_back(name);
  }
  if (dirty_.count(std::string(kTargets))) order.push_back(std::string(kTargets));
  for (const auto& name : order) {
    Targets& t = targets_.at(name);
    std::string bytes;
    if (auto pre = presigned_.find(name); pre != presigned_.end() && !dirty_.count(name)) {
      bytes = pre->second;
    } else {
      ++t.version;
      auto custom = options_.role_expiry_seconds.find(name);
      t.expires =
          now + (custom != options_.role_expiry_seconds.end() ? custom->second
                                                              : options_.targets_expiry_seconds);
      bytes = SignEnvelope(ToJson(t), signing_.at(name).signers);
    }
    out.push_back(
        {"metadata/" + MetadataFileName(name, consistent ? std::optional(t.version) : std::nullopt),
         bytes, name, t.version});
    MetaFile m;
    m.version = t.version;
    if (options_.snapshot_meta_hashes) {
      m.length = static_cast<std::int64_t>(bytes.size());
      m.hashes.emplace_back("sha256", crypto::Sha256Hex(bytes));
    }
    snapshot_.meta[name + ".json"] = m;
    current_[name] = std::move(bytes);
  }
  dirty_.clear();
  presigned_.clear();
  // Snapshot (when something changed), then timestamp last.
  if (snapshot_changes) {
    ++snapshot_.version;
    snapshot_.expires = now + options_.snapshot_expiry_seconds;
    std::string snap = SignEnvelope(ToJson(snapshot_), signing_.at(std::string(kSnapshot)).signers);
    out.push_back(
        {"metadata/" + MetadataFileName(
                           kSnapshot, consistent ? std::optional(snapshot_.version) : std::nullopt),
         snap, std::string(kSnapshot), snapshot_.version});
    timestamp_.snapshot_meta.version = snapshot_.version;
    timestamp_.snapshot_meta.length = static_cast<std::int64_t>(snap.size());
    timestamp_.snapshot_meta.hashes = {{"sha256", crypto::Sha256Hex(snap)}};
    current_[std::string(kSnapshot)] = std::move(snap);
  }
  ++timestamp_.version;
  timestamp_.expires = now + options_.timestamp_expiry_seconds;
  std::string ts = SignEnvelope(ToJson(timestamp_), signing_.at(std::string(kTimestamp)).signers);
  out.push_back({"metadata/" + MetadataFileName(kTimestamp), ts, std::string(kTimestamp),
                 timestamp_.version});
  current_[std::string(kTimestamp)] = std::move(ts);
  return out;
}

Status Repository::Write(const std::vector<StagedFile>& files) {
  for (const auto& f : files) FERRY_TRY(WriteFile(f.path, f.bytes));
  return OkStatus();
}

Status Repository::Publish(UnixTime now) {
  FERRY_ASSIGN_OR_RETURN(std::vector<StagedFile> files, Stage(now));
  return Write(files);
}

std::string Repository::DelegatorOf(std::string_view role) const {
  auto it = delegators_.find(std::string(role));
  return it == delegators_.end() ? std::string() : it->second;
}

Result<Repository> Repository::Open(const RepositoryOptions& options,
                                    const std::map<std::string, std::string>& current) {
  Repository repo(options);
  auto get = [&](std::string_view role) -> Result<const std::string*> {
    auto it = current.find(std::string(role));
    if (it == current.end()) {
      return Error(Errc::kNotFound, "no current metadata for role " + std::string(role));
    }
    return &it->second;
  };
  FERRY_ASSIGN_OR_RETURN(const std::string* root, get(kRoot));
  FERRY_ASSIGN_OR_RETURN(auto root_md, ParseMetadata<Root>(*root));
  repo.root_ = std::move(root_md.body);
  repo.options_.consistent_snapshot = repo.root_.consistent_snapshot;
  FERRY_ASSIGN_OR_RETURN(const std::string* snap, get(kSnapshot));
  FERRY_ASSIGN_OR_RETURN(auto snap_md, ParseMetadata<Snapshot>(*snap));
  repo.snapshot_ = std::move(snap_md.body);
  FERRY_ASSIGN_OR_RETURN(const std::string* ts, get(kTimestamp));
  FERRY_ASSIGN_OR_RETURN(auto ts_md, ParseMetadata<Timestamp>(*ts));
  repo.timestamp_ = std::move(ts_md.body);
  // Every targets role the snapshot lists; delegators from the delegations.
  for (const auto& [file, meta] : repo.snapshot_.meta) {
    if (file.size() < 6 || file.compare(file.size() - 5, 5, ".json") != 0) continue;
    const std::string role = file.substr(0, file.size() - 5);
    FERRY_ASSIGN_OR_RETURN(const std::string* bytes, get(role));
    auto md = ParseMetadata<Targets>(*bytes);
    if (!md) return md.error().WithContext("role " + role);
    repo.targets_[role] = std::move(md->body);
    repo.current_[role] = *bytes;
  }
  if (repo.targets_.count(std::string(kTargets)) == 0) {
    return Error(Errc::kBadMetadata, "snapshot does not list targets.json");
  }
  for (const auto& [name, t] : repo.targets_) {
    if (!t.delegations) continue;
    for (const auto& r : t.delegations->roles) repo.delegators_[r.name] = name;
  }
  repo.current_[std::string(kRoot)] = *root;
  repo.current_[std::string(kSnapshot)] = *snap;
  repo.current_[std::string(kTimestamp)] = *ts;
  return repo;
}

Status Repository::SetSigners(std::string_view role, const RoleSigning& signing) {
  const RoleKeys* rk = nullptr;
  if (IsTopLevelRole(role)) {
    auto it = root_.roles.find(std::string(role));
    if (it != root_.roles.end()) rk = &it->second;
  } else if (auto d = delegators_.find(std::string(role)); d != delegators_.end()) {
    rk = targets_.at(d->second).delegations->FindRole(role);
  }
  if (rk == nullptr) return Error(Errc::kNotFound, "no role named \"" + std::string(role) + "\"");
  for (const Signer* s : signing.signers) {
    if (std::find(rk->keyids.begin(), rk->keyids.end(), s->keyid()) == rk->keyids.end()) {
      return Error(Errc::kInvalidArgument, "key " + s->keyid().substr(0, 16) +
                                               "... is not a key of role " + std::string(role));
    }
  }
  RoleSigning copy = signing;
  copy.threshold = rk->threshold;
  signing_[std::string(role)] = std::move(copy);
  return OkStatus();
}

Status Repository::PutSignedTargets(std::string_view role, const std::string& bytes, UnixTime now) {
  const std::string name(role);
  auto d = delegators_.find(name);
  if (d == delegators_.end()) {
    return Error(Errc::kNotFound, "no delegated role named \"" + name + "\"");
  }
  const Delegations& delegations = *targets_.at(d->second).delegations;
  const RoleKeys* rk = delegations.FindRole(role);
  FERRY_ASSIGN_OR_RETURN(auto md, ParseMetadata<Targets>(bytes));
  FERRY_TRY(VerifyThreshold(name, md.signed_bytes, md.signatures, delegations.keys, *rk));
  const std::int64_t current_version = targets_.count(name) ? targets_.at(name).version : 0;
  if (md.body.version <= current_version) {
    return Error(Errc::kRollback, name + ": new version " + std::to_string(md.body.version) +
                                      " must be greater than the current " +
                                      std::to_string(current_version));
  }
  if (md.body.IsExpired(now)) {
    return Error(Errc::kExpired, name + ": new version expires at " +
                                     FormatTufTime(md.body.expires) + ", already past");
  }
  if (md.body.delegations) {
    return Error(Errc::kUnsupported,
                 name + ": Ferry does not accept delegations from plugin roles");
  }
  const DelegatedRole* delegation = nullptr;
  for (const auto& r : delegations.roles) {
    if (r.name == name) delegation = &r;
  }
  for (const auto& [path, file] : md.body.targets) {
    FERRY_TRY(CheckSafeTargetPath(path));
    if (delegation == nullptr || !delegation->IsDelegatedPath(path)) {
      return Error(Errc::kInvalidArgument, name + " is not delegated \"" + path + "\"");
    }
  }
  targets_[name] = std::move(md.body);
  presigned_[name] = bytes;
  dirty_.erase(name);
  return OkStatus();
}

const std::string& Repository::MetadataBytes(std::string_view role) const {
  static const std::string kEmpty;
  auto it = current_.find(std::string(role));
  return it == current_.end() ? kEmpty : it->second;
}

}  // namespace ferry::tuf
