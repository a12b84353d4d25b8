#include "origin/api.h"

#include <vector>

#include "base/bytes.h"
#include "base/json.h"
#include "crypto/hash.h"
#include "net/repo_files.h"
#include "origin/mirrors.h"
#include "origin/tokens.h"

namespace ferry::origin {

int HttpStatusFor(Errc code) {
  switch (code) {
    case Errc::kOk:
      return 200;
    case Errc::kUnauthenticated:
      return 401;
    case Errc::kForbidden:
      return 403;
    case Errc::kNotFound:
    case Errc::kTargetNotFound:
      return 404;
    case Errc::kConflict:
    case Errc::kAlreadyExists:
    case Errc::kRollback:
      return 409;
    case Errc::kTooLarge:
      return 413;
    case Errc::kTimeout:
      return 503;
    case Errc::kIoError:
    case Errc::kCryptoError:
    case Errc::kPermission:
      return 500;
    default:
      return 400;
  }
}

net::Response ErrorResponse(const Error& error) {
  json::Object o;
  o.Set("error", std::string(ErrcName(error.code())));
  o.Set("message", error.message());
  net::Response r = net::Response::Json(HttpStatusFor(error.code()), json::Encode(o) + "\n");
  if (error.code() == Errc::kUnauthenticated) r.headers.Set("WWW-Authenticate", "Bearer");
  return r;
}

namespace {

json::Value ReportJson(const StatusReport& r) {
  json::Object o;
  json::Array roles;
  for (const auto& role : r.roles) {
    json::Object ro;
    ro.Set("role", role.role);
    ro.Set("version", role.version);
    ro.Set("expires", FormatTufTime(role.expires));
    ro.Set("warning", role.warning);
    roles.emplace_back(std::move(ro));
  }
  o.Set("roles", std::move(roles));
  o.Set("plugins", static_cast<std::int64_t>(r.plugins));
  o.Set("artifacts", static_cast<std::int64_t>(r.artifacts));
  o.Set("blob_bytes", static_cast<std::int64_t>(r.blob_bytes));
  o.Set("uploads", static_cast<std::int64_t>(r.uploads));
  o.Set("publishes", static_cast<std::int64_t>(r.publishes));
  o.Set("publish_failures", static_cast<std::int64_t>(r.publish_failures));
  o.Set("last_publish", r.last_publish ? FormatTufTime(r.last_publish) : "");
  json::Array warnings;
  for (const auto& w : r.warnings) warnings.emplace_back(w);
  o.Set("warnings", std::move(warnings));
  return o;
}

std::string Metrics(const StatusReport& r, const net::ServerMetrics& m, UnixTime now) {
  std::string out;
  auto line = [&](const std::string& name, const std::string& labels, long long v) {
    out += name + (labels.empty() ? "" : "{" + labels + "}") + " " + std::to_string(v) + "\n";
  };
  out +=
      "# HELP ferry_origin_role_version Current version of each role.\n# TYPE "
      "ferry_origin_role_version gauge\n";
  for (const auto& role : r.roles)
    line("ferry_origin_role_version", "role=\"" + role.role + "\"", role.version);
  out +=
      "# HELP ferry_origin_role_expires_seconds Seconds until each role expires (negative: "
      "expired).\n"
      "# TYPE ferry_origin_role_expires_seconds gauge\n";
  for (const auto& role : r.roles) {
    line("ferry_origin_role_expires_seconds", "role=\"" + role.role + "\"", role.expires - now);
  }
  out +=
      "# HELP ferry_origin_expiry_warnings Roles expiring within the warning window.\n# TYPE "
      "ferry_origin_expiry_warnings gauge\n";
  line("ferry_origin_expiry_warnings", "", static_cast<long long>(r.warnings.size()));
  out += "# TYPE ferry_origin_plugins gauge\n";
  line("ferry_origin_plugins", "", static_cast<long long>(r.plugins));
  out += "# TYPE ferry_origin_artifacts gauge\n";
  line("ferry_origin_artifacts", "", static_cast<long long>(r.artifacts));
  out += "# TYPE ferry_origin_blob_bytes gauge\n";
  line("ferry_origin_blob_bytes", "", static_cast<long long>(r.blob_bytes));
  out += "# TYPE ferry_origin_uploads_total counter\n";
  line("ferry_origin_uploads_total", "", static_cast<long long>(r.uploads));
  out += "# TYPE ferry_origin_publishes_total counter\n";
  line("ferry_origin_publishes_total", "", static_cast<long long>(r.publishes));
  out += "# TYPE ferry_origin_publish_failures_total counter\n";
  line("ferry_origin_publish_failures_total", "", static_cast<long long>(r.publish_failures));
  out += "# TYPE ferry_http_requests_total counter\n";
  line("ferry_http_requests_total", "", static_cast<long long>(m.requests));
  out += "# TYPE ferry_http_responses_total counter\n";
  for (int c = 1; c <= 5; ++c) {
    line("ferry_http_responses_total", "class=\"" + std::to_string(c) + "xx\"",
         static_cast<long long>(m.responses_by_class[static_cast<std::size_t>(c)]));
  }
  out += "# TYPE ferry_http_bytes_sent_total counter\n";
  line("ferry_http_bytes_sent_total", "", static_cast<long long>(m.bytes_sent));
  out += "# TYPE ferry_http_connections_open gauge\n";
  line("ferry_http_connections_open", "", static_cast<long long>(m.connections_open));
  return out;
}

}  // namespace

namespace {

// Anyone may POST a report: its head gets less room than the server's limit
// (ServerOptions::max_header_bytes), which authenticated uploads may need.
constexpr std::size_t kAnonymousHeadBytes = 4096;

Status RegisterMirrorRoutes(net::Server& server, OriginService& svc, MirrorDirector& director) {
  const std::string repo = RepoDir(svc.options().data_dir);
  // POST /api/v1/mirrors: registration with an operator token of scope "mirror".
  FERRY_TRY(server.AddRoute(
      "POST", "/api/v1/mirrors",
      [&svc, &director](net::Request& req, net::BodyReader& body) -> net::Reply {
        auto token = Authenticate(svc.catalog(), req.headers.GetOr("Authorization", ""),
                                  svc.options().clock());
        if (!token) return ErrorResponse(token.error());
        auto bytes = body.ReadAll();
        if (!bytes) return ErrorResponse(bytes.error());
        auto m = director.Register(*token, *bytes);
        if (!m) return ErrorResponse(m.error());
        json::Object o;
        o.Set("name", m->name);
        o.Set("registered", true);
        return net::Response::Json(200, json::Encode(o) + "\n");
      },
      net::RouteOptions::MaxBody(16384)));
  // GET /api/v1/mirrors: the registry with each mirror's health, for operators.
  FERRY_TRY(server.AddRoute(
      "GET", "/api/v1/mirrors", [&svc](net::Request&, net::BodyReader&) -> net::Reply {
        auto mirrors = svc.catalog().ListMirrors();
        if (!mirrors) return ErrorResponse(mirrors.error());
        json::Array list;
        for (const auto& m : *mirrors) {
          json::Object o;
          o.Set("name", m.name);
          o.Set("url", m.url);
          o.Set("region", m.region);
          o.Set("country", m.country);
          o.Set("state", m.state);
          o.Set("reason", m.state_reason);
          o.Set("timestamp_version", m.timestamp_version);
          o.Set("snapshot_version", m.snapshot_version);
          o.Set("last_probe", m.last_probe ? FormatTufTime(m.last_probe) : "");
          o.Set("last_heartbeat", m.last_heartbeat ? FormatTufTime(m.last_heartbeat) : "");
          list.emplace_back(std::move(o));
        }
        return net::Response::Json(200, json::Encode(json::Value(std::move(list)), 2) + "\n");
      }));
  // POST /api/v1/mirrors/{name}/heartbeat: a statement signed with the mirror's key.
  FERRY_TRY(server.AddRoute(
      "POST", "/api/v1/mirrors/*",
      [&director](net::Request& req, net::BodyReader& body) -> net::Reply {
        if (req.route_rest.size() != 2 || req.route_rest[1] != "heartbeat") {
          return ErrorResponse(Error(Errc::kNotFound, "use POST /api/v1/mirrors/NAME/heartbeat"));
        }
        auto bytes = body.ReadAll();
        if (!bytes) return ErrorResponse(bytes.error());
        if (Status st = director.Heartbeat(req.route_rest[0], *bytes); !st)
          return ErrorResponse(st.error());
        return net::Response::Json(200, "{\"ok\":true}\n");
      },
      net::RouteOptions::MaxBody(16384)));
  // POST /api/v1/reports: a client's bad-mirror report.
  FERRY_TRY(server.AddRoute(
      "POST", "/api/v1/reports",
      [&director](net::Request& req, net::BodyReader& body) -> net::Reply {
        auto bytes = body.ReadAll();
        if (!bytes) return ErrorResponse(bytes.error());
        if (Status st = director.Report(req.remote_address, *bytes); !st) {
          net::Response r = ErrorResponse(st.error());
          if (st.error().code() == Errc::kTooLarge) r.status = 429;
          return r;
        }
        return net::Response::Json(202, "{\"accepted\":true}\n");
      },
      net::RouteOptions::MaxBody(8192).MaxHeader(kAnonymousHeadBytes)));
  // GET /download/PATH: 302 to a healthy mirror holding the file, addressed by hash.
  FERRY_TRY(server.AddRoute(
      "GET", "/download/*", [&director, repo](net::Request& req, net::BodyReader&) -> net::Reply {
        std::string path;
        for (const auto& s : req.route_rest) path += (path.empty() ? "" : "/") + s;
        std::string region;
        if (auto q = net::ParseQuery(req.query)) {
          for (const auto& [k, v] : *q) {
            if (k == "region") region = v;
          }
        }
        auto choice = director.Choose(path, region, req.remote_address, req.tls);
        if (!choice) return ErrorResponse(choice.error());
        auto raw = HexDecode(choice->sha256);
        const std::string digest = "sha-256=:" + (raw ? Base64Encode(*raw) : "") + ":";
        if (choice->location.empty()) {
          net::Request file_req = req;
          file_req.segments.clear();
          std::string_view hp = choice->hashed_path;
          while (!hp.empty()) {
            std::size_t slash = hp.find('/');
            file_req.segments.emplace_back(hp.substr(0, slash));
            if (slash == std::string_view::npos) break;
            hp.remove_prefix(slash + 1);
          }
          net::Reply reply = net::ServeRepositoryFile(repo, file_req);
          if (auto* f = std::get_if<net::FileResponse>(&reply))
            f->headers.Set("Repr-Digest", digest);
          return reply;
        }
        net::Response r;
        r.status = 302;
        r.headers.Set("Location", choice->location);
        r.headers.Set("Repr-Digest", digest);
        r.headers.Set("Cache-Control", "no-store");
        std::string links;
        for (const auto& alt : choice->alternates) {
          links += (links.empty() ? "" : ", ") + std::string("<") + alt + ">; rel=duplicate";
        }
        if (!links.empty()) r.headers.Set("Link", links);
        return r;
      }));
  return OkStatus();
}

}  // namespace

Status RegisterRoutes(net::Server& server, OriginService& svc, MirrorDirector* director) {
  if (director != nullptr) FERRY_TRY(RegisterMirrorRoutes(server, svc, *director));
  const std::string repo = RepoDir(svc.options().data_dir);
  const std::string compressed = CompressedDir(svc.options().data_dir);
  auto files = [repo, compressed](net::Request& req, net::BodyReader&) -> net::Reply {
    return net::ServeRepositoryFile(repo, req, compressed);
  };
  FERRY_TRY(server.AddRoute("GET", "/metadata/*", files, net::RouteOptions::Inline()));
  FERRY_TRY(server.AddRoute("GET", "/targets/*", files, net::RouteOptions::Inline()));

  FERRY_TRY(
      server.AddRoute("GET", "/healthz", [&svc](net::Request&, net::BodyReader&) -> net::Reply {
        StatusReport r = svc.Report();
        for (const auto& role : r.roles) {
          // An expired plugin role (author-signed) takes one plugin down, not the origin: it
          // is a warning in /status and /metrics.
          if (role.role.rfind("plugins.", 0) == 0) continue;
          if (role.expires <= svc.options().clock()) {
            return net::Response::Text(503, "unhealthy: " + role.role + " expired\n");
          }
        }
        return net::Response::Text(200, "ok\n");
      }));
  FERRY_TRY(
      server.AddRoute("GET", "/status", [&svc](net::Request&, net::BodyReader&) -> net::Reply {
        net::Response r =
            net::Response::Json(200, json::Encode(ReportJson(svc.Report()), 2) + "\n");
        r.headers.Set("Cache-Control", "no-cache");
        return r;
      }));
  FERRY_TRY(server.AddRoute(
      "GET", "/metrics", [&svc, &server](net::Request&, net::BodyReader&) -> net::Reply {
        net::Response r = net::Response::Text(
            200, Metrics(svc.Report(), server.metrics(), svc.options().clock()));
        r.headers.Set("Content-Type", "text/plain; version=0.0.4");
        return r;
      }));

  // PUT /api/v1/plugins/{plugin}/files/{filename}: streamed upload. The token is checked and the
  // declared size compared with the limit before the body is read (and before 100 Continue).
  FERRY_TRY(server.AddRoute(
      "PUT", "/api/v1/plugins/*",
      [&svc](net::Request& req, net::BodyReader& body) -> net::Reply {
        const auto& rest = req.route_rest;
        if (rest.size() != 3 || rest[1] != "files") {
          return ErrorResponse(
              Error(Errc::kNotFound, "use PUT /api/v1/plugins/NAME/files/FILENAME"));
        }
        auto token = Authenticate(svc.catalog(), req.headers.GetOr("Authorization", ""),
                                  svc.options().clock());
        if (!token) return ErrorResponse(token.error());
        auto upload = svc.BeginUpload(*token, rest[0], rest[2], req.content_length);
        if (!upload) return ErrorResponse(upload.error());
        // Large reads: each one is a hop to the connection's I/O thread and back.
        std::vector<char> buf(256 * 1024);
        for (;;) {
          auto n = body.Read(std::span<char>(buf.data(), buf.size()));
          if (!n) return ErrorResponse(n.error());
          if (*n == 0) break;
          if (Status st = (*upload)->Write(AsBytes(std::string_view(buf.data(), *n))); !st) {
            return ErrorResponse(st.error());
          }
        }
        auto result = (*upload)->Finish();
        if (!result) return ErrorResponse(result.error());
        json::Object o;
        o.Set("path", result->path);
        o.Set("sha256", result->sha256);
        o.Set("length", result->length);
        o.Set("already_published", result->already_published);
        return net::Response::Json(result->already_published ? 200 : 201, json::Encode(o) + "\n");
      },
      net::RouteOptions::MaxBody(svc.options().max_upload_bytes)));

  // POST /api/v1/plugins/{plugin}/role: the author-signed new version of plugins.{plugin}.
  FERRY_TRY(server.AddRoute(
      "POST", "/api/v1/plugins/*",
      [&svc](net::Request& req, net::BodyReader& body) -> net::Reply {
        const auto& rest = req.route_rest;
        if (rest.size() != 2 || rest[1] != "role") {
          return ErrorResponse(Error(Errc::kNotFound, "use POST /api/v1/plugins/NAME/role"));
        }
        auto token = Authenticate(svc.catalog(), req.headers.GetOr("Authorization", ""),
                                  svc.options().clock());
        if (!token) return ErrorResponse(token.error());
        if (Status st = AuthorizePlugin(*token, rest[0]); !st) return ErrorResponse(st.error());
        auto bytes = body.ReadAll();
        if (!bytes) return ErrorResponse(bytes.error());
        auto r = svc.SubmitPluginRole(*token, rest[0], *bytes);
        if (!r) return ErrorResponse(r.error());
        json::Object o;
        json::Array published;
        for (const auto& p : r->new_targets) published.emplace_back(p);
        o.Set("published", std::move(published));
        o.Set("role_version", r->role_version);
        o.Set("snapshot_version", r->snapshot_version);
        o.Set("timestamp_version", r->timestamp_version);
        return net::Response::Json(200, json::Encode(o) + "\n");
      },
      net::RouteOptions::MaxBody(5'000'000)));
  return OkStatus();
}

}  // namespace ferry::origin
