#include "mirror/config.h"

#include <cstdlib>

#include "mirror/upstream.h"
#include "net/url.h"

namespace ferry::mirror {

std::string MirrorConfig::NotifyUrl() const {
  if (public_url.empty()) return "";
  return TrimBaseUrl(public_url) + "/api/v1/notify";
}

const std::set<std::string>& MirrorConfigKeys() {
  static const std::set<std::string> kKeys = {"data_dir",
                                              "mirror.name",
                                              "mirror.region",
                                              "mirror.country",
                                              "mirror.contact",
                                              "mirror.capacity_mbps",
                                              "upstream.url",
                                              "upstream.root",
                                              "upstream.ca_file",
                                              "upstream.subscribe",
                                              "http.listen",
                                              "http.public_url",
                                              "http.io_threads",
                                              "http.worker_threads",
                                              "https.listen",
                                              "https.tls_cert",
                                              "https.tls_key",
                                              "sync.poll_interval",
                                              "sync.min_interval",
                                              "sync.parallel_fetches",
                                              "sync.retention",
                                              "sync.gc_every",
                                              "sync.gc_grace",
                                              "sync.stale_after",
                                              "limits.download_rate",
                                              "limits.serve_rate",
                                              "limits.disk_quota",
                                              "origin.url",
                                              "origin.token_file",
                                              "origin.heartbeat_interval",
                                              "notify.max_subscribers",
                                              "notify.subscription_ttl"};
  return kKeys;
}

Status ParseListenAddress(const std::string& text, std::string* address, std::uint16_t* port) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    return Error(Errc::kInvalidArgument,
                 "listen address must be ADDRESS:PORT, got \"" + text + "\"");
  }
  std::string a = text.substr(0, colon);
  if (a.size() > 2 && a.front() == '[' && a.back() == ']') a = a.substr(1, a.size() - 2);
  const std::string p = text.substr(colon + 1);
  if (p.find_first_not_of("0123456789") != std::string::npos || p.size() > 5 ||
      std::atoi(p.c_str()) > 65535) {
    return Error(Errc::kInvalidArgument, "bad port in listen address \"" + text + "\"");
  }
  *address = a;
  *port = static_cast<std::uint16_t>(std::atoi(p.c_str()));
  return OkStatus();
}

namespace {

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-')) return false;
  }
  return true;
}

Status CheckUrl(const std::string& key, const std::string& value) {
  if (value.empty()) return OkStatus();
  if (auto u = net::ParseUrl(value); !u) {
    return Error(Errc::kInvalidArgument, key + ": " + u.error().message());
  }
  return OkStatus();
}

Status Positive(const std::string& key, std::int64_t v) {
  if (v <= 0) return Error(Errc::kInvalidArgument, key + " must be positive");
  return OkStatus();
}

}  // namespace

