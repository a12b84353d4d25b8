#include "mirror/notify.h"

#include <algorithm>

#include "base/fs.h"
#include "base/json.h"
#include "net/url.h"
#include "tuf/trusted_set.h"

namespace ferry::mirror {

Result<std::int64_t> VerifyNotice(std::string_view notice, std::string_view trusted_root,
                                  const std::optional<std::string>& held_timestamp, UnixTime now) {
  if (notice.size() > 16384) return Error(Errc::kTooLarge, "notice longer than 16384 bytes");
  FERRY_ASSIGN_OR_RETURN(tuf::TrustedSet ts, tuf::TrustedSet::Create(trusted_root, now));
  if (held_timestamp) (void)ts.UpdateTimestamp(*held_timestamp);  // kept even if expired
  FERRY_TRY(ts.UpdateTimestamp(notice));
  return ts.timestamp()->body.version;
}

bool NoticeLimiter::Allow() {
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  tokens_ = std::min(burst_, tokens_ + std::chrono::duration<double>(now - last_).count() * rate_);
  last_ = now;
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

Subscribers::Subscribers(std::string path, std::size_t max_subscribers, std::int64_t ttl_seconds)
    : path_(std::move(path)), max_(max_subscribers), ttl_(ttl_seconds) {
  auto text = ReadFile(path_, {.max_size = 1 << 20});
  if (!text) return;
  auto doc = json::Parse(*text);
  if (!doc) return;
  const json::Value* list = doc->Find("subscribers");
  if (!list || !list->is_array()) return;
  for (const auto& e : list->as_array()) {
    const json::Value* url = e.Find("url");
    const json::Value* exp = e.Find("expires");
    if (url && url->is_string() && exp && exp->is_int()) expires_[url->as_string()] = exp->as_int();
  }
}

Status Subscribers::SaveLocked() const {
  json::Array list;
  for (const auto& [url, exp] : expires_) {
    json::Object o;
    o.Set("url", url);
    o.Set("expires", exp);
    list.emplace_back(std::move(o));
  }
  json::Object doc;
  doc.Set("subscribers", std::move(list));
  return WriteFileAtomic(path_, json::Encode(doc, 1) + "\n");
}

Result<UnixTime> Subscribers::Add(std::string_view url, UnixTime now) {
  if (url.size() > 2048) return Error(Errc::kInvalidArgument, "url longer than 2048 bytes");
  if (auto parsed = net::ParseUrl(url); !parsed) return parsed.error();
  std::lock_guard lock(mu_);
  for (auto it = expires_.begin(); it != expires_.end();) {
    it = it->second <= now ? expires_.erase(it) : std::next(it);
  }
  const std::string key(url);
  if (!expires_.count(key) && expires_.size() >= max_) {
    return Error(Errc::kTooLarge, "subscriber list is full (" + std::to_string(max_) + ")");
  }
  const UnixTime until = now + ttl_;
  expires_[key] = until;
  FERRY_TRY(SaveLocked());
  return until;
}

std::vector<std::string> Subscribers::Active(UnixTime now) const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [url, exp] : expires_) {
    if (exp > now) out.push_back(url);
  }
  return out;
}

Forwarder::Forwarder(const Subscribers* subscribers, Post post, Log log)
    : subscribers_(subscribers), post_(std::move(post)), log_(std::move(log)) {}

Forwarder::~Forwarder() { Stop(); }

void Forwarder::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void Forwarder::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Forwarder::Forward(std::string timestamp) {
  {
    std::lock_guard lock(mu_);
    pending_ = std::move(timestamp);
  }
  cv_.notify_all();
}

std::uint64_t Forwarder::sent() const {
  std::lock_guard lock(mu_);
  return sent_;
}

std::uint64_t Forwarder::failed() const {
  std::lock_guard lock(mu_);
  return failed_;
}

void Forwarder::Loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || pending_.has_value(); });
    if (stopping_) return;
    std::string body = std::move(*pending_);
    pending_.reset();
    lock.unlock();
    for (const auto& url : subscribers_->Active(NowUnix())) {
      Status st = post_(url, body);
      std::lock_guard count_lock(mu_);
      if (st) {
        ++sent_;
      } else {
        ++failed_;
        if (log_) log_("notice to subscriber " + url + " failed: " + st.error().ToString());
      }
      if (stopping_) break;
    }
    lock.lock();
  }
}

}  // namespace ferry::mirror
