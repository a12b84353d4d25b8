// ferry-mirror: a volunteer mirror of a Ferry repository (docs/operations-mirror.md).
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <string>

#include <signal.h>
#include <unistd.h>

#include "base/flags.h"
#include "base/fs.h"
#include "mirror/api.h"
#include "mirror/config.h"
#include "mirror/service.h"
#include "mirror/verify.h"
#include "net/server.h"

namespace ferry::mirror {
namespace {

int Fail(const Error& e) {
  std::fprintf(stderr, "ferry-mirror: %s\n", e.ToString().c_str());
  return 1;
}

// Parses argv[2..]; returns -1 when --help was handled, 2 on a usage error, 0 to go on.
int ParseFlags(Flags& f, int argc, char** argv) {
  if (Status st = f.Parse(argc, argv, 2); !st) {
    std::fprintf(stderr, "ferry-mirror: %s\n%s", st.error().message().c_str(), f.Usage().c_str());
    return 2;
  }
  if (f.help()) {
    std::printf("%s", f.Usage().c_str());
    return -1;
  }
  return 0;
}

// FERRY_MIRROR_FAULT=STEP[:N] (tests only): SIGKILL this process the Nth time (default 1st) a
// sync reaches STEP (a SyncStepName: planned, fetch_target, stage1_done, link_target,
// write_metadata, write_timestamp, published).
std::function<Status(SyncStep, std::string_view)> FaultHookFromEnv() {
  const char* spec = std::getenv("FERRY_MIRROR_FAULT");
  if (spec == nullptr || *spec == '\0') return nullptr;
  std::string s(spec);
  long n = 1;
  if (auto colon = s.find(':'); colon != std::string::npos) {
    n = std::atol(s.c_str() + colon + 1);
    s.resize(colon);
  }
  auto count = std::make_shared<std::atomic<long>>(0);
  return [s, n, count](SyncStep step, std::string_view) -> Status {
    if (SyncStepName(step) == s && ++*count == n) {
      std::fprintf(stderr, "ferry-mirror: FERRY_MIRROR_FAULT: killing myself at %s\n", s.c_str());
      ::kill(::getpid(), SIGKILL);
    }
    return OkStatus();
  };
}

Result<std::unique_ptr<MirrorService>> OpenService(const Flags& f, bool identity) {
  FERRY_ASSIGN_OR_RETURN(std::string path, f.Require("config"));
  FERRY_ASSIGN_OR_RETURN(MirrorConfig config, LoadMirrorConfig(path));
  ServiceOptions so;
  so.config = std::move(config);
  so.fault_hook = FaultHookFromEnv();
  so.load_identity = identity;
  return MirrorService::Open(std::move(so));
}

int CmdServe(int argc, char** argv) {
  Flags f("ferry-mirror serve",
          "Run the mirror: serve the repository, sync on notices and every "
          "poll interval, register and send heartbeats to the origin when configured.");
  f.Option("config", "FILE", "configuration file (conf/mirror.example.conf documents every key)");
  if (int rc = ParseFlags(f, argc, argv); rc != 0) return rc < 0 ? 0 : rc;
  net::HoldStopSignals();  // before any thread: a stop during start-up is still a clean stop
  auto svc = OpenService(f, /*identity=*/true);
  if (!svc) return Fail(svc.error());
  const MirrorConfig& c = (*svc)->config();
  net::ServerOptions so;
  so.file_bytes_per_second = c.serve_rate;
  so.listen.clear();
  std::vector<std::string> labels;
  if (!c.listen.empty()) {
    net::ListenOptions l;
    if (Status st = ParseListenAddress(c.listen, &l.address, &l.port); !st) return Fail(st.error());
    so.listen.push_back(l);
    labels.push_back("");
  }
  if (!c.tls_listen.empty()) {
    net::ListenOptions l;
    if (Status st = ParseListenAddress(c.tls_listen, &l.address, &l.port); !st)
      return Fail(st.error());
    l.tls_cert_file = c.tls_cert;
    l.tls_key_file = c.tls_key;
    so.listen.push_back(l);
    labels.push_back("https ");
  }
  so.io_threads = c.io_threads;
  so.worker_threads = c.worker_threads;
  so.server_name = "ferry-mirror";
  so.access_log = [](const net::AccessLogEntry& e) {
    std::fprintf(stderr, "%s\n", net::FormatAccessLog(e).c_str());
  };
  MirrorService* service = svc->get();
  so.error_log = [service](const std::string& m) { service->Log(m); };
  net::Server server(so);
  if (Status st = RegisterRoutes(server, *service); !st) return Fail(st.error());
  if (Status st = server.Start(); !st) return Fail(st.error());
  service->SetBytesServedSource([&server] { return server.metrics().bytes_sent; });
  for (std::size_t i = 0; i < so.listen.size(); ++i) {
    service->Log("serving " + service->paths().repo() + " on " + labels[i] + so.listen[i].address +
                 ":" + std::to_string(server.port(i)));
    // For scripts and tests that start the mirror on an ephemeral port.
    std::printf("listening on %s%s:%u\n", labels[i].c_str(), so.listen[i].address.c_str(),
                static_cast<unsigned>(server.port(i)));
  }
  std::fflush(stdout);
  service->Start();
  server.RunUntilSignal();  // SIGHUP reloads the TLS certificate and key
  if (!service->Stop(std::chrono::seconds(10))) {
    // A download stalled on a silent upstream; the served state does not depend on it.
    service->Log("stopped (a sync was still waiting for its upstream; abandoned)");
    std::fflush(stderr);
    std::_Exit(0);
  }
  service->Log("stopped");
  return 0;
}

int CmdSync(int argc, char** argv) {
  Flags f("ferry-mirror sync",
          "Sync once from the upstream, then exit (for cron and tests). "
          "Exit 0 when the mirror is up to date, 1 when the sync failed (the previous state is "
          "still served).");
  f.Option("config", "FILE", "configuration file");
  f.Bool("full",
         "check every file of the current state even if the upstream has nothing new "
         "(re-links missing files)");
  if (int rc = ParseFlags(f, argc, argv); rc != 0) return rc < 0 ? 0 : rc;
  auto svc = OpenService(f, /*identity=*/false);
  if (!svc) return Fail(svc.error());
  SyncReport r = (*svc)->SyncNow(f.IsSet("full"));
  if (!r.status) return Fail(r.status.error());
  std::printf("%s\n", r.Summary().c_str());
  return 0;
}

int CmdStatus(int argc, char** argv) {
  Flags f("ferry-mirror status",
          "Show what the mirror holds and how its syncs went. Exit 0 when "
          "healthy, 3 when stale (as /healthz answers 503).");
  f.Option("config", "FILE", "configuration file");
  f.Bool("json", "print the JSON of /status?format=json");
  if (int rc = ParseFlags(f, argc, argv); rc != 0) return rc < 0 ? 0 : rc;
  auto svc = OpenService(f, /*identity=*/false);
  if (!svc) return Fail(svc.error());
  StatusReport r = (*svc)->Report();
  if (f.IsSet("json")) {
    std::printf("%s", StatusJson(r).c_str());
    return r.stale ? 3 : 0;
  }
  std::printf("mirror      %s (upstream %s)\n", r.name.empty() ? "(private)" : r.name.c_str(),
              r.upstream.c_str());
  if (r.held) {
    std::printf("held        timestamp v%lld (expires %s), snapshot v%lld, root v%lld\n",
                static_cast<long long>(r.held->timestamp_version),
                FormatTufTime(r.held->timestamp_expires).c_str(),
                static_cast<long long>(r.held->snapshot_version),
                static_cast<long long>(r.held->root_version));
  } else {
    std::printf("held        nothing yet\n");
  }
  std::printf("last sync   %s%s%s\n",
              r.state.last_result.empty() ? "never" : r.state.last_result.c_str(),
              r.state.last_attempt ? (" at " + FormatTufTime(r.state.last_attempt)).c_str() : "",
              r.state.last_error.empty() ? "" : (": " + r.state.last_error).c_str());
  std::printf("upstream    timestamp v%lld seen, %lld versions behind\n",
              static_cast<long long>(r.upstream_seen_version),
              static_cast<long long>(r.versions_behind));
  std::printf("disk        %llu bytes%s\n", static_cast<unsigned long long>(r.disk_used),
              r.disk_quota ? (" of " + std::to_string(r.disk_quota)).c_str() : "");
  std::printf("health      %s\n", r.stale ? ("STALE: " + r.stale_reason).c_str() : "ok");
  return r.stale ? 3 : 0;
}

int CmdVerify(int argc, char** argv) {
  Flags f("ferry-mirror verify",
          "Crawl a served repository from its timestamp: verify every "
          "metadata file from the pinned root, and fetch and hash every target under every "
          "listed hash. Exit 0 when complete and correct, 1 otherwise.");
  f.Option("config", "FILE", "check this mirror's data directory (with its pinned root)");
  f.Option("url", "URL", "check a repository served over HTTP(S) instead");
  f.Option("root", "ROOT.json", "the root to start from (with --url)");
  f.Option("ca-file", "PEM", "extra CA certificates (with --url)");
  if (int rc = ParseFlags(f, argc, argv); rc != 0) return rc < 0 ? 0 : rc;
  std::unique_ptr<Upstream> source;
  std::string root_path;
  if (auto url = f.Get("url")) {
    auto root = f.Require("root");
    if (!root) return Fail(root.error());
    root_path = *root;
    HttpUpstreamOptions uo;
    uo.base_url = *url;
    uo.ca_file = f.Get("ca-file").value_or("");
    auto up = HttpUpstream::Create(uo);
    if (!up) return Fail(up.error());
    source = std::move(*up);
  } else {
    auto path = f.Require("config");
    if (!path)
      return Fail(
          Error(Errc::kInvalidArgument, "give --config FILE or --url URL --root ROOT.json"));
    auto config = LoadMirrorConfig(*path);
    if (!config) return Fail(config.error());
    root_path = config->root_file;
    source = std::make_unique<DirUpstream>(MirrorPaths{config->data_dir}.repo());
  }
  auto root = ReadFile(root_path, {.max_size = 512000});
  if (!root) return Fail(root.error());
  auto report = CrawlRepository(*source, *root, NowUnix());
  if (!report) return Fail(report.error());
  for (const auto& w : report->warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  for (const auto& p : report->problems) std::printf("PROBLEM %s\n", p.c_str());
  std::printf(
      "%s: timestamp v%lld, snapshot v%lld, root v%lld: %zu metadata files, %zu targets "
      "(%zu files, %llu bytes) checked, %zu problems\n",
      report->ok() ? "OK" : "FAILED", static_cast<long long>(report->timestamp_version),
      static_cast<long long>(report->snapshot_version),
      static_cast<long long>(report->root_version), report->metadata_files, report->targets,
      report->target_files, static_cast<unsigned long long>(report->target_bytes),
      report->problems.size());
  return report->ok() ? 0 : 1;
}

void Usage() {
  std::printf(
      "usage: ferry-mirror COMMAND --config FILE   (ferry-mirror COMMAND --help for details)\n\n"
      "commands:\n"
      "  serve    run the mirror (HTTP server, scheduled and notified syncs, heartbeats)\n"
      "  sync     sync once and exit\n"
      "  status   what the mirror holds, its last sync and its health\n"
      "  verify   crawl a served repository and check every file\n");
}

}  // namespace

int Main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    Usage();
    return argc < 2 ? 2 : 0;
  }
  using Command = int (*)(int, char**);
  static const std::map<std::string, Command> kCommands = {
      {"serve", CmdServe}, {"sync", CmdSync}, {"status", CmdStatus}, {"verify", CmdVerify}};
  auto it = kCommands.find(argv[1]);
  if (it == kCommands.end()) {
    std::fprintf(stderr, "ferry-mirror: unknown command %s\n", argv[1]);
    Usage();
    return 2;
  }
  return it->second(argc, argv);
}

}  // namespace ferry::mirror

int main(int argc, char** argv) { return ferry::mirror::Main(argc, argv); }
