#include "mirror/plan.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <utility>

#include "base/fs.h"
#include "tuf/paths.h"

namespace ferry::mirror {

std::optional<store::Digest> TargetEntry::Sha256() const {
  for (const auto& [alg, hex] : hashes) {
    if (alg == "sha256") {
      auto d = store::Digest::Parse(hex);
      if (d) return *d;
    }
  }
  return std::nullopt;
}

std::vector<std::string> TargetEntry::ServedPaths() const {
  std::vector<std::string> out;
  out.reserve(hashes.size());
  for (const auto& [alg, hex] : hashes) {
    out.push_back("targets/" + tuf::HashPrefixedTargetPath(path, hex));
  }
  return out;
}

std::string TargetEntry::UrlPath() const {
  return "targets/" +
         tuf::EncodeTargetPathForUrl(tuf::HashPrefixedTargetPath(path, hashes.front().second));
}

bool IsServableTargetPath(std::string_view path) {
  if (path.empty() || path.size() > 4096) return false;
  std::size_t start = 0;
  for (;;) {
    std::size_t slash = path.find('/', start);
    std::string_view seg =
        path.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (seg.empty() || seg == "." || seg == "..") return false;
    for (char c : seg) {
      auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u == 0x7f || c == '\\') return false;
    }
    if (slash == std::string_view::npos) {
      // The served name is "<hash hex>.<basename>"; sha512 hex is 128 characters.
      return seg.size() + 129 <= 255;
    }
    if (seg.size() > 255) return false;
    start = slash + 1;
  }
}

namespace {

using Accept = std::function<Status(const std::string&)>;

constexpr std::size_t kMaxWarnings = 50;

class Loader {
 public:
  Loader(Upstream& upstream, const PlannerOptions& options, SyncPlan* plan)
      : upstream_(upstream), options_(options), plan_(plan) {}

  // The local copy of an immutable file, if the mirror serves one.
  std::optional<std::string> ReadLocal(const std::string& name, std::uint64_t max) const {
    if (options_.local_metadata_dir.empty()) return std::nullopt;
    auto bytes =
        ReadFile(JoinPath(options_.local_metadata_dir, name), {.max_size = max, .no_follow = true});
    if (!bytes) return std::nullopt;
    return std::move(*bytes);
  }

  // GET metadata/NAME from the upstream. With stop_on_missing, 404/403 is kNotFound.
  Result<std::string> Fetch(const std::string& name, std::uint64_t max, bool stop_on_missing) {
    std::string body;
    const std::string rel = "metadata/" + name;
    auto r = upstream_.Get(rel, max, [&](ByteSpan chunk) {
      body.append(AsChars(chunk));
      return OkStatus();
    });
    if (!r) return r.error().WithContext(rel + " from " + upstream_.Describe());
    plan_->bytes_downloaded += r->bytes;
    if (r->status != 200) {
      const bool missing = r->status == 404 || r->status == 403;
      return Error(
          missing && stop_on_missing ? Errc::kNotFound : Errc::kIoError,
          "HTTP " + std::to_string(r->status) + " for " + rel + " from " + upstream_.Describe());
    }
    return body;
  }

  // Local first (if the local copy is accepted), else the upstream's copy, which must be accepted.
  Result<MetadataFile> Load(const std::string& name, std::uint64_t max, const Accept& accept,
                            bool stop_on_missing = false) {
    if (auto local = ReadLocal(name, max)) {
      if (accept(*local).ok()) return MetadataFile{name, std::move(*local), true};
    }
    FERRY_ASSIGN_OR_RETURN(std::string body, Fetch(name, max, stop_on_missing));
    if (Status st = accept(body); !st) {
      return std::move(st).error().WithContext("metadata/" + name + " from " +
                                               upstream_.Describe());
    }
    return MetadataFile{name, std::move(body), false};
  }

  // Local first, no verification (the caller verifies the whole chain afterwards).
  Result<MetadataFile> LoadRaw(const std::string& name, std::uint64_t max) {
    if (auto local = ReadLocal(name, max)) return MetadataFile{name, std::move(*local), true};
    FERRY_ASSIGN_OR_RETURN(std::string body, Fetch(name, max, /*stop_on_missing=*/true));
    return MetadataFile{name, std::move(body), false};
  }

  void Warn(std::string w) {
    if (plan_->warnings.size() < kMaxWarnings) {
      plan_->warnings.push_back(std::move(w));
    } else if (plan_->warnings.size() == kMaxWarnings) {
      plan_->warnings.push_back("(further warnings left out)");
    }
  }

