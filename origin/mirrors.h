// The origin as mirror director (docs/mirror-protocol.md): the mirror registry, signed
// heartbeats, client reports, the health prober, the signed mirror list (mirrors.json), push
// notices, and the choice behind the /download redirector.
//
// Health, per mirror:
//   healthy      its timestamp verifies under the repository's root, it is at most
//                stale_after_seconds behind the origin's, and sampled files hash correctly
//   stale        verifies, but lags (or a sampled file it should hold is missing)
//   unreachable  its timestamp could not be fetched
//   quarantined  it served bytes that do not verify (a bad signature or a wrong file); it stays
//                out until a full re-check of every file it should hold passes
//   disabled     an administrator took it out (`ferry-origin mirror disable`); never probed,
//                kept across re-registration; `mirror enable` makes it quarantined, so it
//                returns only after a full re-check
// Only healthy mirrors are listed in mirrors.json and receive redirects.
//
// Thread safety: all methods may be called concurrently.
#ifndef FERRY_ORIGIN_MIRRORS_H_
#define FERRY_ORIGIN_MIRRORS_H_

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/result.h"
#include "net/http_client.h"
#include "origin/catalog.h"
#include "origin/service.h"

namespace ferry::origin {

struct DirectorOptions {
  std::int64_t stale_after_seconds = 3600;  // timestamp signed this much before the origin's
  int probe_samples = 3;                    // random files hash-checked per probe
  std::chrono::milliseconds probe_timeout{std::chrono::seconds(10)};
  // Client address prefixes per region ("eu" -> {"10.1.", "192.168.1."}), for the redirector
  // when the client gives no ?region= hint.
  std::map<std::string, std::vector<std::string>> region_prefixes;
  int reports_per_minute_per_client = 10;
};

struct Redirect {
  std::string location;                 // empty: serve from the origin itself
  std::vector<std::string> alternates;  // up to 5 other mirrors' URLs (Link: rel=duplicate)
  std::string sha256;                   // of the file (Repr-Digest)
  std::string hashed_path;              // "targets/DIR/SHA256.NAME"
};

class MirrorDirector {
 public:
  MirrorDirector(OriginService& svc, DirectorOptions options);

  // POST /api/v1/mirrors. kForbidden without the mirror scope; kInvalidArgument for bad fields.
  Result<MirrorRecord> Register(const TokenRecord& token, const std::string& body);
  // POST /api/v1/mirrors/{name}/heartbeat: kUnauthenticated unless signed by the mirror's key
  // and sent within 10 minutes of now.
  Status Heartbeat(const std::string& name, const std::string& body);
  // POST /api/v1/reports: rate-limited per client (kTooLarge past the limit); the named mirror
  // is probed at the next ProbeReported.
  Status Report(const std::string& client, const std::string& body);

  // Probes every registered mirror (all: true) or only the reported ones, updates their states,
  // and re-publishes mirrors.json when the healthy set changed.
  Status Probe(net::HttpClient& http, bool all = true);

  // The redirect for target `path`, or kNotFound for unknown paths. `https_only` (the request
  // came over TLS) leaves out http:// mirrors, so a redirect never downgrades the connection.
  // The registry is read from the catalog at most once a second (and at once after this
  // director registered or probed a mirror): a redirect costs one catalog lookup, the file's.
  Result<Redirect> Choose(const std::string& path, const std::string& region_hint,
                          const std::string& client_address, bool https_only = false);

  // POSTs the current timestamp to every mirror with a push URL, in parallel (at most 16 at
  // a time), each with 3 tries of at most 5 s. Returns when all are done.
  void PushNotices();
  // Marks every mirror for the next Probe(all = false): after a publish, so the redirector
  // learns soon which mirrors hold the new files.
  void ProbeSoon();

  // The mirrors.json document for the given mirrors (healthy ones, sorted by name).
  static std::string MirrorsJson(const std::vector<MirrorRecord>& healthy, UnixTime now);

 private:
  struct ProbeOutcome {
    std::string state, reason;
    std::int64_t timestamp_version = 0, snapshot_version = 0;
  };
  ProbeOutcome ProbeMirror(net::HttpClient& http, const MirrorRecord& mirror,
                           const tuf::Metadata<tuf::Timestamp>& origin_ts, const tuf::Root& root,
                           const std::vector<ArtifactRecord>& artifacts);
  Status PublishMirrorList();
  std::string RegionFor(const std::string& hint, const std::string& client) const;
  // The healthy mirrors, cached for Choose (see there).
  Result<std::shared_ptr<const std::vector<MirrorRecord>>> HealthyMirrors();
  void ForgetHealthyMirrors();

  OriginService& svc_;
  DirectorOptions options_;
  std::mutex mu_;
  std::set<std::string> reported_;                             // guarded by mu_
  std::map<std::string, std::vector<UnixTime>> report_times_;  // per client, guarded by mu_
  std::mutex push_mu_;  // one PushNotices at a time
  // Kept between pushes (loading the CA store for a new client costs tens of milliseconds, and
  // kept-alive connections skip the handshake). Guarded by push_mu_.
  std::vector<std::unique_ptr<net::HttpClient>> push_clients_;
  std::mutex healthy_mu_;
  std::shared_ptr<const std::vector<MirrorRecord>> healthy_;  // guarded by healthy_mu_
  std::chrono::steady_clock::time_point healthy_read_at_;     // guarded by healthy_mu_
};

}  // namespace ferry::origin

#endif  // FERRY_ORIGIN_MIRRORS_H_
