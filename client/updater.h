// The client's TUF updater: the specification's detailed client workflow (section 5) over the
// I/O-free tuf::TrustedSet, with the network behind a Fetcher and trusted state in a metadata
// directory. Also what `ferry-tuf` (the conformance client protocol) drives.
//
// Metadata directory rules (tuf-pitfalls.md section 9):
//   - it holds exactly the bytes received, under unversioned names: root.json, timestamp.json,
//     snapshot.json, targets.json, <percent-encoded role>.json - and no other *.json file;
//   - each role is persisted (atomically) as soon as it verifies, so a failure later in the same
//     refresh keeps what was verified before it;
//   - root.json must exist before the first refresh (the pinned trust anchor).
// Requests: only what the workflow needs - N+1.root.json until 404/403, timestamp.json, the
// snapshot and targets versions listed (consistent-snapshot names when root says so), delegated
// roles lazily along the path a target needs. No HEAD, no speculative fetches, no retry on 404.
//
// Sources: a list of (metadata base URL, targets base URL) pairs - mirrors, the origin last. Each
// request goes to the first source; on any failure (transport error, non-200 status, bytes that
// do not verify) the same request goes to the next. A 404/403 during the root walk ends the walk.
// When every source fails the error is kAllSourcesFailed listing each source and why (a single
// source's error is returned as is).
//
// Downloads go to a partial file (in partial_dir, never in the destination directory), are hashed
// while streaming and bounded by the signed length, and are renamed into place only when the
// length and every listed hash match. An interrupted download resumes from its partial file with a
// Range request (on any source); only the final hash decides.
//
// Thread safety: not thread safe; one Updater per thread.
#ifndef FERRY_CLIENT_UPDATER_H_
#define FERRY_CLIENT_UPDATER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/time.h"
#include "client/fetcher.h"
#include "tuf/target_search.h"
#include "tuf/trusted_set.h"

namespace ferry::client {

struct Source {
  std::string name;               // for messages and reports ("mirror-eu-1", "origin")
  std::string metadata_base_url;  // opaque prefix; file names are appended ("…/metadata/")
  std::string targets_base_url;   // opaque prefix ("…/targets/")
};

struct UpdaterLimits {
  // Caps for metadata whose length is not signed (the reference clients' values).
  std::uint64_t root_max_bytes = 512000;
  std::uint64_t timestamp_max_bytes = 16384;
  std::uint64_t snapshot_max_bytes = 2000000;
  std::uint64_t targets_max_bytes = 5000000;
};

struct UpdaterOptions {
  std::string metadata_dir;
  std::vector<Source> sources;
  // Where partial downloads live; default: metadata_dir. Must be on the destination's file
  // system for a rename (otherwise the file is copied, then renamed, in the destination dir).
  std::string partial_dir;
  UpdaterLimits limits;
  tuf::TrustedSetOptions trust;
  tuf::SearchOptions search;
  // Keep a partial download after a transport failure so the next attempt resumes it. Off for
  // ferry-tuf, whose metadata directory must hold nothing but metadata afterwards.
  bool keep_partial = true;
  // Called once per failed source attempt (mirror reports); may be empty.
  std::function<void(const Source&, const Error&)> on_source_failure;
};

using ProgressFn = std::function<void(std::uint64_t done, std::uint64_t total)>;

class Updater {
 public:
  // `fetcher` is borrowed. `reference_time` is the one time expiry is checked against.
  Updater(UpdaterOptions options, Fetcher* fetcher, UnixTime reference_time);

  // The top-level refresh: root walk, timestamp, snapshot, targets (spec 5.3-5.6).
  // kEqualVersion from the timestamp is not a failure.
  Status Refresh();

  // Finds a target in the delegation graph, refreshing first if Refresh() has not run.
  Result<tuf::TargetInfo> GetTargetInfo(std::string_view target_path);

  // Loads a targets role as delegated by `delegator` (verified; local copy first, then the
  // sources) and returns it. kMissingRole if the snapshot does not list it (nothing published
  // under it yet). Refreshes first if needed.
  Result<const tuf::Targets*> LoadRole(std::string_view role, std::string_view delegator);

  // True if `path` already holds the target (length and every hash match).
  bool IsCached(const tuf::TargetInfo& info, const std::string& path) const;

  // Downloads and verifies the target into `dest_path` (atomically). Existing partial data is
  // resumed. On failure nothing is written at dest_path.
  Status DownloadTarget(const tuf::TargetInfo& info, const std::string& dest_path,
                        const ProgressFn& progress = nullptr);

  // Replaces the sources (e.g. once the signed mirror list is known). Takes effect for the next
  // request.
  void SetSources(std::vector<Source> sources) { options_.sources = std::move(sources); }
  const std::vector<Source>& sources() const { return options_.sources; }
  // The source that delivered the last target DownloadTarget wrote (empty name before any, or
  // when the last call failed).
  const Source& last_target_source() const { return last_target_source_; }

  // The trusted set after Refresh (nullptr before).
  const tuf::TrustedSet* trusted() const { return trusted_ ? &*trusted_ : nullptr; }

 private:
  // Fetches a metadata file (by name relative to the metadata base) and feeds it to `accept`
  // from each source in turn. stop_on_missing: a 404/403 answer returns kNotFound at once.
  Result<std::string> FetchMetadata(const std::string& name, std::uint64_t max_length,
                                    bool stop_on_missing,
                                    const std::function<Status(const std::string&)>& accept);
  Status Persist(std::string_view role, const std::string& bytes);
  Result<std::string> ReadLocal(std::string_view role, std::uint64_t max_length) const;
  Status LoadTimestamp();
  Status LoadSnapshot();
  Status LoadTargets(std::string_view role, std::string_view delegator);
  std::string PartialPath(const tuf::TargetInfo& info) const;

  UpdaterOptions options_;
  Source last_target_source_;
  Fetcher* fetcher_;
  UnixTime reference_time_;
  std::optional<tuf::TrustedSet> trusted_;
};

}  // namespace ferry::client

#endif  // FERRY_CLIENT_UPDATER_H_
