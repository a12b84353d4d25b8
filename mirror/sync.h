// One mirror sync: the verified update of the whole repository (mirror/plan.h), then
//
//   stage 1  every target the mirror does not hold is fetched into the blob store, bounded by
//            its signed length and checked against its signed hashes before it becomes visible
//            (a TargetFetcher; several in parallel, under the bandwidth cap of the upstream). A
//            target the fetcher rebuilds from a signed patch starts only once the patch and its
//            base are in the store (TargetFetcher::Prepare): those come earlier in the order;
//   stage 2  the new state is switched in for clients: hard links to the blobs under
//            targets/DIR/HASH.NAME for every listed hash, the directories fsynced; then the new
//            versioned metadata (roles, snapshot, roots, root.json), each written atomically;
//            then timestamp.json replaced atomically, LAST.
//
// Every name written before timestamp.json is new (or an existing name given the same verified
// bytes), so a client reading the mirror at any moment sees the old state or the new one, each
// complete: never a timestamp whose snapshot, roles or targets are missing. Old versioned
// metadata and target links stay until the retention window passes (mirror/retention.h), so
// clients in the middle of an update can finish it.
//
// Failure anywhere (upstream unreachable or tampered, disk quota or disk full, a crash, kill -9)
// leaves the previous state served as it was. Temp files of failed writes are removed at once
// (a crash leaves at most a few, collected by the store's Gc). The next sync resumes: verified
// blobs already in the store are reused, verified metadata already in the served directory is
// read locally.
//
// One sync at a time per data directory: Run takes flock(DATA/sync.lock) and fails with
// kConflict when another process (or thread) holds it.
//
// Thread safety: a Syncer may be used from one thread at a time; Run is not reentrant.
#ifndef FERRY_MIRROR_SYNC_H_
#define FERRY_MIRROR_SYNC_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/time.h"
#include "mirror/plan.h"
#include "mirror/retention.h"
#include "mirror/state.h"
#include "mirror/target_fetcher.h"
#include "mirror/upstream.h"
#include "store/blob_store.h"

namespace ferry::mirror {

// Points of a sync, for fault injection in tests (and the FERRY_MIRROR_FAULT variable of the
// ferry-mirror binary, which kills the process there).
enum class SyncStep {
  kPlanned,         // all metadata verified; next: stage 1
  kFetchTarget,     // before each target download (detail: target path)
  kStage1Done,      // every target in the store; next: stage 2
  kLinkTarget,      // before each new link under targets/ (detail: served path)
  kWriteMetadata,   // before each new versioned metadata file (detail: file name)
  kWriteTimestamp,  // before timestamp.json is replaced
  kPublished,       // timestamp.json replaced; next: state.json and retention
};

// "planned", "fetch_target", "stage1_done", "link_target", "write_metadata", "write_timestamp",
// "published".
std::string_view SyncStepName(SyncStep step);

struct SyncOptions {
  std::string data_dir;
  std::string pinned_root;  // bytes of the trust anchor
  // Target downloads running at once.
  int parallel_fetches = 4;
  // Served files of a superseded state are kept this long; pruning runs at most every gc_every.
  std::int64_t retention_seconds = 86400;
  std::int64_t gc_every_seconds = 3600;
  // Blobs not referenced by any retained state are deleted once this old (protects stage-1
  // blobs of an interrupted sync, which the next sync reuses).
  std::int64_t gc_grace_seconds = 86400;
  // Plan everything even when the upstream's timestamp is unchanged (repairs missing links).
  bool full = false;
  PlannerLimits limits;
  std::function<UnixTime()> clock = NowUnix;
  // Progress and warnings, one line each (no trailing newline). Empty: silent.
  std::function<void(const std::string&)> log;
  // Test seam: called at each SyncStep; an error fails the sync there (as a crash would stop it).
  std::function<Status(SyncStep step, std::string_view detail)> fault_hook;
};

struct SyncReport {
  enum class Outcome { kFailed, kUpToDate, kPublished };
  Outcome outcome = Outcome::kFailed;
  // OK, or why the sync failed (then nothing new was published).
  Status status;
  // What the mirror serves after the sync (0 when it serves nothing yet).
  std::int64_t root_version = 0;
  std::int64_t timestamp_version = 0;
  std::int64_t snapshot_version = 0;
  // The upstream's timestamp version, when the sync got that far (verified).
  std::int64_t upstream_timestamp_version = 0;
  std::size_t roles_total = 0;
  std::size_t roles_fetched = 0;
  std::size_t targets_total = 0;
  std::size_t targets_fetched = 0;
  std::size_t targets_reused = 0;  // already in the store (a resumed sync, or unchanged)
  std::size_t links_created = 0;
  std::size_t metadata_written = 0;
  std::uint64_t metadata_bytes = 0;  // received from the upstream
  std::uint64_t target_bytes = 0;    // received from the upstream
  // Of targets_fetched, those rebuilt from signed patches held in the store; the signed lengths
  // of those patches (the patches are targets too: their downloads are in target_bytes); and of
  // the files they rebuilt, which full downloads would have moved.
  std::size_t targets_patched = 0;
  std::uint64_t patch_bytes = 0;
  std::uint64_t patch_saved_bytes = 0;
  std::vector<std::string> warnings;
  std::int64_t duration_ms = 0;
  bool pruned = false;
  PruneStats prune;

  // "published timestamp v12 (snapshot v7, root v1): 3 roles (1 fetched), 120 targets (3
  // fetched, 117 reused), 4 links, 2.1 MiB received in 340 ms; 2 targets rebuilt from patches
  // (7.9 KiB of patches instead of 4.0 MiB)" (the last part only when patches were used), "up to
  // date at ...", or "sync failed: ...".
  std::string Summary() const;
};

class Syncer {
 public:
  // `upstream`, `store` and `fetcher` are borrowed and must outlive the Syncer. The store must be
  // the one at DATA/blobs (targets are hard-linked from its files).
  Syncer(SyncOptions options, Upstream* upstream, store::LocalBlobStore* store,
         TargetFetcher* fetcher);

  // Runs one sync and records it in DATA/state.json. Never throws; failures are in the report.
  SyncReport Run();

  const SyncOptions& options() const { return options_; }

 private:
  Status RunLocked(MirrorState& state, SyncReport& report);
  Status Stage1(const SyncPlan& plan, std::vector<std::string>& sources, SyncReport& report);
  Status Stage2(const SyncPlan& plan, const std::vector<std::string>& sources, SyncReport& report);
  Status WriteRoots(const SyncPlan& plan, SyncReport& report);
  Status Fault(SyncStep step, std::string_view detail = {});
  void Log(const std::string& line) const;

  SyncOptions options_;
  MirrorPaths paths_;
  Upstream* upstream_;
  store::LocalBlobStore* store_;
  TargetFetcher* fetcher_;
};

}  // namespace ferry::mirror

#endif  // FERRY_MIRROR_SYNC_H_
