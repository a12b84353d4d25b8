// `ferry-origin serve`: the origin server.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

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

namespace {

struct ServeSettings {
  std::string listen, tls_cert, tls_key;
  int io_threads = 2, worker_threads = 4;
  std::int64_t stale_after = 3600, probe_every = 300, gc_every = 3600;
  int probe_samples = 3, keep_versions = 3;
  bool deltas_enabled = true, compressed_copies = true;
  std::chrono::seconds notify_wait{30};
  std::map<std::string, std::vector<std::string>> region_prefixes;
};

Result<int> IntIn(const Config& config, const std::string& key, std::int64_t fallback,
                  std::int64_t lo, std::int64_t hi) {
  FERRY_ASSIGN_OR_RETURN(std::int64_t v, config.GetInt(key, fallback));
  if (v < lo || v > hi) {
    return Error(Errc::kInvalidArgument, key + " must be between " + std::to_string(lo) + " and " +
                                             std::to_string(hi) + ", got " + std::to_string(v));
  }
  return static_cast<int>(v);
}

Result<ServeSettings> LoadServeSettings(const Config& config) {
  ServeSettings s;
  FERRY_ASSIGN_OR_RETURN(s.listen, config.GetString("http.listen", "127.0.0.1:8080"));
  FERRY_ASSIGN_OR_RETURN(s.tls_cert, config.GetString("http.tls_cert", ""));
  FERRY_ASSIGN_OR_RETURN(s.tls_key, config.GetString("http.tls_key", ""));
  FERRY_ASSIGN_OR_RETURN(s.io_threads, IntIn(config, "http.io_threads", 2, 1, 64));
  FERRY_ASSIGN_OR_RETURN(s.worker_threads, IntIn(config, "http.worker_threads", 4, 1, 256));
  FERRY_ASSIGN_OR_RETURN(s.stale_after, config.GetDurationSeconds("mirrors.stale_after", 3600));
  FERRY_ASSIGN_OR_RETURN(s.probe_every, config.GetDurationSeconds("mirrors.probe_every", 300));
  FERRY_ASSIGN_OR_RETURN(s.probe_samples, IntIn(config, "mirrors.probe_samples", 3, 0, 100));
  FERRY_ASSIGN_OR_RETURN(s.gc_every, config.GetDurationSeconds("publish.gc_every", 3600));
  FERRY_ASSIGN_OR_RETURN(s.keep_versions, IntIn(config, "deltas.keep_versions", 3, 0, 100));
  FERRY_ASSIGN_OR_RETURN(s.deltas_enabled, config.GetBool("deltas.enabled", true));
  FERRY_ASSIGN_OR_RETURN(s.compressed_copies, config.GetBool("deltas.compressed_copies", true));
  FERRY_ASSIGN_OR_RETURN(std::int64_t wait, config.GetDurationSeconds("deltas.notify_wait", 30));
  if (wait < 0) return Error(Errc::kInvalidArgument, "deltas.notify_wait must not be negative");
  s.notify_wait = std::chrono::seconds(wait);
  if (s.probe_every <= 0 || s.gc_every <= 0 || s.stale_after <= 0) {
    return Error(Errc::kInvalidArgument,
                 "mirrors.probe_every, mirrors.stale_after and publish.gc_every must be positive");
  }
  if (s.tls_cert.empty() != s.tls_key.empty()) {
    return Error(Errc::kInvalidArgument, "set both http.tls_cert and http.tls_key, or neither");
  }
  for (const std::string region : {"af", "an", "as", "eu", "na", "oc", "sa"}) {
    FERRY_ASSIGN_OR_RETURN(auto prefixes, config.GetList("regions." + region));
    if (!prefixes.empty()) s.region_prefixes[region] = std::move(prefixes);
  }
  return s;
}

}  // namespace

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
  // Every setting is read and checked before anything starts: a malformed value is a clear
  // error naming the key, never a crash halfway through start-up.
  auto settings = LoadServeSettings(config);
  if (!settings) {
    std::fprintf(stderr, "ferry-origin: %s\n", settings.error().ToString().c_str());
    return 1;
  }
  net::ServerOptions so;
  auto listen = ParseListen(settings->listen);
  if (!listen) {
    std::fprintf(stderr, "ferry-origin: %s\n", listen.error().ToString().c_str());
    return 1;
  }
  listen->tls_cert_file = settings->tls_cert;
  listen->tls_key_file = settings->tls_key;
  so.listen = {*listen};
  so.io_threads = settings->io_threads;
  so.worker_threads = settings->worker_threads;
  so.access_log = [](const net::AccessLogEntry& e) {
    std::fprintf(stderr, "%s\n", net::FormatAccessLog(e).c_str());
  };
  so.error_log = [](const std::string& m) { Log(m); };
  DirectorOptions dopts;
  dopts.stale_after_seconds = settings->stale_after;
  dopts.probe_samples = settings->probe_samples;
  dopts.region_prefixes = settings->region_prefixes;
  MirrorDirector director(**svc, dopts);
  const std::int64_t probe_every = settings->probe_every;
  net::Server server(so);
  if (Status st = RegisterRoutes(server, **svc, &director); !st) {
    std::fprintf(stderr, "ferry-origin: %s\n", st.error().ToString().c_str());
    return 1;
  }
  if (Status st = server.Start(); !st) {
    std::fprintf(stderr, "ferry-origin: %s\n", st.error().ToString().c_str());
    return 1;
  }
  Log("serving " + options->data_dir + " on " + listen->address + ":" +
      std::to_string(server.port()) + (listen->tls() ? " (TLS)" : ""));
  // Port file for scripts that start the server on an ephemeral port.
  std::printf("listening on %s:%u\n", listen->address.c_str(),
              static_cast<unsigned>(server.port()));
  std::fflush(stdout);

  // The schedule: re-sign what is due, collect garbage, report expiry warnings.
  const std::int64_t gc_every = settings->gc_every;
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
  //
  // Push notices wait for the patches and compressed copies of what was just published (at
  // most deltas.notify_wait after the publish): a mirror notified at once would download the
  // new file whole a moment before the patch that spares it that appears. The builder's own
  // publish (the patches) is part of the same push.
  using SteadyClock = std::chrono::steady_clock;
  const bool transfers_enabled = settings->deltas_enabled || settings->compressed_copies;
  bool published = false, deltas_due = true, transfers_busy = false;
  std::optional<SteadyClock::time_point> push_deadline;
  (*svc)->SetPublishListener([&] {
    {
      std::lock_guard lock(mu);
      published = true;
      deltas_due = true;
      if (!push_deadline) push_deadline = SteadyClock::now() + settings->notify_wait;
    }
    cv.notify_all();
  });
  auto push_ready = [&] {  // with mu held
    return published && (!transfers_enabled || (!deltas_due && !transfers_busy) ||
                         SteadyClock::now() >= *push_deadline);
  };
  // Patches between versions, built off the request path after each publish.
  DeltaOptions delta_options;
  delta_options.keep_versions = settings->keep_versions;
  const bool deltas_enabled = settings->deltas_enabled;
  const bool compressed_copies = settings->compressed_copies;
  std::thread delta_thread([&] {
    DeltaBuilder builder(**svc, delta_options);
    std::unique_lock lock(mu);
    while (!stopping) {
      cv.wait(lock, [&] { return stopping || deltas_due; });
      if (stopping) break;
      deltas_due = false;
      transfers_busy = true;
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
      transfers_busy = false;
      cv.notify_all();
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
      const bool push = push_ready();
      if (push) {
        published = false;
        push_deadline.reset();
      }
      lock.unlock();
      if (push) {
        director.PushNotices();
        director.ProbeSoon();  // the next round (within seconds) sees who holds the new files
      }
      const UnixTime now = options->clock();
      const bool full = now - last_full >= probe_every;
      if (full) last_full = now;
      if (Status st = director.Probe(*http, full); !st)
        Log("mirror probe failed: " + st.error().ToString());
      lock.lock();
      auto wake = SteadyClock::now() + std::chrono::seconds(5);
      if (published && push_deadline && *push_deadline < wake) wake = *push_deadline;
      cv.wait_until(lock, wake, [&] { return stopping || push_ready(); });
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
