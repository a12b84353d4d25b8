#include "mirror/retention.h"

#include <filesystem>
#include <map>
#include <set>
#include <unordered_set>

#include <unistd.h>

#include "base/fs.h"
#include "tuf/metadata.h"
#include "tuf/paths.h"

namespace ferry::mirror {

namespace {

bool IsVersionedRootName(const std::string& name) {
  const std::string suffix = ".root.json";
  if (name.size() <= suffix.size() ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return false;
  }
  for (std::size_t i = 0; i < name.size() - suffix.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
  }
  return true;
}

struct LiveSet {
  std::set<std::string> metadata;  // file names under metadata/
  std::set<std::string> targets;   // paths relative to targets/
  std::unordered_set<store::Digest, store::DigestHash> blobs;
};

// Adds everything the state with snapshot version `sv` references. `current`: the served state,
// whose snapshot must be readable.
Status AddState(const MirrorPaths& paths, std::int64_t sv, bool current, LiveSet& live,
                std::set<std::string>& roles_done) {
  const std::string snap_name = tuf::MetadataFileName(tuf::kSnapshot, sv);
  live.metadata.insert(snap_name);
  auto bytes = ReadFile(JoinPath(paths.metadata(), snap_name), {.max_size = 64 << 20});
  if (!bytes) {
    if (current) return bytes.error().WithContext("current snapshot");
    return OkStatus();  // an old state's files are already gone
  }
  auto snap = tuf::ParseMetadata<tuf::Snapshot>(*bytes);
  if (!snap) {
    if (current) return snap.error().WithContext(snap_name);
    return OkStatus();
  }
  for (const auto& [file, meta] : snap->body.meta) {
    if (file.size() <= 5) continue;
    const std::string role_name =
        tuf::MetadataFileName(file.substr(0, file.size() - 5), meta.version);
    live.metadata.insert(role_name);
    if (!roles_done.insert(role_name).second) continue;
    // A role this mirror never loaded (unreachable through delegations) has no file: skip.
    auto role_bytes = ReadFile(JoinPath(paths.metadata(), role_name), {.max_size = 64 << 20});
    if (!role_bytes) continue;
    auto md = tuf::ParseMetadata<tuf::Targets>(*role_bytes);
    if (!md) continue;
    for (const auto& [path, target] : md->body.targets) {
      for (const auto& [alg, hex] : target.hashes) {
        live.targets.insert(tuf::HashPrefixedTargetPath(path, hex));
        if (alg == "sha256") {
          if (auto d = store::Digest::Parse(hex)) live.blobs.insert(*d);
        }
      }
    }
  }
  return OkStatus();
}

}  // namespace

void ReconcilePublished(const MirrorPaths& paths, MirrorState& state, UnixTime now) {
  auto held = ReadHeldState(paths.metadata());
  if (!held) return;
  if (!state.published.empty() &&
      state.published.back().timestamp_version == held->timestamp_version) {
    return;
  }
  if (!state.published.empty() && !state.published.back().superseded_at) {
    state.published.back().superseded_at = now;
  }
  state.published.push_back(PublishedState{held->timestamp_version, held->snapshot_version,
                                           held->timestamp_mtime ? held->timestamp_mtime : now,
                                           std::nullopt});
}

Result<PruneStats> Prune(const MirrorPaths& paths, MirrorState& state, store::BlobStore& store,
                         UnixTime now, std::int64_t retention_seconds,
                         std::int64_t gc_grace_seconds) {
  PruneStats stats;
  ReconcilePublished(paths, state, now);
  if (state.published.empty()) return stats;  // nothing served yet: nothing to keep or prune
  std::vector<PublishedState> retained;
  for (const auto& p : state.published) {
    if (!p.superseded_at || *p.superseded_at >= now - retention_seconds) retained.push_back(p);
  }
  LiveSet live;
  live.metadata = {"timestamp.json", "root.json"};
  std::set<std::string> roles_done;
  for (std::size_t i = 0; i < retained.size(); ++i) {
    const bool current = i + 1 == retained.size();
    FERRY_TRY(AddState(paths, retained[i].snapshot_version, current, live, roles_done));
  }
  stats.states_retained = retained.size();

  namespace fs = std::filesystem;
  std::error_code ec;
  for (fs::directory_iterator it(paths.metadata(), ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (live.metadata.count(name) || IsVersionedRootName(name)) continue;
    if (!it->is_regular_file(ec)) continue;
    if (::unlink(it->path().c_str()) == 0) ++stats.metadata_removed;
  }
  if (ec) return Error(Errc::kIoError, "cannot list " + paths.metadata() + ": " + ec.message());

  std::vector<fs::path> dirs;
  const fs::path targets_root(paths.targets());
  for (fs::recursive_directory_iterator it(targets_root, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->is_directory(ec)) {
      dirs.push_back(it->path());
      continue;
    }
    const std::string rel = it->path().lexically_relative(targets_root).string();
    if (live.targets.count(rel)) continue;
    if (::unlink(it->path().c_str()) == 0) ++stats.target_files_removed;
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return Error(Errc::kIoError, "cannot walk " + paths.targets() + ": " + ec.message());
  }
  // Deepest first; rmdir fails (harmlessly) on directories that still hold files.
  std::sort(dirs.begin(), dirs.end(), [](const fs::path& a, const fs::path& b) {
    return a.native().size() > b.native().size();
  });
  for (const auto& d : dirs) {
    if (::rmdir(d.c_str()) == 0) ++stats.dirs_removed;
  }
  if (stats.metadata_removed + stats.target_files_removed > 0) {
    (void)SyncDir(paths.metadata());
  }

  FERRY_ASSIGN_OR_RETURN(stats.gc,
                         store.Gc([&](const store::Digest& d) { return live.blobs.count(d) != 0; },
                                  std::chrono::seconds(gc_grace_seconds), now));
  state.published = std::move(retained);
  state.last_gc = now;
  return stats;
}

}  // namespace ferry::mirror
