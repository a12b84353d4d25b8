// A mirror's data directory and the small state file that records its syncs.
//
//   DATA/mirror.key          the mirror's ed25519 identity (0600, made on first start)
//   DATA/state.json          sync record: last attempt and result, counters, published history
//   DATA/subscribers.json    downstream mirrors' notify URLs (tiers)
//   DATA/sync.lock           flock(2) held by the one sync running on this directory
//   DATA/blobs/              the blob store (store/blob_store.h): every target's bytes by sha256
//   DATA/repo/metadata/      served: N.root.json, root.json, timestamp.json, N.ROLE.json
//   DATA/repo/targets/       served: DIR/HASH.NAME, hard links to blobs (one per listed hash)
//
// state.json is replaced atomically (WriteFileAtomic) by the sync holding the lock; readers (the
// status page, `ferry-mirror status`) may read it at any time.
//
// Thread safety: plain functions and values.
#ifndef FERRY_MIRROR_STATE_H_
#define FERRY_MIRROR_STATE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/time.h"

namespace ferry::mirror {

struct MirrorPaths {
  std::string data;

  std::string repo() const { return data + "/repo"; }
  std::string metadata() const { return data + "/repo/metadata"; }
  std::string targets() const { return data + "/repo/targets"; }
  std::string blobs() const { return data + "/blobs"; }
  std::string key() const { return data + "/mirror.key"; }
  std::string state() const { return data + "/state.json"; }
  std::string lock() const { return data + "/sync.lock"; }
  std::string subscribers() const { return data + "/subscribers.json"; }
};

// One state the mirror has served (its timestamp), kept while clients may still be using it.
struct PublishedState {
  std::int64_t timestamp_version = 0;
  std::int64_t snapshot_version = 0;
  UnixTime published_at = 0;
  std::optional<UnixTime> superseded_at;  // nullopt: the state served now
};

struct MirrorState {
  UnixTime last_attempt = 0;
  std::string last_result;    // "published", "up_to_date", "failed"; empty before the first sync
  std::string last_error;     // of the last failed sync
  UnixTime last_success = 0;  // end of the last sync that published or found nothing new
  UnixTime last_publish = 0;
  // Newest upstream timestamp version verified by a sync.
  std::int64_t upstream_timestamp_version = 0;
  std::uint64_t last_sync_bytes = 0;  // bytes received from the upstream by the last sync
  std::int64_t last_sync_ms = 0;
  std::uint64_t syncs_published = 0;
  std::uint64_t syncs_up_to_date = 0;
  std::uint64_t syncs_failed = 0;
  std::uint64_t sync_bytes_total = 0;
  std::uint64_t targets_fetched_total = 0;  // downloaded or rebuilt from patches
  // Targets rebuilt from signed patches, the bytes of those patches, and the bytes of the files
  // they rebuilt (what full downloads would have moved).
  std::uint64_t patched_targets_total = 0;
  std::uint64_t patch_bytes_total = 0;
  std::uint64_t patch_saved_bytes_total = 0;
  UnixTime last_gc = 0;
  std::vector<PublishedState> published;  // oldest first; the last one is served now
};

// A missing file is a fresh state; a malformed one is kParseError naming the file.
Result<MirrorState> LoadState(const std::string& path);
Status SaveState(const std::string& path, const MirrorState& state);

// What the served timestamp.json and root.json say (not verified again: they were verified
// before they were published). kNotFound before the first successful sync.
struct HeldState {
  std::int64_t root_version = 0;
  std::int64_t timestamp_version = 0;
  std::int64_t snapshot_version = 0;
  UnixTime timestamp_expires = 0;
  UnixTime timestamp_mtime = 0;  // when this mirror published it
};
Result<HeldState> ReadHeldState(const std::string& metadata_dir);

}  // namespace ferry::mirror

#endif  // FERRY_MIRROR_STATE_H_
