// `ferry-origin serve`: the origin server.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "base/config.h"
#include "base/flags.h"
#include "net/server.h"
#include "origin/api.h"
#include "origin/deltas.h"
#include "origin/mirrors.h"
#include "origin/service.h"

namespace ferry::origin {

namespace {

void Log(const std::string& line) {
  std::fprintf(stderr, "%s ferry-origin: %s\n", FormatTufTime(NowUnix()).c_str(), line.c_str());
}

Result<net::ListenOptions> ParseListen(const std::string& text) {
  std::size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Error(Errc::kInvalidArgument, "http.listen must be ADDRESS:PORT, got \"" + text + "\"");
  }
  net::ListenOptions l;
  l.address = text.substr(0, colon);
  if (l.address.size() > 2 && l.address.front() == '[' && l.address.back() == ']') {
    l.address = l.address.substr(1, l.address.size() - 2);
  }
  int port = std::atoi(text.substr(colon + 1).c_str());
  if (port < 0 || port > 65535) return Error(Errc::kInvalidArgument, "bad port in " + text);
  l.port = static_cast<std::uint16_t>(port);
  return l;
}

}  // namespace

// Declared in main.cc's scope; defined here to keep the HTTP stack out of the admin commands.
Result<ServiceOptions> LoadServeOptions(int argc, char** argv, Config* config, bool* help);

