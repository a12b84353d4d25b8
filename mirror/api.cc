#include "mirror/api.h"

#include "base/json.h"
#include "net/repo_files.h"

namespace ferry::mirror {

namespace {

// Anyone may POST a notice or a subscription: their heads get less room than the server's
// limit (ServerOptions::max_header_bytes), which authenticated clients may need.
constexpr std::size_t kAnonymousHeadBytes = 4096;

bool WantsJson(const net::Request& req) {
  if (auto q = net::ParseQuery(req.query)) {
    for (const auto& [k, v] : *q) {
      if (k == "format") return v == "json";
    }
  }
  const std::string accept = req.headers.GetOr("Accept", "");
  return accept.find("application/json") != std::string::npos &&
         accept.find("text/html") == std::string::npos;
}

void Gauge(std::string& out, const std::string& name, const std::string& help, long long v,
           const std::string& type = "gauge") {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
         std::to_string(v) + "\n";
}

long long L(std::uint64_t v) { return static_cast<long long>(v); }

}  // namespace

std::string MetricsText(const StatusReport& r, const net::ServerMetrics& m) {
  std::string out;
  out +=
      "# HELP ferry_mirror_syncs_total Syncs by result.\n# TYPE ferry_mirror_syncs_total counter\n";
  out += "ferry_mirror_syncs_total{result=\"published\"} " +
         std::to_string(r.state.syncs_published) + "\n";
  out += "ferry_mirror_syncs_total{result=\"up_to_date\"} " +
         std::to_string(r.state.syncs_up_to_date) + "\n";
  out +=
      "ferry_mirror_syncs_total{result=\"failed\"} " + std::to_string(r.state.syncs_failed) + "\n";
  Gauge(out, "ferry_mirror_sync_bytes_total", "Bytes received from the upstream by all syncs.",
        L(r.state.sync_bytes_total), "counter");
  Gauge(out, "ferry_mirror_sync_targets_fetched_total",
        "Targets stored by all syncs (downloaded or rebuilt from patches).",
        L(r.state.targets_fetched_total), "counter");
  Gauge(out, "ferry_mirror_sync_patched_targets_total",
        "Targets rebuilt from signed patches by all syncs.", L(r.state.patched_targets_total),
        "counter");
  Gauge(out, "ferry_mirror_sync_patch_bytes_total",
        "Bytes of the patches those targets were rebuilt from.", L(r.state.patch_bytes_total),
        "counter");
  Gauge(out, "ferry_mirror_sync_patch_saved_bytes_total",
        "Bytes of the targets rebuilt from patches: what full downloads would have moved.",
        L(r.state.patch_saved_bytes_total), "counter");
  Gauge(out, "ferry_mirror_last_sync_bytes", "Bytes received from the upstream by the last sync.",
        L(r.state.last_sync_bytes));
  Gauge(out, "ferry_mirror_last_sync_duration_milliseconds", "Duration of the last sync.",
        r.state.last_sync_ms);
  Gauge(out, "ferry_mirror_last_success_timestamp_seconds",
        "Unix time the last successful sync ended (0: never).", r.state.last_success);
  Gauge(out, "ferry_mirror_syncing", "1 while a sync runs.", r.syncing ? 1 : 0);
  Gauge(out, "ferry_mirror_timestamp_version", "Timestamp version served.",
        r.held ? r.held->timestamp_version : 0);
  Gauge(out, "ferry_mirror_snapshot_version", "Snapshot version served.",
        r.held ? r.held->snapshot_version : 0);
  Gauge(out, "ferry_mirror_root_version", "Newest root version served.",
        r.held ? r.held->root_version : 0);
  Gauge(out, "ferry_mirror_timestamp_expires_seconds",
        "Seconds until the served timestamp expires (negative: expired).",
        r.held ? r.held->timestamp_expires - r.now : 0);
  Gauge(out, "ferry_mirror_upstream_timestamp_version",
        "Newest upstream timestamp version seen (verified).", r.upstream_seen_version);
  Gauge(out, "ferry_mirror_versions_behind", "Upstream timestamp versions not yet served.",
        r.versions_behind);
  Gauge(out, "ferry_mirror_lag_seconds", "Seconds since the last successful sync (-1: never).",
        r.last_success_age);
  Gauge(out, "ferry_mirror_stale", "1 when /healthz fails.", r.stale ? 1 : 0);
  Gauge(out, "ferry_mirror_disk_used_bytes", "Bytes of target blobs stored.", L(r.disk_used));
  Gauge(out, "ferry_mirror_disk_quota_bytes", "limits.disk_quota (0: none).", L(r.disk_quota));
  Gauge(out, "ferry_mirror_subscribers", "Downstream mirrors subscribed to notices.",
        L(r.subscribers));
  out +=
      "# HELP ferry_mirror_notices_total Push notices by outcome.\n# TYPE "
      "ferry_mirror_notices_total counter\n";
  out += "ferry_mirror_notices_total{result=\"accepted\"} " + std::to_string(r.notices_accepted) +
         "\n";
  out +=
      "ferry_mirror_notices_total{result=\"ignored\"} " + std::to_string(r.notices_ignored) + "\n";
  out += "ferry_mirror_notices_total{result=\"rate_limited\"} " +
         std::to_string(r.notices_dropped) + "\n";
  Gauge(out, "ferry_mirror_notices_forwarded_total", "Notices sent to subscribers.",
        L(r.notices_forwarded), "counter");
  Gauge(out, "ferry_mirror_heartbeats_total", "Heartbeats accepted by the origin.",
        L(r.heartbeats_sent), "counter");
  Gauge(out, "ferry_http_requests_total", "HTTP requests.", L(m.requests), "counter");
  out +=
      "# HELP ferry_http_responses_total HTTP responses by status class.\n# TYPE "
      "ferry_http_responses_total counter\n";
  for (int c = 1; c <= 5; ++c) {
    out += "ferry_http_responses_total{class=\"" + std::to_string(c) + "xx\"} " +
           std::to_string(m.responses_by_class[static_cast<std::size_t>(c)]) + "\n";
  }
  Gauge(out, "ferry_http_bytes_sent_total", "Bytes written to clients.", L(m.bytes_sent),
        "counter");
  Gauge(out, "ferry_http_sendfile_bytes_total", "Body bytes sent with sendfile(2).",
        L(m.sendfile_bytes), "counter");
  Gauge(out, "ferry_http_connections_open", "Open connections.", L(m.connections_open));
  Gauge(out, "ferry_http_timeouts_total", "Connections closed by a timeout.", L(m.timeouts),
        "counter");
  return out;
}

Status RegisterRoutes(net::Server& server, MirrorService& svc) {
  const std::string repo = svc.paths().repo();
  auto files = [repo](net::Request& req, net::BodyReader&) -> net::Reply {
    return net::ServeRepositoryFile(repo, req);
  };
  FERRY_TRY(server.AddRoute("GET", "/metadata/*", files, net::RouteOptions::Inline()));
  FERRY_TRY(server.AddRoute("GET", "/targets/*", files, net::RouteOptions::Inline()));

  auto status = [&svc](net::Request& req, net::BodyReader&) -> net::Reply {
    StatusReport r = svc.Report();
    const bool json = WantsJson(req);
    net::Response resp =
        json ? net::Response::Json(200, StatusJson(r)) : net::Response::Text(200, StatusHtml(r));
    if (!json) resp.headers.Set("Content-Type", "text/html; charset=utf-8");
    resp.headers.Set("Cache-Control", "no-cache");
    resp.headers.Set("Vary", "Accept");
    resp.headers.Set("X-Content-Type-Options", "nosniff");
    return resp;
  };
  FERRY_TRY(server.AddRoute("GET", "/", status));
  FERRY_TRY(server.AddRoute("GET", "/status", status));

  FERRY_TRY(
      server.AddRoute("GET", "/healthz", [&svc](net::Request&, net::BodyReader&) -> net::Reply {
        StatusReport r = svc.Report();
        net::Response resp = r.stale ? net::Response::Text(503, "stale: " + r.stale_reason + "\n")
                                     : net::Response::Text(200, "ok\n");
        resp.headers.Set("Cache-Control", "no-cache");
        return resp;
      }));
  FERRY_TRY(server.AddRoute(
      "GET", "/metrics", [&svc, &server](net::Request&, net::BodyReader&) -> net::Reply {
        net::Response resp = net::Response::Text(200, MetricsText(svc.Report(), server.metrics()));
        resp.headers.Set("Content-Type", "text/plain; version=0.0.4");
        return resp;
      }));

  FERRY_TRY(server.AddRoute(
      "POST", "/api/v1/notify",
      [&svc](net::Request&, net::BodyReader& body) -> net::Reply {
        auto bytes = body.ReadAll();
        if (bytes) (void)svc.HandleNotice(*bytes);
        return net::Response::Text(202, "accepted\n");
      },
      net::RouteOptions::MaxBody(16384).MaxHeader(kAnonymousHeadBytes)));
  FERRY_TRY(server.AddRoute(
      "POST", "/api/v1/subscribe",
      [&svc](net::Request&, net::BodyReader& body) -> net::Reply {
        auto bytes = body.ReadAll();
        if (!bytes) return net::Response::Error(400, bytes.error().message());
        auto doc = json::Parse(*bytes);
        const json::Value* url = doc ? doc->Find("url") : nullptr;
        if (!url || !url->is_string()) {
          return net::Response::Json(
              400,
              "{\"error\": \"invalid_argument\", \"message\": "
              "\"send {\\\"url\\\": \\\"http(s)://.../api/v1/notify\\\"}\"}\n");
        }
        auto until = svc.Subscribe(url->as_string());
        if (!until) {
          json::Object e;
          e.Set("error", std::string(ErrcName(until.error().code())));
          e.Set("message", until.error().message());
          const Errc code = until.error().code();
          return net::Response::Json(code == Errc::kTooLarge || code == Errc::kTimeout ? 503 : 400,
                                     json::Encode(e) + "\n");
        }
        json::Object o;
        o.Set("url", url->as_string());
        o.Set("expires", FormatTufTime(*until));
        return net::Response::Json(200, json::Encode(o) + "\n");
      },
      net::RouteOptions::MaxBody(4096).MaxHeader(kAnonymousHeadBytes)));
  return OkStatus();
}

}  // namespace ferry::mirror
