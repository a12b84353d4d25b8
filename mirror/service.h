// MirrorService: one mirror's moving parts composed - the blob store, the upstream, the Syncer
// and the sync schedule (a periodic poll plus notices), the identity and the origin link, the
// subscriber list and the notice forwarder - and the status report the HTTP layer and
// `ferry-mirror status` show.
//
// The schedule: one sync at start, then one every poll interval (after a failure sooner: 15 s
// doubling up to the poll interval). A verified notice asks for a sync; sync starts caused by
// notices are at least min_interval apart, and notices arriving during a sync are coalesced into
// one more sync after it. A sync that publishes a new timestamp forwards it to the subscribers.
//
// Thread safety: every public method may be called from any thread, except that Start and Stop
// must not race with each other.
#ifndef FERRY_MIRROR_SERVICE_H_
#define FERRY_MIRROR_SERVICE_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/result.h"
#include "base/time.h"
#include "mirror/config.h"
#include "mirror/identity.h"
#include "mirror/notify.h"
#include "mirror/origin_link.h"
#include "mirror/state.h"
#include "mirror/sync.h"
#include "mirror/target_fetcher.h"
#include "mirror/upstream.h"
#include "store/blob_store.h"

namespace ferry::mirror {

struct ServiceOptions {
  MirrorConfig config;
  // Log lines (no trailing newline). Empty: stderr with a time prefix.
  std::function<void(const std::string&)> log;
  // Test seam passed to the Syncer (the binary sets it from FERRY_MIRROR_FAULT).
  std::function<Status(SyncStep, std::string_view)> fault_hook;
  // Wall clock for expiry checks and records.
  std::function<UnixTime()> clock = NowUnix;
  // Whether to load the identity (and create DATA/mirror.key). `status` does not need it.
  bool load_identity = true;
};

// Everything the status page, /healthz, /metrics and `ferry-mirror status` show.
struct StatusReport {
  UnixTime now = 0;
  std::string name, upstream, public_url, region, country;
  std::optional<HeldState> held;           // nullopt before the first published state
  MirrorState state;                       // DATA/state.json
  std::int64_t upstream_seen_version = 0;  // newest verified (sync or notice)
  std::int64_t versions_behind = 0;
  std::int64_t last_success_age = -1;  // seconds; -1: never
  std::int64_t timestamp_age = -1;     // seconds since this mirror published its timestamp
  bool stale = true;
  std::string stale_reason;
  bool syncing = false;
  std::uint64_t disk_used = 0;
  std::uint64_t disk_quota = 0;  // 0: none
  std::uint64_t bytes_served = 0;
  std::size_t subscribers = 0;
  std::string registration = "disabled";
  std::uint64_t heartbeats_sent = 0;
  std::uint64_t notices_accepted = 0, notices_ignored = 0, notices_dropped = 0;
  std::uint64_t notices_forwarded = 0;
  std::vector<std::string> last_warnings;
};

class MirrorService {
 public:
  // Opens the data directory (creating it), the blob store with the quota, the upstream with the
  // bandwidth cap, and the identity. Errors: the pinned root unreadable (kNotFound, kIoError),
  // the data directory or key unusable, a bad upstream URL.
  static Result<std::unique_ptr<MirrorService>> Open(ServiceOptions options);
  ~MirrorService();  // Stop()

  // Runs one sync in the calling thread (for `ferry-mirror sync`), outside the schedule.
  SyncReport SyncNow(bool full = false);

  // Starts the schedule, the origin link and the forwarder. Stop cancels a running sync's
  // downloads and joins everything. A download stalled on a silent upstream only notices the
  // cancellation at its next byte or timeout: Stop returns false if the sync thread has not
  // finished within `timeout`, and leaves it running (the binary then exits at once, which is
  // safe: the served state never depends on a sync finishing). Without a timeout it waits.
  void Start();
  bool Stop(std::optional<std::chrono::milliseconds> timeout = std::nullopt);

  // Asks the schedule for a sync (coalesced; see the file comment).
  void Trigger(const std::string& reason);

  enum class NoticeOutcome { kAccepted, kIgnored, kRateLimited };
  // POST /api/v1/notify: verifies the body (mirror/notify.h) and triggers a sync if it is new.
  NoticeOutcome HandleNotice(std::string_view body);
  // POST /api/v1/subscribe (rate-limited: kTimeout when over the limit).
  Result<UnixTime> Subscribe(std::string_view url);

  StatusReport Report() const;
  // Lets the HTTP layer report bytes served (for the status page and heartbeats).
  void SetBytesServedSource(std::function<std::uint64_t()> source);

  const MirrorConfig& config() const { return options_.config; }
  const MirrorPaths& paths() const { return paths_; }
  store::LocalBlobStore& blobs() { return *store_; }
  void Log(const std::string& line) const;

 private:
  explicit MirrorService(ServiceOptions options);
  void Loop();
  HeartbeatStatement Statement() const;
  Status PostNotice(const std::string& url, const std::string& body) const;

  ServiceOptions options_;
  MirrorPaths paths_;
  std::string pinned_root_;
  std::unique_ptr<store::LocalBlobStore> store_;
  std::unique_ptr<RateLimiter> limiter_;
  std::atomic<bool> cancel_{false};
  std::unique_ptr<HttpUpstream> upstream_;
  std::unique_ptr<FullFileFetcher> fetcher_;
  std::unique_ptr<PatchFetcher> patch_fetcher_;  // the Syncers' fetcher; fetcher_ for the rest
  std::unique_ptr<Syncer> syncer_;
  std::unique_ptr<Syncer> full_syncer_;
  std::optional<MirrorIdentity> identity_;
  std::unique_ptr<Subscribers> subscribers_;
  std::unique_ptr<Forwarder> forwarder_;
  std::unique_ptr<OriginLink> origin_link_;
  NoticeLimiter notice_limiter_{5, 20};
  NoticeLimiter subscribe_limiter_{1, 10};
  std::atomic<std::uint64_t> notices_accepted_{0}, notices_ignored_{0}, notices_dropped_{0};
  std::atomic<std::int64_t> notice_seen_version_{0};

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
  bool started_ = false;                         // guarded by mu_
  bool stopping_ = false;                        // guarded by mu_
  bool trigger_pending_ = false;                 // guarded by mu_
  bool syncing_ = false;                         // guarded by mu_
  bool loop_done_ = false;                       // guarded by mu_
  std::vector<std::string> last_warnings_;       // guarded by mu_
  std::function<std::uint64_t()> bytes_served_;  // guarded by mu_
  std::mutex sync_mu_;  // one in-process sync at a time (SyncNow vs the schedule)
};

// The report as JSON (the status page's ?format=json) and as HTML; Prometheus text for /metrics
// lives in mirror/api.cc.
std::string StatusJson(const StatusReport& r);
std::string StatusHtml(const StatusReport& r);

}  // namespace ferry::mirror

#endif  // FERRY_MIRROR_SERVICE_H_
