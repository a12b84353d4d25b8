// Stage 1 of a sync: getting one target's verified bytes into the mirror's blob store.
//
// TargetFetcher is the seam for transfer methods. There are two:
//
//   FullFileFetcher  GETs the whole file from the upstream (zstd-compressed when the upstream
//                    offers it; mirror/upstream.h).
//   PatchFetcher     rebuilds a target from a signed patch, a target of the online "deltas" role
//                    named deltas/<sha256 of the file>/<sha256 of the base>.patch
//                    (docs/metadata-format.md), when the store holds the base or the same sync
//                    stores it first; everything else, and every patch that fails, goes through
//                    a FullFileFetcher.
//
// The Syncer calls Prepare once per sync with the whole plan: a fetcher that needs other targets
// in the store first (a patch and its base) says so, and the Syncer orders stage 1 accordingly.
// Whatever the method, what reaches the store is checked against the target's signed length and
// every signed hash before it becomes visible (BlobWriteOptions::expected_digest/expected_length
// plus tuf::HashVerifier for the other algorithms), so nothing unverified is ever stored; a patch
// is itself verified as a target before it is applied.
//
// Thread safety: Fetch may be called from several threads at once if the upstream and the store
// allow it (HttpUpstream and LocalBlobStore do). Prepare must not run concurrently with Fetch.
#ifndef FERRY_MIRROR_TARGET_FETCHER_H_
#define FERRY_MIRROR_TARGET_FETCHER_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "delta/delta.h"
#include "mirror/plan.h"
#include "mirror/upstream.h"
#include "store/blob_store.h"

namespace ferry::mirror {

struct FetchedTarget {
  store::Digest digest;                 // the blob now holding the target's bytes
  std::uint64_t bytes_transferred = 0;  // body bytes received from the upstream
  // Rebuilt from a signed patch (PatchFetcher); patch_bytes is the patch's signed length. The
  // patch is a target of its own, so its download is counted where it was fetched.
  bool patched = false;
  std::uint64_t patch_bytes = 0;
  // Why a listed patch was not used (the file was then downloaded whole); empty otherwise.
  // (Initialised so that FetchedTarget{digest, bytes} stays warning-free.)
  std::string note = {};
};

class TargetFetcher {
 public:
  virtual ~TargetFetcher() = default;
  // Called by the Syncer once per sync, before any Fetch of it, with every target of the plan
  // and whether the store already holds it (`held`, same indices). Returns for each target the
  // indices of the targets that must be in the store before its Fetch starts (the Syncer fetches
  // them first); empty, or an empty list for a target, means no constraint. Must be acyclic.
  virtual std::vector<std::vector<std::size_t>> Prepare(const std::vector<TargetEntry>& /*targets*/,
                                                        const std::vector<bool>& /*held*/) {
    return {};
  }
  // Stores the target's bytes, verified against its signed length and hashes. On failure nothing
  // is stored and no temp file is left. Errors: kTooLarge (the store's quota; the message says
  // so), kIoError (disk full: the message starts with "disk full:"; upstream failures name the
  // URL and HTTP status), kHashMismatch / kLengthMismatch (the upstream served other bytes),
  // kTimeout.
  virtual Result<FetchedTarget> Fetch(const TargetEntry& target) = 0;
};

class FullFileFetcher final : public TargetFetcher {
 public:
  // Both are borrowed and must outlive the fetcher.
  FullFileFetcher(Upstream* upstream, store::BlobStore* store)
      : upstream_(upstream), store_(store) {}
  // Asks for a compressed transfer (Upstream::GetTarget); if the decoded bytes do not verify,
  // fetches the plain file once more. bytes_transferred counts the bytes on the wire.
  Result<FetchedTarget> Fetch(const TargetEntry& target) override;

 private:
  Result<FetchedTarget> FetchOnce(const TargetEntry& target, bool accept_compressed,
                                  bool* compressed);

  Upstream* upstream_;
  store::BlobStore* store_;
};

// Rebuilds missing targets from the signed patches the plan lists, and fetches everything else
// (patches included: the mirror serves them too) through `full`.
//
// Prepare picks, for each missing target with sha256 T, the smallest listed patch
// deltas/T/B.patch whose base B is in the store, or is a target of the plan that this sync stores
// first (whole, or itself from a patch); patches that could only be built on each other are
// broken by downloading one file whole. It asks the Syncer to store the patch and the base before
// the target. Fetch then reads both from the store (the patch was verified as a target when it
// was stored; if it is not there yet it is fetched through `full` first), checks that the patch
// header names this target's sha256 and length and that base, applies it (delta::ApplyPatchTo
// under `limits`, lowered to the signed length) into a store writer expecting the signed sha256
// and length, and checks every signed hash before Commit.
//
// Any failure of the patch (not stored, not fetched, not verifying, not applying, another file's
// patch) falls back to `full` for the whole file, and FetchedTarget::note says why. Failures of
// the store itself (quota, disk full) are returned as they are: a full download would meet them
// too.
//
// Memory: one patch is applied at a time (the base and the patch in memory, plus
// delta::ApplyPatchTo's own bounds); downloads by other threads go on meanwhile.
class PatchFetcher final : public TargetFetcher {
 public:
  // All borrowed; they must outlive the fetcher. `store` must be the store `full` writes to.
  PatchFetcher(TargetFetcher* full, store::BlobStore* store, delta::ApplyLimits limits = {})
      : full_(full), store_(store), limits_(limits) {}

  std::vector<std::vector<std::size_t>> Prepare(const std::vector<TargetEntry>& targets,
                                                const std::vector<bool>& held) override;
  // A target the store already holds (stored since Prepare: a patch fetched for another target,
  // or the same bytes under another path) is returned without a download.
  Result<FetchedTarget> Fetch(const TargetEntry& target) override;

  // The two digests in a patch target's path "deltas/<target sha256>/<base sha256>.patch";
  // nullopt for any other path.
  struct PatchName {
    store::Digest target;
    store::Digest base;
  };
  static std::optional<PatchName> ParsePatchPath(std::string_view path);

 private:
  struct Choice {
    TargetEntry patch;
    store::Digest base;
  };
  Result<FetchedTarget> Rebuild(const TargetEntry& target, const Choice& choice,
                                std::uint64_t* transferred, bool* store_failed);

  TargetFetcher* full_;
  store::BlobStore* store_;
  const delta::ApplyLimits limits_;
  std::mutex mu_;
  std::map<std::string, Choice> choices_;  // target path -> the patch to use; guarded by mu_
  std::mutex apply_mu_;                    // held while a patch is read and applied
};

}  // namespace ferry::mirror

#endif  // FERRY_MIRROR_TARGET_FETCHER_H_