 private:
  Upstream& upstream_;
  const PlannerOptions& options_;
  SyncPlan* plan_;
};

// The root versions below the pinned one, verified forward: the chain must start at a
// self-signed root and arrive, through valid rotations, exactly at the pinned root.
Status LoadRootHistory(Loader& loader, const PlannerOptions& o, std::int64_t pinned_version,
                       SyncPlan* plan) {
  std::vector<MetadataFile> older;  // descending versions
  for (std::int64_t v = pinned_version - 1; v >= 1; --v) {
    auto f = loader.LoadRaw(tuf::MetadataFileName(tuf::kRoot, v), o.limits.root_max_bytes);
    if (!f) {
      if (f.error().code() != Errc::kNotFound) return f.error();
      loader.Warn("the upstream does not serve " + tuf::MetadataFileName(tuf::kRoot, v) +
                  ": clients pinned to root v" + std::to_string(v) +
                  " or older cannot update through this mirror");
      break;
    }
    older.push_back(std::move(*f));
  }
  if (older.empty()) return OkStatus();
  std::reverse(older.begin(), older.end());
  tuf::TrustedSetOptions chain_options = o.trust;
  chain_options.max_root_rotations = static_cast<int>(pinned_version) + 1;
  auto chain = tuf::TrustedSet::Create(older.front().bytes, o.now, chain_options);
  if (!chain) return chain.error().WithContext("root history: " + older.front().name);
  for (std::size_t i = 1; i < older.size(); ++i) {
    if (Status st = chain->UpdateRoot(older[i].bytes); !st) {
      return std::move(st).error().WithContext("root history: " + older[i].name);
    }
  }
  if (Status st = chain->UpdateRoot(o.pinned_root); !st) {
    return std::move(st).error().WithContext(
        "root history: the upstream's older roots do not lead to the pinned root");
  }
  for (auto& f : older) plan->roots.push_back(std::move(f));
  return OkStatus();
}

struct Edge {
  std::string role;
  std::string delegator;  // "root" for the top-level targets role
  std::optional<tuf::DelegatedRole> delegation;
  std::optional<tuf::SuccinctRoles> succinct;

  bool Covers(std::string_view path) const {
    if (delegation) return delegation->IsDelegatedPath(path);
    if (succinct) return succinct->RoleForTarget(path) == role;
    return true;  // top-level targets
  }
};

}  // namespace

