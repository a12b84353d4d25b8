// The mirror's side of the registry (docs/mirror-protocol.md): registration with the origin
// (POST /api/v1/mirrors with the operator's token) and signed heartbeats
// (POST /api/v1/mirrors/{name}/heartbeat). Also the subscription to an upstream mirror's notices
// (POST /api/v1/subscribe) for tier-2 mirrors.
//
// All of it runs on one background thread and tolerates the origin or the upstream being down:
// failed attempts are logged and retried with exponential backoff (30 s doubling, at most the
// heartbeat interval); a heartbeat answered 404 (the origin forgot the mirror) registers again.
//
// Thread safety: Start/Stop from one thread; the accessors from any thread.
#ifndef FERRY_MIRROR_ORIGIN_LINK_H_
#define FERRY_MIRROR_ORIGIN_LINK_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "base/result.h"
#include "mirror/config.h"
#include "mirror/identity.h"

namespace ferry::mirror {

class OriginLink {
 public:
  using StatementFn = std::function<HeartbeatStatement()>;
  using Log = std::function<void(const std::string&)>;

  // `identity` is borrowed. `statement` fills a heartbeat (called on the background thread).
  // `token` is the operator token for registration (may be empty when there is no origin).
  OriginLink(const MirrorConfig& config, std::string token, const MirrorIdentity* identity,
             StatementFn statement, Log log);
  ~OriginLink();  // Stop()

  // Starts the thread if there is anything to do (an origin URL, or upstream.subscribe).
  void Start();
  void Stop();

  // One attempt each (also used by the thread). Errors say what the origin answered:
  // kUnauthenticated (401/403: the token), kConflict (409: the name belongs to another key),
  // kNotFound (404), kIoError (unreachable or another status).
  Status Register();
  Status Heartbeat();
  Status SubscribeUpstream();

  // "disabled", "registered", or "not registered: <last error>".
  std::string registration_state() const;
  std::uint64_t heartbeats_sent() const;

 private:
  void Loop();
  Result<int> Post(const std::string& url, const std::string& body, bool auth);

  const MirrorConfig config_;
  const std::string token_;
  const MirrorIdentity* identity_;
  StatementFn statement_;
  Log log_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;         // guarded by mu_
  bool registered_ = false;       // guarded by mu_
  std::string last_error_;        // guarded by mu_
  std::uint64_t heartbeats_ = 0;  // guarded by mu_
  std::thread thread_;
};

}  // namespace ferry::mirror

#endif  // FERRY_MIRROR_ORIGIN_LINK_H_
