// Push notices (docs/mirror-protocol.md, "Push notice"): the origin (or an upstream mirror) POSTs
// its new timestamp.json to /api/v1/notify; the mirror verifies it like a client would before
// acting on it, then syncs from its own upstream. Downstream mirrors subscribe with
// POST /api/v1/subscribe and get every timestamp this mirror publishes, right after the switch.
//
// Thread safety: VerifyNotice is a pure function; Subscribers, NoticeLimiter and Forwarder are
// thread safe.
#ifndef FERRY_MIRROR_NOTIFY_H_
#define FERRY_MIRROR_NOTIFY_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/result.h"
#include "base/time.h"

namespace ferry::mirror {

// Accepts `notice` only if it is a timestamp signed by a threshold of the timestamp keys of
// `trusted_root` (the newest root this mirror serves, or the pinned one), not expired at `now`,
// and newer than `held_timestamp` (the one served, if any). Returns its version. Errors are the
// trusted set's (kBadSignature, kThresholdNotMet, kRollback, kEqualVersion, kExpired,
// kBadMetadata, kParseError, ...). A notice signed by keys a root rotation introduced is refused
// until the mirror holds that root; the periodic poll picks the change up meanwhile.
Result<std::int64_t> VerifyNotice(std::string_view notice, std::string_view trusted_root,
                                  const std::optional<std::string>& held_timestamp, UnixTime now);

// A small token bucket on the steady clock: at most `burst` events at once, `per_second` on
// average. Keeps a flood of notices from costing more than a few signature checks per second.
class NoticeLimiter {
 public:
  NoticeLimiter(double per_second, double burst)
      : rate_(per_second), burst_(burst), tokens_(burst) {}
  bool Allow();

 private:
  const double rate_, burst_;
  std::mutex mu_;
  double tokens_;                                                                  // guarded by mu_
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();  // guarded
};

// Downstream notify URLs with an expiry, persisted in DATA/subscribers.json (atomically).
class Subscribers {
 public:
  // A missing file is an empty list; a malformed one is ignored with an empty list (it only
  // holds renewable subscriptions).
  Subscribers(std::string path, std::size_t max_subscribers, std::int64_t ttl_seconds);

  // Adds or renews `url` (http:// or https://, at most 2048 bytes) until now + ttl and returns
  // that expiry. kInvalidArgument for a bad URL, kTooLarge when the list is full of live
  // subscriptions, kIoError if it cannot be saved.
  Result<UnixTime> Add(std::string_view url, UnixTime now);
  // URLs whose subscription has not expired.
  std::vector<std::string> Active(UnixTime now) const;

 private:
  Status SaveLocked() const;
  const std::string path_;
  const std::size_t max_;
  const std::int64_t ttl_;
  mutable std::mutex mu_;
  std::map<std::string, UnixTime> expires_;  // guarded by mu_
};

// Sends each published timestamp to the subscribers on a background thread (the newest one
// only, if several queue up), with short timeouts so a dead subscriber cannot hold it up.
class Forwarder {
 public:
  using Post = std::function<Status(const std::string& url, const std::string& body)>;
  using Log = std::function<void(const std::string&)>;
  // `subscribers` is borrowed. `post` performs one POST (the service passes an HTTP client call).
  Forwarder(const Subscribers* subscribers, Post post, Log log);
  ~Forwarder();  // Stop()
  void Start();
  void Stop();
  // Queues `timestamp` for every active subscriber.
  void Forward(std::string timestamp);
  std::uint64_t sent() const;
  std::uint64_t failed() const;

 private:
  void Loop();
  const Subscribers* subscribers_;
  Post post_;
  Log log_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::optional<std::string> pending_;   // guarded by mu_
  bool stopping_ = false;                // guarded by mu_
  std::uint64_t sent_ = 0, failed_ = 0;  // guarded by mu_
  std::thread thread_;
};

}  // namespace ferry::mirror

#endif  // FERRY_MIRROR_NOTIFY_H_
