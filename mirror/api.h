// ferry-mirror's HTTP surface on net::Server:
//
//   GET  /metadata/*, /targets/*   the served repository (net::ServeRepositoryFile, inline routes:
//                                  sendfile, Range, ETag, conditional requests, cache headers)
//   GET  /, /status                status page: HTML, or JSON with ?format=json or
//                                  "Accept: application/json"
//   GET  /healthz                  200 "ok", or 503 with the reason the mirror is stale
//   GET  /metrics                  Prometheus text
//   POST /api/v1/notify            push notice (always 202: the sender learns nothing)
//   POST /api/v1/subscribe         {"url": "..."}: forward notices to a downstream mirror
//
// Encoded separators and dot segments never reach a handler: the server core refuses them.
//
// Thread safety: the handlers are safe to run concurrently; `service` and `server` must outlive
// the server's run.
#ifndef FERRY_MIRROR_API_H_
#define FERRY_MIRROR_API_H_

#include <string>

#include "base/result.h"
#include "mirror/service.h"
#include "net/server.h"

namespace ferry::mirror {

Status RegisterRoutes(net::Server& server, MirrorService& service);

// Prometheus text exposition of the report and the server's counters.
std::string MetricsText(const StatusReport& report, const net::ServerMetrics& http);

}  // namespace ferry::mirror

#endif  // FERRY_MIRROR_API_H_
