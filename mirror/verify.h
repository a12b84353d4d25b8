// The crawler: checks that a served repository (a mirror over HTTP, or a local directory) is
// consistent and complete. From the pinned root it runs the same verified whole-repository update
// as a sync (mirror/plan.h: root chain, timestamp, snapshot, every role), then fetches every
// file each target is served under (targets/DIR/HASH.NAME for every listed hash) and checks its
// length and every listed hash.
//
// Thread safety: reentrant.
#ifndef FERRY_MIRROR_VERIFY_H_
#define FERRY_MIRROR_VERIFY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/time.h"
#include "mirror/upstream.h"

namespace ferry::mirror {

struct CrawlReport {
  std::int64_t root_version = 0;
  std::int64_t timestamp_version = 0;
  std::int64_t snapshot_version = 0;
  std::size_t metadata_files = 0;  // roots, timestamp, snapshot, roles
  std::size_t targets = 0;
  std::size_t target_files = 0;  // one per listed hash
  std::uint64_t target_bytes = 0;
  // One line per missing or wrong target file ("targets/a/HASH.b: HTTP 404").
  std::vector<std::string> problems;
  std::vector<std::string> warnings;  // from the plan (targets that cannot be served, ...)

  bool ok() const { return problems.empty(); }
};

// Metadata that does not verify (or cannot be fetched) is an error: the report is about
// targets. `now` is the reference time for expiry.
Result<CrawlReport> CrawlRepository(Upstream& source, const std::string& pinned_root, UnixTime now);

}  // namespace ferry::mirror

#endif  // FERRY_MIRROR_VERIFY_H_
