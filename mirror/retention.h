// Retention: what a mirror keeps after a newer state is published, and the pruning of the rest.
//
// A client that read timestamp vN a moment before the mirror switched to vN+1 still fetches
// vN's snapshot, roles and targets; an HTTP cache may serve vN's timestamp.json for up to a
// minute. So every served state stays complete for `retention` after it was superseded
// (MirrorState::published records when). Pruning then removes:
//   - versioned metadata files no retained state references (N.root.json are kept forever:
//     clients walk the root chain from whatever root they pinned);
//   - files under targets/ no retained state lists (and directories left empty);
//   - blobs no retained state lists, once older than the grace period (BlobStore::Gc), which
//     also protects blobs of an interrupted stage 1 for the next sync to reuse.
// References are read from the served metadata files themselves (not verified again: they were
// verified before they were published). If the current state's snapshot cannot be read, nothing
// is removed.
//
// Thread safety: call with the sync lock held (Syncer does).
#ifndef FERRY_MIRROR_RETENTION_H_
#define FERRY_MIRROR_RETENTION_H_

#include <cstdint>
#include <string>

#include "base/result.h"
#include "base/time.h"
#include "mirror/state.h"
#include "store/blob_store.h"

namespace ferry::mirror {

struct PruneStats {
  std::size_t states_retained = 0;
  std::size_t metadata_removed = 0;
  std::size_t target_files_removed = 0;
  std::size_t dirs_removed = 0;
  store::GcStats gc;
};

// Makes `state.published` end with the state actually served (DATA/repo/metadata/timestamp.json),
// e.g. after a crash between the switch and the state file update. `now` marks supersessions.
void ReconcilePublished(const MirrorPaths& paths, MirrorState& state, UnixTime now);

// Prunes as described above and drops expired entries from state.published. Errors: kIoError
// (a walk or unlink failed; what was removed stays removed), kNotFound/kParseError if the
// current state's snapshot is unreadable (nothing removed).
Result<PruneStats> Prune(const MirrorPaths& paths, MirrorState& state, store::BlobStore& store,
                         UnixTime now, std::int64_t retention_seconds,
                         std::int64_t gc_grace_seconds);

}  // namespace ferry::mirror

#endif  // FERRY_MIRROR_RETENTION_H_
