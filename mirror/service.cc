#include "mirror/service.h"

#include <algorithm>
#include <cstdio>

#include "base/fs.h"
#include "base/json.h"
#include "net/http_client.h"
#include "net/notice.h"
#include "tuf/metadata.h"

namespace ferry::mirror {

MirrorService::MirrorService(ServiceOptions options)
    : options_(std::move(options)), paths_{options_.config.data_dir} {
  if (!options_.clock) options_.clock = NowUnix;
}

MirrorService::~MirrorService() { (void)Stop(); }

void MirrorService::Log(const std::string& line) const {
  if (options_.log) {
    options_.log(line);
    return;
  }
  std::fprintf(stderr, "%s ferry-mirror: %s\n", FormatTufTime(NowUnix()).c_str(), line.c_str());
}

Result<std::unique_ptr<MirrorService>> MirrorService::Open(ServiceOptions options) {
  std::unique_ptr<MirrorService> s(new MirrorService(std::move(options)));
  const MirrorConfig& c = s->options_.config;
  FERRY_TRY(MakeDirs(c.data_dir, 0755));
  auto root = ReadFile(c.root_file, {.max_size = 512000});
  if (!root) return root.error().WithContext("upstream.root");
  if (auto md = tuf::ParseMetadata<tuf::Root>(*root); !md) {
    return md.error().WithContext("upstream.root " + c.root_file);
  }
  s->pinned_root_ = std::move(*root);

  store::LocalBlobStoreOptions bo;
  if (c.disk_quota > 0) bo.quota_bytes = c.disk_quota;
  FERRY_ASSIGN_OR_RETURN(s->store_, store::LocalBlobStore::Open(s->paths_.blobs(), bo));
  s->limiter_ = std::make_unique<RateLimiter>(c.download_rate);
  HttpUpstreamOptions uo;
  uo.base_url = c.upstream_url;
  uo.ca_file = c.ca_file;
  uo.limiter = s->limiter_.get();
  uo.cancel = &s->cancel_;
  FERRY_ASSIGN_OR_RETURN(s->upstream_, HttpUpstream::Create(uo));
  s->fetcher_ = std::make_unique<FullFileFetcher>(s->upstream_.get(), s->store_.get());
  s->patch_fetcher_ = std::make_unique<PatchFetcher>(s->fetcher_.get(), s->store_.get());

  SyncOptions so;
  so.data_dir = c.data_dir;
  so.pinned_root = s->pinned_root_;
  so.parallel_fetches = c.parallel_fetches;
  so.retention_seconds = c.retention_seconds;
  so.gc_every_seconds = c.gc_every_seconds;
  so.gc_grace_seconds = c.gc_grace_seconds;
  so.clock = s->options_.clock;
  MirrorService* self = s.get();
  so.log = [self](const std::string& line) { self->Log(line); };
  so.fault_hook = s->options_.fault_hook;
  s->syncer_ =
      std::make_unique<Syncer>(so, s->upstream_.get(), s->store_.get(), s->patch_fetcher_.get());
  so.full = true;
  s->full_syncer_ =
      std::make_unique<Syncer>(so, s->upstream_.get(), s->store_.get(), s->patch_fetcher_.get());

  s->subscribers_ = std::make_unique<Subscribers>(s->paths_.subscribers(),
                                                  static_cast<std::size_t>(c.max_subscribers),
                                                  c.subscription_ttl_seconds);
  s->forwarder_ = std::make_unique<Forwarder>(
      s->subscribers_.get(),
      [self](const std::string& url, const std::string& body) {
        return self->PostNotice(url, body);
      },
      [self](const std::string& line) { self->Log(line); });

  if (s->options_.load_identity) {
    bool created = false;
    FERRY_ASSIGN_OR_RETURN(MirrorIdentity id,
                           MirrorIdentity::LoadOrCreate(s->paths_.key(), &created));
    if (created) s->Log("created the mirror identity key " + s->paths_.key());
    s->identity_.emplace(std::move(id));
    std::string token;
    if (!c.origin_url.empty()) {
      auto t = ReadFile(c.token_file, {.max_size = 4096, .owner_only = true});
      if (!t) return t.error().WithContext("origin.token_file");
      token = std::move(*t);
      while (!token.empty() &&
             (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) {
        token.pop_back();
      }
    }
    s->origin_link_ = std::make_unique<OriginLink>(
        c, std::move(token), &*s->identity_, [self] { return self->Statement(); },
        [self](const std::string& line) { self->Log(line); });
  }
  return s;
}

SyncReport MirrorService::SyncNow(bool full) {
  std::lock_guard sync_lock(sync_mu_);
  SyncReport report = (full ? full_syncer_ : syncer_)->Run();
  {
    std::lock_guard lock(mu_);
    last_warnings_ = report.warnings;
  }
  if (report.outcome == SyncReport::Outcome::kPublished) {
    if (auto ts = ReadFile(JoinPath(paths_.metadata(), "timestamp.json"), {.max_size = 1 << 20})) {
      forwarder_->Forward(std::move(*ts));
    }
  }
  return report;
}

void MirrorService::Start() {
  std::lock_guard lock(mu_);
  if (started_ || thread_.joinable()) return;
  started_ = true;
  stopping_ = false;
  loop_done_ = false;
  forwarder_->Start();
  if (origin_link_) origin_link_->Start();
  thread_ = std::thread([this] { Loop(); });
}

bool MirrorService::Stop(std::optional<std::chrono::milliseconds> timeout) {
  {
    std::unique_lock lock(mu_);
    if (!started_ && !thread_.joinable()) return true;
    started_ = false;
    stopping_ = true;
    cancel_ = true;  // a sync in progress fails fast; the served state is untouched
    cv_.notify_all();
    if (timeout && !cv_.wait_for(lock, *timeout, [&] { return loop_done_; })) return false;
  }
  if (thread_.joinable()) thread_.join();
  if (origin_link_) origin_link_->Stop();
  forwarder_->Stop();
  return true;
}

void MirrorService::Trigger(const std::string& reason) {
  {
    std::lock_guard lock(mu_);
    trigger_pending_ = true;
  }
  Log("sync requested: " + reason);
  cv_.notify_all();
}

void MirrorService::Loop() {
  using Clock = std::chrono::steady_clock;
  const auto poll = std::chrono::seconds(options_.config.poll_interval_seconds);
  const auto min_interval = std::chrono::seconds(options_.config.min_interval_seconds);
  auto next_poll = Clock::now();  // sync at start
  auto last_start = Clock::now() - min_interval;
  int failures = 0;
  std::unique_lock lock(mu_);
  while (!stopping_) {
    const auto now = Clock::now();
    const bool poll_due = now >= next_poll;
    const bool trigger_due = trigger_pending_ && now >= last_start + min_interval;
    if (!poll_due && !trigger_due) {
      auto wake = next_poll;
      if (trigger_pending_) wake = std::min(wake, last_start + min_interval);
      cv_.wait_until(lock, wake);
      continue;
    }
    trigger_pending_ = false;  // a notice arriving from here on asks for one more sync
    syncing_ = true;
    last_start = now;
    lock.unlock();
    SyncReport report = SyncNow();
    if (report.outcome == SyncReport::Outcome::kPublished || !report.status) {
      Log(report.Summary());
    }
    lock.lock();
    syncing_ = false;
    if (stopping_) break;
    if (report.status) {
      failures = 0;
      next_poll = Clock::now() + poll;
    } else {
      ++failures;
      auto backoff = std::chrono::seconds(15) * (1 << std::min(failures - 1, 10));
      next_poll = Clock::now() + std::min<Clock::duration>(backoff, poll);
    }
  }
  loop_done_ = true;
  cv_.notify_all();
}

MirrorService::NoticeOutcome MirrorService::HandleNotice(std::string_view body) {
  if (!notice_limiter_.Allow()) {
    ++notices_dropped_;
    return NoticeOutcome::kRateLimited;
  }
  std::string root = pinned_root_;
  if (auto served = ReadFile(JoinPath(paths_.metadata(), "root.json"), {.max_size = 512000})) {
    root = std::move(*served);
  }
  std::optional<std::string> held;
  if (auto ts = ReadFile(JoinPath(paths_.metadata(), "timestamp.json"), {.max_size = 16384})) {
    held = std::move(*ts);
  }
  auto version = VerifyNotice(body, root, held, options_.clock());
  if (!version) {
    ++notices_ignored_;
    Log("ignored a notice: " + version.error().ToString());
    return NoticeOutcome::kIgnored;
  }
  ++notices_accepted_;
  std::int64_t seen = notice_seen_version_.load();
  while (*version > seen && !notice_seen_version_.compare_exchange_weak(seen, *version)) {
  }
  Trigger("notice of timestamp v" + std::to_string(*version));
  return NoticeOutcome::kAccepted;
}

Result<UnixTime> MirrorService::Subscribe(std::string_view url) {
  if (!subscribe_limiter_.Allow())
    return Error(Errc::kTimeout, "too many subscriptions; retry later");
  FERRY_ASSIGN_OR_RETURN(UnixTime until, subscribers_->Add(url, options_.clock()));
  Log("subscriber " + std::string(url) + " until " + FormatTufTime(until));
  return until;
}

void MirrorService::SetBytesServedSource(std::function<std::uint64_t()> source) {
  std::lock_guard lock(mu_);
  bytes_served_ = std::move(source);
}

Status MirrorService::PostNotice(const std::string& url, const std::string& body) const {
  net::HttpClientOptions co;
  co.ca_file = options_.config.ca_file;
  co.keep_alive = false;
  co.user_agent = "ferry-mirror/0.1";
  FERRY_ASSIGN_OR_RETURN(net::HttpClient client, net::HttpClient::Create(co));
  return net::PostNotice(client, url, body);
}

HeartbeatStatement MirrorService::Statement() const {
  StatusReport r = Report();
  HeartbeatStatement s;
  s.mirror = options_.config.name;
  if (r.held) {
    s.timestamp_version = r.held->timestamp_version;
    s.snapshot_version = r.held->snapshot_version;
  }
  s.synced_at = r.state.last_success;
  s.disk_used_bytes = r.disk_used;
  s.bytes_served = r.bytes_served;
  return s;
}

StatusReport MirrorService::Report() const {
  const MirrorConfig& c = options_.config;
  StatusReport r;
  r.now = options_.clock();
  r.name = c.name;
  r.upstream = TrimBaseUrl(c.upstream_url);
  r.public_url = c.public_url;
  r.region = c.region;
  r.country = c.country;
  if (auto st = LoadState(paths_.state())) r.state = std::move(*st);
  if (auto held = ReadHeldState(paths_.metadata())) r.held = *held;
  r.upstream_seen_version =
      std::max(r.state.upstream_timestamp_version, notice_seen_version_.load());
  if (r.held) {
    r.versions_behind =
        std::max<std::int64_t>(0, r.upstream_seen_version - r.held->timestamp_version);
    r.timestamp_age = r.now - r.held->timestamp_mtime;
  } else {
    r.versions_behind = r.upstream_seen_version;
  }
  if (r.state.last_success > 0) r.last_success_age = r.now - r.state.last_success;
  if (!r.held) {
    r.stale_reason = "nothing synced yet";
  } else if (r.state.last_success == 0) {
    r.stale_reason = "no successful sync recorded";
  } else if (r.last_success_age > c.stale_after_seconds) {
    r.stale_reason = "last successful sync " + std::to_string(r.last_success_age) +
                     " s ago (sync.stale_after is " + std::to_string(c.stale_after_seconds) + " s)";
  } else if (r.held->timestamp_expires <= r.now) {
    r.stale_reason = "the timestamp held expired at " + FormatTufTime(r.held->timestamp_expires);
  }
  r.stale = !r.stale_reason.empty();
  r.disk_used = store_->UsedBytes();
  r.disk_quota = c.disk_quota;
  r.subscribers = subscribers_->Active(r.now).size();
  r.notices_accepted = notices_accepted_.load();
  r.notices_ignored = notices_ignored_.load();
  r.notices_dropped = notices_dropped_.load();
  r.notices_forwarded = forwarder_->sent();
  if (origin_link_) {
    r.registration = origin_link_->registration_state();
    r.heartbeats_sent = origin_link_->heartbeats_sent();
  }
  {
    std::lock_guard lock(mu_);
    r.syncing = syncing_;
    r.last_warnings = last_warnings_;
    if (bytes_served_) r.bytes_served = bytes_served_();
  }
  return r;
}

namespace {

std::int64_t Clamp(std::uint64_t v) {
  return static_cast<std::int64_t>(std::min<std::uint64_t>(v, json::kMaxSafeInteger));
}

std::string Time(UnixTime t) { return t > 0 ? FormatTufTime(t) : ""; }

std::string Html(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string HumanBytes(std::uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

std::string Age(std::int64_t seconds) {
  if (seconds < 0) return "never";
  if (seconds < 120) return std::to_string(seconds) + " s ago";
  if (seconds < 7200) return std::to_string(seconds / 60) + " min ago";
  if (seconds < 172800) return std::to_string(seconds / 3600) + " h ago";
  return std::to_string(seconds / 86400) + " days ago";
}

}  // namespace

std::string StatusJson(const StatusReport& r) {
  json::Object o;
  o.Set("name", r.name);
  o.Set("upstream", r.upstream);
  o.Set("public_url", r.public_url);
  o.Set("region", r.region);
  o.Set("country", r.country);
  o.Set("now", FormatTufTime(r.now));
  json::Object held;
  if (r.held) {
    held.Set("root_version", r.held->root_version);
    held.Set("timestamp_version", r.held->timestamp_version);
    held.Set("snapshot_version", r.held->snapshot_version);
    held.Set("timestamp_expires", FormatTufTime(r.held->timestamp_expires));
    held.Set("timestamp_published", Time(r.held->timestamp_mtime));
  }
  o.Set("held", r.held ? json::Value(std::move(held)) : json::Value());
  json::Object sync;
  sync.Set("last_attempt", Time(r.state.last_attempt));
  sync.Set("last_result", r.state.last_result);
  sync.Set("last_error", r.state.last_error);
  sync.Set("last_success", Time(r.state.last_success));
  sync.Set("last_publish", Time(r.state.last_publish));
  sync.Set("last_sync_bytes", Clamp(r.state.last_sync_bytes));
  sync.Set("last_sync_ms", r.state.last_sync_ms);
  sync.Set("sync_bytes_total", Clamp(r.state.sync_bytes_total));
  sync.Set("patched_targets_total", Clamp(r.state.patched_targets_total));
  sync.Set("patch_bytes_total", Clamp(r.state.patch_bytes_total));
  sync.Set("patch_saved_bytes_total", Clamp(r.state.patch_saved_bytes_total));
  sync.Set("syncs_published", Clamp(r.state.syncs_published));
  sync.Set("syncs_up_to_date", Clamp(r.state.syncs_up_to_date));
  sync.Set("syncs_failed", Clamp(r.state.syncs_failed));
  sync.Set("syncing", r.syncing);
  json::Array warnings;
  for (const auto& w : r.last_warnings) warnings.emplace_back(w);
  sync.Set("warnings", std::move(warnings));
  o.Set("sync", std::move(sync));
  json::Object lag;
  lag.Set("upstream_timestamp_version", r.upstream_seen_version);
  lag.Set("versions_behind", r.versions_behind);
  lag.Set("last_success_age_seconds", r.last_success_age);
  lag.Set("timestamp_age_seconds", r.timestamp_age);
  lag.Set("stale", r.stale);
  lag.Set("stale_reason", r.stale_reason);
  o.Set("lag", std::move(lag));
  json::Object disk;
  disk.Set("used_bytes", Clamp(r.disk_used));
  disk.Set("quota_bytes", Clamp(r.disk_quota));
  o.Set("disk", std::move(disk));
  json::Object traffic;
  traffic.Set("bytes_served", Clamp(r.bytes_served));
  traffic.Set("sync_bytes_total", Clamp(r.state.sync_bytes_total));
  o.Set("traffic", std::move(traffic));
  json::Object network;
  network.Set("registration", r.registration);
  network.Set("heartbeats_sent", Clamp(r.heartbeats_sent));
  network.Set("subscribers", Clamp(r.subscribers));
  network.Set("notices_accepted", Clamp(r.notices_accepted));
  network.Set("notices_ignored", Clamp(r.notices_ignored));
  network.Set("notices_dropped", Clamp(r.notices_dropped));
  network.Set("notices_forwarded", Clamp(r.notices_forwarded));
  o.Set("network", std::move(network));
  return json::Encode(o, 2) + "\n";
}

std::string StatusHtml(const StatusReport& r) {
  std::string rows;
  auto row = [&](std::string_view k, const std::string& v) {
    rows += "<tr><th>" + Html(k) + "</th><td>" + Html(v) + "</td></tr>\n";
  };
  auto section = [&](std::string_view title) {
    rows += "<tr><th colspan=2 class=s>" + Html(title) + "</th></tr>\n";
  };
  section("Mirror");
  row("name", r.name.empty() ? "(private mirror)" : r.name);
  row("region / country", r.region + (r.country.empty() ? "" : " / " + r.country));
  row("public URL", r.public_url);
  row("upstream", r.upstream);
  section("Held");
  if (r.held) {
    row("timestamp", "v" + std::to_string(r.held->timestamp_version) + ", expires " +
                         FormatTufTime(r.held->timestamp_expires));
    row("snapshot", "v" + std::to_string(r.held->snapshot_version));
    row("root", "v" + std::to_string(r.held->root_version));
    row("published here", Age(r.timestamp_age));
  } else {
    row("state", "nothing synced yet");
  }
  section("Sync");
  row("health", r.stale ? "STALE: " + r.stale_reason : "ok");
  row("last attempt", Age(r.state.last_attempt ? r.now - r.state.last_attempt : -1) +
                          (r.state.last_result.empty() ? "" : " (" + r.state.last_result + ")"));
  if (!r.state.last_error.empty()) row("last error", r.state.last_error);
  row("last success", Age(r.last_success_age));
  row("upstream timestamp", "v" + std::to_string(r.upstream_seen_version) + " (" +
                                std::to_string(r.versions_behind) + " versions behind)");
  row("last sync",
      HumanBytes(r.state.last_sync_bytes) + " in " + std::to_string(r.state.last_sync_ms) + " ms");
  row("syncs", std::to_string(r.state.syncs_published) + " published, " +
                   std::to_string(r.state.syncs_up_to_date) + " up to date, " +
                   std::to_string(r.state.syncs_failed) + " failed" +
                   (r.syncing ? " (syncing now)" : ""));
  for (const auto& w : r.last_warnings) row("warning", w);
  section("Disk and traffic");
  row("disk used",
      HumanBytes(r.disk_used) + (r.disk_quota ? " of " + HumanBytes(r.disk_quota) : ""));
  row("served", HumanBytes(r.bytes_served));
  row("downloaded from upstream", HumanBytes(r.state.sync_bytes_total));
  row("rebuilt from patches", r.state.patched_targets_total == 0
                                  ? "none"
                                  : std::to_string(r.state.patched_targets_total) +
                                        " targets: " + HumanBytes(r.state.patch_bytes_total) +
                                        " of patches instead of " +
                                        HumanBytes(r.state.patch_saved_bytes_total));
  section("Network");
  row("registration", r.registration);
  row("subscribers", std::to_string(r.subscribers));
  row("notices", std::to_string(r.notices_accepted) + " accepted, " +
                     std::to_string(r.notices_ignored) + " ignored, " +
                     std::to_string(r.notices_dropped) + " rate-limited, " +
                     std::to_string(r.notices_forwarded) + " forwarded");
  return "<!doctype html>\n<html><head><meta charset=utf-8><title>ferry mirror " + Html(r.name) +
         "</title>\n<style>body{font-family:sans-serif;margin:2em}th{text-align:left;padding-right:"
         "2em}th.s{padding-top:1em;border-bottom:1px solid #999}</style></head>\n<body><h1>ferry "
         "mirror " +
         Html(r.name) + "</h1>\n<p>As of " + FormatTufTime(r.now) +
         ". JSON: <a href=\"/status?format=json\">/status?format=json</a>, Prometheus: <a "
         "href=\"/metrics\">/metrics</a>.</p>\n<table>\n" +
         rows + "</table></body></html>\n";
}

}  // namespace ferry::mirror