Result<SyncPlan> PlanSync(Upstream& upstream, const PlannerOptions& o) {
  SyncPlan plan;
  Loader loader(upstream, o, &plan);

  // 5.2: the pinned root, then its history and 5.3: the walk to the newest root.
  auto pinned = tuf::ParseMetadata<tuf::Root>(o.pinned_root);
  if (!pinned) return pinned.error().WithContext("pinned root");
  auto created = tuf::TrustedSet::Create(o.pinned_root, o.now, o.trust);
  if (!created) return created.error().WithContext("pinned root");
  tuf::TrustedSet ts = std::move(*created);
  const std::int64_t pinned_version = pinned->body.version;
  FERRY_TRY(LoadRootHistory(loader, o, pinned_version, &plan));
  {
    const std::string name = tuf::MetadataFileName(tuf::kRoot, pinned_version);
    auto f = loader.LoadRaw(name, o.limits.root_max_bytes);
    if (f) {
      auto md = tuf::ParseMetadata<tuf::Root>(f->bytes);
      if (!md || md->signed_bytes != pinned->signed_bytes) {
        return Error(Errc::kBadMetadata, "metadata/" + name + " from " + upstream.Describe() +
                                             " is not the pinned root of that version");
      }
      plan.roots.push_back(std::move(*f));
    } else if (f.error().code() == Errc::kNotFound) {
      loader.Warn("the upstream does not serve " + name + "; serving the pinned copy");
      plan.roots.push_back(MetadataFile{name, o.pinned_root, false});
    } else {
      return f.error();
    }
  }
  for (;;) {
    const std::string name = tuf::MetadataFileName(tuf::kRoot, ts.root().body.version + 1);
    auto f = loader.Load(
        name, o.limits.root_max_bytes, [&](const std::string& b) { return ts.UpdateRoot(b); },
        /*stop_on_missing=*/true);
    if (!f) {
      if (f.error().code() == Errc::kNotFound) break;
      return f.error();
    }
    plan.roots.push_back(std::move(*f));
  }
  plan.root_version = ts.root().body.version;
  if (!ts.root().body.consistent_snapshot) {
    return Error(Errc::kUnsupported, "root v" + std::to_string(plan.root_version) +
                                         " does not use consistent snapshots; a mirror can only "
                                         "switch between versioned states");
  }

  // 5.4: the timestamp, rollback-checked against the one this mirror serves.
  std::optional<std::int64_t> held_snapshot_version;
  if (auto local = loader.ReadLocal("timestamp.json", o.limits.timestamp_max_bytes)) {
    Status st = ts.UpdateTimestamp(*local);
    if (st.ok() || st.error().code() == Errc::kExpired) {
      held_snapshot_version = ts.timestamp()->body.snapshot_meta.version;
    }
  }
  FERRY_ASSIGN_OR_RETURN(std::string ts_bytes,
                         loader.Fetch("timestamp.json", o.limits.timestamp_max_bytes, false));
  if (Status st = ts.UpdateTimestamp(ts_bytes); !st) {
    if (st.error().code() != Errc::kEqualVersion) {
      return std::move(st).error().WithContext("metadata/timestamp.json from " +
                                               upstream.Describe());
    }
    plan.timestamp_version = ts.timestamp()->body.version;
    if (!o.full) {
      plan.timestamp_unchanged = true;
      return plan;
    }
    // A repair: go on with the held timestamp (the trusted set kept it), whose bytes equal the
    // upstream's version.
  }
  plan.timestamp = MetadataFile{"timestamp.json", std::move(ts_bytes), false};
  plan.timestamp_version = ts.timestamp()->body.version;

  // 5.5: the snapshot; the one this mirror serves guards against a role rollback.
  if (held_snapshot_version) {
    const std::string name = tuf::MetadataFileName(tuf::kSnapshot, *held_snapshot_version);
    if (auto local = loader.ReadLocal(name, o.limits.snapshot_max_bytes)) {
      (void)ts.UpdateSnapshot(*local, /*trusted=*/true);  // usually kBadVersion: kept anyway
    }
  }
  {
    const tuf::MetaFile& meta = ts.timestamp()->body.snapshot_meta;
    const std::uint64_t max =
        meta.length ? static_cast<std::uint64_t>(*meta.length) : o.limits.snapshot_max_bytes;
    FERRY_ASSIGN_OR_RETURN(plan.snapshot,
                           loader.Load(tuf::MetadataFileName(tuf::kSnapshot, meta.version), max,
                                       [&](const std::string& b) { return ts.UpdateSnapshot(b); }));
    plan.snapshot_version = ts.snapshot()->body.version;
  }

  // 5.6: every targets role the snapshot lists and the delegations reach, breadth first.
  const auto& snapshot_meta = ts.snapshot()->body.meta;
  std::deque<Edge> queue;
  queue.push_back(Edge{std::string(tuf::kTargets), std::string(tuf::kRoot), {}, {}});
  std::set<std::pair<std::string, std::string>> visited;
  std::map<std::string, std::string> bytes_by_name;  // role file name -> bytes (second edges)
  std::set<std::string> target_keys;
  while (!queue.empty()) {
    Edge edge = std::move(queue.front());
    queue.pop_front();
    if (!visited.insert({edge.delegator, edge.role}).second) continue;
    if (visited.size() > o.limits.max_role_edges) {
      return Error(Errc::kDelegationLimit, "more than " + std::to_string(o.limits.max_role_edges) +
                                               " delegations; refusing to load further");
    }
    auto meta_it = snapshot_meta.find(edge.role + ".json");
    if (meta_it == snapshot_meta.end()) {
      if (edge.role == tuf::kTargets) {
        return Error(Errc::kMissingRole, "snapshot v" + std::to_string(plan.snapshot_version) +
                                             " does not list targets.json");
      }
      continue;  // delegated, nothing published under it yet
    }
    const tuf::MetaFile& meta = meta_it->second;
    const std::string name = tuf::MetadataFileName(edge.role, meta.version);
    const std::uint64_t max =
        meta.length ? static_cast<std::uint64_t>(*meta.length) : o.limits.targets_max_bytes;
    auto accept = [&](const std::string& b) {
      return ts.UpdateDelegatedTargets(b, edge.role, edge.delegator);
    };
    if (auto cached = bytes_by_name.find(name); cached != bytes_by_name.end()) {
      if (Status st = accept(cached->second); !st) {
        return std::move(st).error().WithContext("metadata/" + name);
      }
    } else {
      FERRY_ASSIGN_OR_RETURN(MetadataFile f, loader.Load(name, max, accept));
      bytes_by_name.emplace(name, f.bytes);
      plan.roles.push_back(std::move(f));
    }
    const tuf::Metadata<tuf::Targets>* md = ts.Delegated(edge.role, edge.delegator);
    for (const auto& [path, file] : md->body.targets) {
      if (!IsServableTargetPath(path)) {
        loader.Warn(edge.role + " lists \"" + path + "\", which cannot be served as a file");
        continue;
      }
      if (!edge.Covers(path)) {
        loader.Warn(edge.role + " lists " + path + ", outside what " + edge.delegator +
                    " delegates to it");
        continue;
      }
      if (auto v = tuf::HashVerifier::Create(file.hashes, path); !v) {
        loader.Warn(v.error().message());
        continue;
      }
      std::string key = path + '\n' + std::to_string(file.length);
      for (const auto& [alg, hex] : file.hashes) key += '\n' + alg + ':' + hex;
      if (!target_keys.insert(std::move(key)).second) continue;
      plan.targets.push_back(
          TargetEntry{path, static_cast<std::uint64_t>(file.length), file.hashes, edge.role});
    }
    if (!md->body.delegations) continue;
    const tuf::Delegations& d = *md->body.delegations;
    if (d.succinct_roles) {
      for (const auto& [file_name, unused] : snapshot_meta) {
        if (file_name.size() <= 5) continue;
        std::string role = file_name.substr(0, file_name.size() - 5);
        if (d.succinct_roles->IsRole(role)) {
          queue.push_back(Edge{std::move(role), edge.role, {}, d.succinct_roles});
        }
      }
    } else {
      for (const auto& dr : d.roles) queue.push_back(Edge{dr.name, edge.role, dr, {}});
    }
  }
  return plan;
}

}  // namespace ferry::mirror
