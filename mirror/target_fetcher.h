// Stage 1 of a sync: getting one target's verified bytes into the mirror's blob store.
//
// TargetFetcher is the seam for transfer methods. Today there is one: FullFileFetcher GETs the
// whole file from the upstream. The delta issue adds a fetcher that, when the signed metadata
// lists a patch (custom.ferry.patches) against a base the store already holds, fetches the patch,
// applies it and stores the result; zstd-compressed transfers fit the same interface. Whatever
// the method, what reaches the store is checked against the target's signed length and every
// signed hash before it becomes visible (BlobWriteOptions::expected_digest/expected_length plus
// tuf::HashVerifier for the other algorithms), so nothing unverified is ever stored.
//
// Thread safety: Fetch may be called from several threads at once if the upstream and the store
// allow it (HttpUpstream and LocalBlobStore do).
#ifndef FERRY_MIRROR_TARGET_FETCHER_H_
#define FERRY_MIRROR_TARGET_FETCHER_H_

#include <cstdint>

#include "base/result.h"
#include "mirror/plan.h"
#include "mirror/upstream.h"
#include "store/blob_store.h"

namespace ferry::mirror {

struct FetchedTarget {
  store::Digest digest;                 // the blob now holding the target's bytes
  std::uint64_t bytes_transferred = 0;  // body bytes received from the upstream
};

class TargetFetcher {
 public:
  virtual ~TargetFetcher() = default;
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
  Result<FetchedTarget> Fetch(const TargetEntry& target) override;

 private:
  Upstream* upstream_;
  store::BlobStore* store_;
};

}  // namespace ferry::mirror

#endif  // FERRY_MIRROR_TARGET_FETCHER_H_
