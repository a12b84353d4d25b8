// ferry-mirror's configuration: conf/mirror.example.conf documents every key with its default.
//
// Thread safety: plain values.
#ifndef FERRY_MIRROR_CONFIG_H_
#define FERRY_MIRROR_CONFIG_H_

#include <cstdint>
#include <set>
#include <string>

#include "base/config.h"
#include "base/result.h"

namespace ferry::mirror {

struct MirrorConfig {
  std::string data_dir = "/var/lib/ferry-mirror";

  // [mirror]: who this mirror is (sent at registration, shown on the status page).
  std::string name;     // 1-64 of [a-z0-9.-]; required for registration
  std::string region;   // e.g. "eu"
  std::string country;  // ISO 3166 alpha-2, e.g. "DE"
  std::string contact;  // e.g. "ops@example.de"
  std::int64_t capacity_mbps = 0;

  // [upstream]
  std::string upstream_url;  // origin or another mirror (required)
  std::string root_file;     // the pinned root.json (required)
  std::string ca_file;       // extra CA certificates for the upstream and the origin
  bool subscribe = false;    // ask an upstream mirror to forward push notices here

  // [http]
  std::string listen = "127.0.0.1:8080";  // plain HTTP; empty to disable
  std::string public_url;                 // how clients reach this mirror
  int io_threads = 2;
  int worker_threads = 4;
  // [https]: a second listener with TLS (certificate and key reloaded on SIGHUP).
  std::string tls_listen;
  std::string tls_cert;
  std::string tls_key;

  // [sync]
  std::int64_t poll_interval_seconds = 300;
  std::int64_t min_interval_seconds = 5;  // between sync starts caused by notices
  int parallel_fetches = 4;
  std::int64_t retention_seconds = 86400;
  std::int64_t gc_every_seconds = 3600;
  std::int64_t gc_grace_seconds = 86400;
  std::int64_t stale_after_seconds = 1800;  // /healthz answers 503 beyond this

  // [limits]
  std::uint64_t download_rate = 0;  // bytes/s for the mirror's own downloads; 0: unlimited
  std::uint64_t serve_rate = 0;     // bytes/s of file bodies served to clients; 0: unlimited
  std::uint64_t disk_quota = 0;     // bytes of target blobs; 0: unlimited

  // [origin]: registration and heartbeats (a private mirror leaves url empty).
  std::string origin_url;
  std::string token_file;
  std::int64_t heartbeat_interval_seconds = 300;

  // [notify]
  std::int64_t max_subscribers = 100;
  std::int64_t subscription_ttl_seconds = 86400;

  // The URL where this mirror receives notices: public_url + "/api/v1/notify" (empty without a
  // public_url).
  std::string NotifyUrl() const;
};

// Every key LoadMirrorConfig understands ("section.key").
const std::set<std::string>& MirrorConfigKeys();

// Parses a loaded Config: unknown keys, malformed values and missing required keys
// (upstream.url, upstream.root) are kInvalidArgument naming the key.
Result<MirrorConfig> ParseMirrorConfig(const Config& config);
Result<MirrorConfig> LoadMirrorConfig(const std::string& path);

// "ADDRESS:PORT" ("[::1]:8080" for IPv6) -> address and port. kInvalidArgument otherwise.
Status ParseListenAddress(const std::string& text, std::string* address, std::uint16_t* port);

}  // namespace ferry::mirror

#endif  // FERRY_MIRROR_CONFIG_H_