Result<MirrorConfig> ParseMirrorConfig(const Config& c) {
  FERRY_TRY(c.CheckKnownKeys(MirrorConfigKeys()));
  MirrorConfig m;
  FERRY_ASSIGN_OR_RETURN(m.data_dir, c.GetString("data_dir", m.data_dir));
  FERRY_ASSIGN_OR_RETURN(m.name, c.GetString("mirror.name"));
  FERRY_ASSIGN_OR_RETURN(m.region, c.GetString("mirror.region"));
  FERRY_ASSIGN_OR_RETURN(m.country, c.GetString("mirror.country"));
  FERRY_ASSIGN_OR_RETURN(m.contact, c.GetString("mirror.contact"));
  FERRY_ASSIGN_OR_RETURN(m.capacity_mbps, c.GetInt("mirror.capacity_mbps", m.capacity_mbps));
  FERRY_ASSIGN_OR_RETURN(m.upstream_url, c.GetString("upstream.url"));
  FERRY_ASSIGN_OR_RETURN(m.root_file, c.GetString("upstream.root"));
  FERRY_ASSIGN_OR_RETURN(m.ca_file, c.GetString("upstream.ca_file"));
  FERRY_ASSIGN_OR_RETURN(m.subscribe, c.GetBool("upstream.subscribe", m.subscribe));
  FERRY_ASSIGN_OR_RETURN(m.listen, c.GetString("http.listen", m.listen));
  FERRY_ASSIGN_OR_RETURN(m.public_url, c.GetString("http.public_url"));
  std::int64_t io = m.io_threads, workers = m.worker_threads, parallel = m.parallel_fetches;
  FERRY_ASSIGN_OR_RETURN(io, c.GetInt("http.io_threads", io));
  FERRY_ASSIGN_OR_RETURN(workers, c.GetInt("http.worker_threads", workers));
  FERRY_ASSIGN_OR_RETURN(m.tls_listen, c.GetString("https.listen"));
  FERRY_ASSIGN_OR_RETURN(m.tls_cert, c.GetString("https.tls_cert"));
  FERRY_ASSIGN_OR_RETURN(m.tls_key, c.GetString("https.tls_key"));
  FERRY_ASSIGN_OR_RETURN(m.poll_interval_seconds,
                         c.GetDurationSeconds("sync.poll_interval", m.poll_interval_seconds));
  FERRY_ASSIGN_OR_RETURN(m.min_interval_seconds,
                         c.GetDurationSeconds("sync.min_interval", m.min_interval_seconds));
  FERRY_ASSIGN_OR_RETURN(parallel, c.GetInt("sync.parallel_fetches", parallel));
  FERRY_ASSIGN_OR_RETURN(m.retention_seconds,
                         c.GetDurationSeconds("sync.retention", m.retention_seconds));
  FERRY_ASSIGN_OR_RETURN(m.gc_every_seconds,
                         c.GetDurationSeconds("sync.gc_every", m.gc_every_seconds));
  FERRY_ASSIGN_OR_RETURN(m.gc_grace_seconds,
                         c.GetDurationSeconds("sync.gc_grace", m.gc_grace_seconds));
  FERRY_ASSIGN_OR_RETURN(m.stale_after_seconds,
                         c.GetDurationSeconds("sync.stale_after", m.stale_after_seconds));
  FERRY_ASSIGN_OR_RETURN(m.download_rate, c.GetSize("limits.download_rate", m.download_rate));
  FERRY_ASSIGN_OR_RETURN(m.serve_rate, c.GetSize("limits.serve_rate", m.serve_rate));
  FERRY_ASSIGN_OR_RETURN(m.disk_quota, c.GetSize("limits.disk_quota", m.disk_quota));
  FERRY_ASSIGN_OR_RETURN(m.origin_url, c.GetString("origin.url"));
  FERRY_ASSIGN_OR_RETURN(m.token_file, c.GetString("origin.token_file"));
  FERRY_ASSIGN_OR_RETURN(
      m.heartbeat_interval_seconds,
      c.GetDurationSeconds("origin.heartbeat_interval", m.heartbeat_interval_seconds));
  FERRY_ASSIGN_OR_RETURN(m.max_subscribers, c.GetInt("notify.max_subscribers", m.max_subscribers));
  FERRY_ASSIGN_OR_RETURN(
      m.subscription_ttl_seconds,
      c.GetDurationSeconds("notify.subscription_ttl", m.subscription_ttl_seconds));

  if (m.upstream_url.empty()) return Error(Errc::kInvalidArgument, "upstream.url is required");
  if (m.root_file.empty()) {
    return Error(Errc::kInvalidArgument, "upstream.root is required (the root.json to pin)");
  }
  FERRY_TRY(CheckUrl("upstream.url", m.upstream_url));
  FERRY_TRY(CheckUrl("http.public_url", m.public_url));
  FERRY_TRY(CheckUrl("origin.url", m.origin_url));
  if (!m.name.empty() && !ValidName(m.name)) {
    return Error(Errc::kInvalidArgument, "mirror.name must be 1-64 characters of a-z 0-9 . -");
  }
  if (!m.origin_url.empty()) {
    if (m.name.empty()) return Error(Errc::kInvalidArgument, "origin.url needs mirror.name");
    if (m.token_file.empty())
      return Error(Errc::kInvalidArgument, "origin.url needs origin.token_file");
    if (m.public_url.empty())
      return Error(Errc::kInvalidArgument, "origin.url needs http.public_url");
  }
  if (m.listen.empty() && m.tls_listen.empty()) {
    return Error(Errc::kInvalidArgument, "set http.listen or https.listen");
  }
  if (!m.tls_listen.empty() && (m.tls_cert.empty() || m.tls_key.empty())) {
    return Error(Errc::kInvalidArgument, "https.listen needs https.tls_cert and https.tls_key");
  }
  std::string a;
  std::uint16_t p = 0;
  if (!m.listen.empty()) FERRY_TRY(ParseListenAddress(m.listen, &a, &p));
  if (!m.tls_listen.empty()) FERRY_TRY(ParseListenAddress(m.tls_listen, &a, &p));
  if (io < 1 || io > 64 || workers < 1 || workers > 256 || parallel < 1 || parallel > 64) {
    return Error(Errc::kInvalidArgument,
                 "http.io_threads (1-64), http.worker_threads (1-256) and sync.parallel_fetches "
                 "(1-64) are out of range");
  }
  m.io_threads = static_cast<int>(io);
  m.worker_threads = static_cast<int>(workers);
  m.parallel_fetches = static_cast<int>(parallel);
  FERRY_TRY(Positive("sync.poll_interval", m.poll_interval_seconds));
  FERRY_TRY(Positive("sync.stale_after", m.stale_after_seconds));
  FERRY_TRY(Positive("origin.heartbeat_interval", m.heartbeat_interval_seconds));
  FERRY_TRY(Positive("notify.subscription_ttl", m.subscription_ttl_seconds));
  if (m.min_interval_seconds < 0 || m.retention_seconds < 0 || m.gc_every_seconds < 0 ||
      m.gc_grace_seconds < 0 || m.max_subscribers < 0 || m.capacity_mbps < 0) {
    return Error(Errc::kInvalidArgument, "durations and counts must not be negative");
  }
  return m;
}

Result<MirrorConfig> LoadMirrorConfig(const std::string& path) {
  FERRY_ASSIGN_OR_RETURN(Config c, Config::Load(path));
  auto m = ParseMirrorConfig(c);
  if (!m) return m.error().WithContext(path);
  return m;
}

}  // namespace ferry::mirror
