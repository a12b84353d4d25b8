// Signed patches between versions (issue "Delta transfers"; formats in docs/delta-format.md).
//
// After a new version of a package is published, the origin builds patches from the previous
// `keep_versions` versions to it, off the request path, and publishes each one that is worth it
// (smaller than max_ratio of the new file) as a target of the online "deltas" role:
//
//   deltas/<sha256 of the new file>/<sha256 of the base>.patch
//   custom.ferry = {"base_sha256", "target_sha256", "method", "base_path", "target_path"}
//
// Clients and mirrors holding a base look the patch up by name; the patch bytes are verified as
// a TUF target (signed length and sha256) before they are applied, and the result is verified
// against the new file's own hashes (signed by its author) before it is used, so nobody applies
// an unsigned patch and a bad patch can at worst cost a full download. Patches for plugin files
// cannot sit in the plugin's own metadata (the author signs it, not the origin): this role keeps
// them signed without the author's key.
//
// The same builder writes compressed copies for transfers (CompressPending): for each published
// file that zstd shrinks to at most max_ratio of its size, CompressedDir/SHA256.zst, which the
// origin serves for the file's hash-prefixed URL to requests that accept zstd
// (net::ServeRepositoryFile). Mirrors without a base use it; they verify the decoded bytes
// against the signed hashes, so the copies need no signature.
//
// Thread safety: BuildPending and CompressPending may be called from one thread at a time.
#ifndef FERRY_ORIGIN_DELTAS_H_
#define FERRY_ORIGIN_DELTAS_H_

#include <cstdint>
#include <set>
#include <string>

#include "base/result.h"
#include "origin/service.h"

namespace ferry::origin {

struct DeltaOptions {
  int keep_versions = 3;   // patches from this many previous versions
  double max_ratio = 0.9;  // publish only patches smaller than this x the new file
  std::uint64_t max_file_bytes = 1ull << 30;  // skip files larger than this
  int level = 19;                             // zstd level
};

struct DeltaStats {
  int built = 0;    // patches published this round
  int skipped = 0;  // not worth it (too large) or failed
  std::uint64_t patch_bytes = 0;
  std::uint64_t target_bytes = 0;  // sizes of the files they rebuild
};

struct CompressStats {
  int written = 0;    // new .zst copies
  int not_worth = 0;  // files zstd does not shrink enough (marked .none)
  int removed = 0;    // copies of files no longer in the blob store
  std::uint64_t compressed_bytes = 0;
  std::uint64_t file_bytes = 0;  // sizes of the files written this round
};

class DeltaBuilder {
 public:
  DeltaBuilder(OriginService& svc, DeltaOptions options) : svc_(svc), options_(options) {}
  // Builds and publishes (in one publish) every missing patch towards each package's newest
  // version.
  Result<DeltaStats> BuildPending();
  // Writes the missing compressed copies of published artifacts into `dir` (temp, fsync,
  // rename, fsync dir; patches are zstd frames already and are left out), and removes copies
  // whose file left the blob store.
  Result<CompressStats> CompressPending(const std::string& dir);

 private:
  OriginService& svc_;
  DeltaOptions options_;
  std::set<std::string> not_worth_it_;  // patch paths already tried
};

}  // namespace ferry::origin

#endif  // FERRY_ORIGIN_DELTAS_H_
