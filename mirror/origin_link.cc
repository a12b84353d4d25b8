#include "mirror/origin_link.h"

#include <algorithm>

#include "base/json.h"
#include "mirror/upstream.h"
#include "net/http_client.h"

namespace ferry::mirror {

OriginLink::OriginLink(const MirrorConfig& config, std::string token,
                       const MirrorIdentity* identity, StatementFn statement, Log log)
    : config_(config),
      token_(std::move(token)),
      identity_(identity),
      statement_(std::move(statement)),
      log_(std::move(log)) {}

OriginLink::~OriginLink() { Stop(); }

void OriginLink::Start() {
  if (config_.origin_url.empty() && !config_.subscribe) return;
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void OriginLink::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::string OriginLink::registration_state() const {
  if (config_.origin_url.empty()) return "disabled";
  std::lock_guard lock(mu_);
  if (registered_) return "registered";
  return "not registered" + (last_error_.empty() ? std::string() : ": " + last_error_);
}

std::uint64_t OriginLink::heartbeats_sent() const {
  std::lock_guard lock(mu_);
  return heartbeats_;
}

Result<int> OriginLink::Post(const std::string& url, const std::string& body, bool auth) {
  net::HttpClientOptions co;
  co.ca_file = config_.ca_file;
  co.user_agent = "ferry-mirror/0.1";
  co.keep_alive = false;
  FERRY_ASSIGN_OR_RETURN(net::HttpClient client, net::HttpClient::Create(co));
  net::FetchRequest req;
  req.url = url;
  req.method = "POST";
  req.body = body;
  req.headers.Set("Content-Type", "application/json");
  if (auth) req.headers.Set("Authorization", "Bearer " + token_);
  req.max_length = 64 * 1024;
  req.timeouts.connect = std::chrono::seconds(10);
  req.timeouts.first_byte = std::chrono::seconds(15);
  req.timeouts.total_base = std::chrono::seconds(20);
  req.follow_redirects = false;
  FERRY_ASSIGN_OR_RETURN(net::FetchResult r, client.Fetch(req, nullptr));
  return r.status;
}

namespace {

Status StatusError(const std::string& what, int status) {
  const std::string msg = what + ": HTTP " + std::to_string(status);
  switch (status) {
    case 401:
    case 403:
      return Error(Errc::kUnauthenticated, msg + " (check origin.token_file)");
    case 404:
      return Error(Errc::kNotFound, msg);
    case 409:
      return Error(Errc::kConflict, msg + " (the name is registered with another key)");
    default:
      return Error(Errc::kIoError, msg);
  }
}

}  // namespace

Status OriginLink::Register() {
  json::Object o;
  o.Set("name", config_.name);
  o.Set("public_url", TrimBaseUrl(config_.public_url));
  o.Set("region", config_.region);
  o.Set("country", config_.country);
  o.Set("contact", config_.contact);
  o.Set("capacity_mbps", config_.capacity_mbps);
  o.Set("public_key", identity_->public_key_hex());
  o.Set("push_url", config_.NotifyUrl());
  const std::string url = TrimBaseUrl(config_.origin_url) + "/api/v1/mirrors";
  FERRY_ASSIGN_OR_RETURN(int status, Post(url, json::Encode(o), /*auth=*/true));
  if (status != 200 && status != 201) return StatusError("registration at " + url, status);
  std::lock_guard lock(mu_);
  registered_ = true;
  last_error_.clear();
  return OkStatus();
}

Status OriginLink::Heartbeat() {
  HeartbeatStatement s = statement_();
  s.mirror = config_.name;
  s.sent_at = NowUnix();
  const std::string url =
      TrimBaseUrl(config_.origin_url) + "/api/v1/mirrors/" + config_.name + "/heartbeat";
  FERRY_ASSIGN_OR_RETURN(int status, Post(url, identity_->SignHeartbeat(s), /*auth=*/false));
  if (status != 200) {
    if (status == 404) {
      std::lock_guard lock(mu_);
      registered_ = false;
    }
    return StatusError("heartbeat to " + url, status);
  }
  std::lock_guard lock(mu_);
  ++heartbeats_;
  return OkStatus();
}

Status OriginLink::SubscribeUpstream() {
  json::Object o;
  o.Set("url", config_.NotifyUrl());
  const std::string url = TrimBaseUrl(config_.upstream_url) + "/api/v1/subscribe";
  FERRY_ASSIGN_OR_RETURN(int status, Post(url, json::Encode(o), /*auth=*/false));
  if (status != 200) return StatusError("subscription at " + url, status);
  return OkStatus();
}

void OriginLink::Loop() {
  using Clock = std::chrono::steady_clock;
  const auto interval = std::chrono::seconds(config_.heartbeat_interval_seconds);
  const auto renew =
      std::chrono::seconds(std::max<std::int64_t>(60, config_.subscription_ttl_seconds / 3));
  auto backoff_origin = std::chrono::seconds(30), backoff_sub = std::chrono::seconds(30);
  auto next_origin = Clock::now();
  auto next_sub = Clock::now();
  const bool origin = !config_.origin_url.empty();
  const bool subscribe = config_.subscribe && !config_.NotifyUrl().empty();
  if (config_.subscribe && !subscribe && log_) {
    log_("upstream.subscribe needs http.public_url (the URL the upstream sends notices to)");
  }
  std::unique_lock lock(mu_);
  while (!stopping_) {
    auto wake = Clock::time_point::max();
    if (origin) wake = std::min(wake, next_origin);
    if (subscribe) wake = std::min(wake, next_sub);
    if (wake == Clock::time_point::max()) return;
    if (Clock::now() < wake) {
      cv_.wait_until(lock, wake);
      continue;
    }
    const bool registered = registered_;
    lock.unlock();
    if (origin && Clock::now() >= next_origin) {
      Status st = registered ? Heartbeat() : Register();
      if (st && !registered) {
        if (log_) log_("registered with the origin as " + config_.name);
        st = Heartbeat();  // report the state at once
      }
      if (st) {
        backoff_origin = std::chrono::seconds(30);
        next_origin = Clock::now() + interval;
      } else {
        if (log_)
          log_(st.error().ToString() + "; retrying in " + std::to_string(backoff_origin.count()) +
               " s");
        {
          std::lock_guard l(mu_);
          last_error_ = st.error().ToString();
        }
        next_origin = Clock::now() + std::min<std::chrono::seconds>(backoff_origin, interval);
        backoff_origin = std::min<std::chrono::seconds>(backoff_origin * 2, interval);
        // A 404 heartbeat unregistered us: register at the next attempt.
      }
    }
    if (subscribe && Clock::now() >= next_sub) {
      if (Status st = SubscribeUpstream(); st) {
        backoff_sub = std::chrono::seconds(30);
        next_sub = Clock::now() + renew;
      } else {
        if (log_)
          log_(st.error().ToString() + "; retrying in " + std::to_string(backoff_sub.count()) +
               " s");
        next_sub = Clock::now() + backoff_sub;
        backoff_sub = std::min<std::chrono::seconds>(backoff_sub * 2, renew);
      }
    }
    lock.lock();
  }
}

}  // namespace ferry::mirror