int Serve(int argc, char** argv) {
  net::HoldStopSignals();  // before any thread: a stop during start-up is still a clean stop
  Config config;
  bool help = false;
  auto options = LoadServeOptions(argc, argv, &config, &help);
  if (help) return 0;
  if (!options) {
    std::fprintf(stderr, "ferry-origin: %s\n", options.error().ToString().c_str());
    return 1;
  }
  auto svc = OriginService::Open(*options);
  if (!svc) {
    std::fprintf(stderr, "ferry-origin: %s\n", svc.error().ToString().c_str());
    return 1;
  }
  net::ServerOptions so;
  auto listen = ParseListen(*config.GetString("http.listen", "127.0.0.1:8080"));
  if (!listen) {
    std::fprintf(stderr, "ferry-origin: %s\n", listen.error().ToString().c_str());
    return 1;
  }
  listen->tls_cert_file = *config.GetString("http.tls_cert", "");
  listen->tls_key_file = *config.GetString("http.tls_key", "");
  so.listen = {*listen};
  so.io_threads = static_cast<int>(*config.GetInt("http.io_threads", 2));
  so.worker_threads = static_cast<int>(*config.GetInt("http.worker_threads", 4));
  so.access_log = [](const net::AccessLogEntry& e) {
    std::fprintf(stderr, "%s\n", net::FormatAccessLog(e).c_str());
  };
  so.error_log = [](const std::string& m) { Log(m); };
  DirectorOptions dopts;
  dopts.stale_after_seconds = *config.GetDurationSeconds("mirrors.stale_after", 3600);
  dopts.probe_samples = static_cast<int>(*config.GetInt("mirrors.probe_samples", 3));
  dopts.public_url = *config.GetString("http.public_url", "");
  for (const std::string region : {"af", "an", "as", "eu", "na", "oc", "sa"}) {
    auto prefixes = config.GetList("regions." + region);
    if (prefixes && !prefixes->empty()) dopts.region_prefixes[region] = *prefixes;
  }
  MirrorDirector director(**svc, dopts);
  const std::int64_t probe_every = *config.GetDurationSeconds("mirrors.probe_every", 300);
  net::Server server(so);
  if (Status st = RegisterRoutes(server, **svc, &director); !st) {
    std::fprintf(stderr, "ferry-origin: %s\n", st.error().ToString().c_str());
    return 1;
  }
  if (Status st = server.Start(); !st) {
    std::fprintf(stderr, "ferry-origin: %s\n", st.error().ToString().c_str());
    return 1;
  }
  Log("serving " + options->data_dir + " on " + listen->address + ":" + std::to_string(server.port()) +
      (listen->tls() ? " (TLS)" : ""));
  // Port file for scripts that start the server on an ephemeral port.
  std::printf("listening on %s:%u\n", listen->address.c_str(), static_cast<unsigned>(server.port()));
  std::fflush(stdout);

  // The schedule: re-sign what is due, collect garbage, report expiry warnings.
  const std::int64_t gc_every = *config.GetDurationSeconds("publish.gc_every", 3600);
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::thread scheduler([&] {
    UnixTime last_gc = 0;
    std::size_t last_warnings = 0;
    std::unique_lock lock(mu);
    while (!stopping) {
      lock.unlock();
      auto resigned = (*svc)->ResignIfDue();
      if (!resigned) {
        Log("re-sign failed: " + resigned.error().ToString());
      } else if (*resigned) {
        Log("re-signed timestamp (snapshot and mirror list when due)");
      }
      const UnixTime now = options->clock();
      if (now - last_gc >= gc_every) {
        last_gc = now;
        auto gc = (*svc)->CollectGarbage();
        if (!gc) Log("gc failed: " + gc.error().ToString());
      }
      StatusReport report = (*svc)->Report();
      if (report.warnings.size() != last_warnings) {
        for (const auto& w : report.warnings) Log("WARNING: " + w);
        last_warnings = report.warnings.size();
      }
      lock.lock();
      cv.wait_for(lock, std::chrono::seconds(30), [&] { return stopping; });
    }
  });
  // The mirror network: probes (all mirrors every probe_every, reported ones within seconds)
  // and push notices after every publish.
  bool published = false, deltas_due = true;
  (*svc)->SetPublishListener([&] {
    {
      std::lock_guard lock(mu);
      published = true;
      deltas_due = true;
    }
    cv.notify_all();
  });
  // Patches between versions, built off the request path after each publish.
  DeltaOptions delta_options;
  delta_options.keep_versions = static_cast<int>(*config.GetInt("deltas.keep_versions", 3));
  const bool deltas_enabled = *config.GetBool("deltas.enabled", true);
  const bool compressed_copies = *config.GetBool("deltas.compressed_copies", true);
  std::thread delta_thread([&] {
    DeltaBuilder builder(**svc, delta_options);
    std::unique_lock lock(mu);
    while (!stopping) {
      cv.wait(lock, [&] { return stopping || deltas_due; });
      if (stopping) break;
      deltas_due = false;
      lock.unlock();
      if (deltas_enabled) {
        auto stats = builder.BuildPending();
        if (!stats) {
          Log("building patches failed: " + stats.error().ToString());
        } else if (stats->built > 0) {
          Log("published " + std::to_string(stats->built) + " patches (" +
              std::to_string(stats->patch_bytes) + " bytes for " +
              std::to_string(stats->target_bytes) + " bytes of files)");
        }
      }
      if (compressed_copies) {
        auto stats = builder.CompressPending(CompressedDir(options->data_dir));
        if (!stats) {
          Log("writing compressed copies failed: " + stats.error().ToString());
        } else if (stats->written > 0 || stats->removed > 0) {
          Log("compressed copies: " + std::to_string(stats->written) + " written (" +
              std::to_string(stats->compressed_bytes) + " bytes for " +
              std::to_string(stats->file_bytes) + " bytes of files), " +
              std::to_string(stats->not_worth) + " not worth it, " +
              std::to_string(stats->removed) + " removed");
        }
      }
      lock.lock();
    }
  });
  std::thread director_thread([&] {
    auto http = net::HttpClient::Create();
    if (!http) {
      Log("mirror director disabled: " + http.error().ToString());
      return;
    }
    UnixTime last_full = 0;
    std::unique_lock lock(mu);
    while (!stopping) {
      const bool push = std::exchange(published, false);
      lock.unlock();
      if (push) {
        director.PushNotices(*http);
        director.ProbeSoon();  // the next round (within seconds) sees who holds the new files
      }
      const UnixTime now = options->clock();
      const bool full = now - last_full >= probe_every;
      if (full) last_full = now;
      if (Status st = director.Probe(*http, full); !st) Log("mirror probe failed: " + st.error().ToString());
      lock.lock();
      cv.wait_for(lock, std::chrono::seconds(5), [&] { return stopping || published; });
    }
  });
  server.RunUntilSignal();
  {
    std::lock_guard lock(mu);
    stopping = true;
  }
  cv.notify_all();
  scheduler.join();
  director_thread.join();
  delta_thread.join();
  Log("stopped");
  return 0;
}

}  // namespace ferry::origin
