// Where a mirror reads the repository from: its upstream (the origin or another mirror), as a
// base URL under which metadata/ and targets/ are served. Every read is bounded in bytes (the
// signed length, or the reference clients' caps for metadata without one) and in time
// (net::FetchTimeouts), and goes through a shared RateLimiter when the operator set a bandwidth
// cap.
//
//   FERRY_ASSIGN_OR_RETURN(auto up, HttpUpstream::Create({.base_url = "https://origin.example"}));
//   std::string body;
//   FERRY_ASSIGN_OR_RETURN(UpstreamResponse r, up->Get("metadata/timestamp.json", 16384,
//       [&](ByteSpan chunk) { body.append(AsChars(chunk)); return OkStatus(); }));
//   if (r.status != 200) ...
//
// Thread safety: Upstream::Get may be called from several threads at once (HttpUpstream keeps
// one HTTP client per concurrent call). RateLimiter is thread safe.
#ifndef FERRY_MIRROR_UPSTREAM_H_
#define FERRY_MIRROR_UPSTREAM_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/rate_limiter.h"
#include "base/result.h"
#include "net/http_client.h"

namespace ferry::mirror {

// Receives a response body in order; an error aborts the read with that error.
using ChunkSink = std::function<Status(ByteSpan chunk)>;

struct UpstreamResponse {
  int status = 0;           // HTTP status; the body reached the sink only for 200
  std::uint64_t bytes = 0;  // body bytes delivered to the sink
  // Body bytes that crossed the network: `bytes`, or fewer for a compressed transfer.
  std::uint64_t wire_bytes = 0;
  bool compressed = false;  // the upstream sent `Content-Encoding: zstd` (decoded here)
};

class Upstream {
 public:
  virtual ~Upstream() = default;
  // GETs `rel_path` ("metadata/3.snapshot.json", "targets/a/HASH.b.tgz": already URL-encoded)
  // under the upstream's base. Any HTTP status is a result; the body of a non-200 answer is read
  // (bounded) and dropped. Errors: kTooLarge (body longer than max_length; no byte beyond it
  // reaches the sink), kTimeout, kIoError (connection failed), or the sink's error.
  virtual Result<UpstreamResponse> Get(std::string_view rel_path, std::uint64_t max_length,
                                       const ChunkSink& sink) = 0;
  // As Get, for a target file: may ask for a zstd-compressed transfer (Accept-Encoding: zstd,
  // which Ferry's origin answers for files zstd shrinks) and decode it as it arrives. The sink
  // receives the file's own bytes either way; the decoder is bounded by max_length and a 2^27
  // byte window, and the caller verifies the result against the signed hashes as always (a
  // corrupt frame is kParseError). The default is Get.
  virtual Result<UpstreamResponse> GetTarget(std::string_view rel_path, std::uint64_t max_length,
                                             const ChunkSink& sink) {
    return Get(rel_path, max_length, sink);
  }
  // For messages: the base URL.
  virtual std::string Describe() const = 0;
};

struct HttpUpstreamOptions {
  // http:// or https:// base ("https://origin.example/ferry"); trailing slashes are ignored.
  std::string base_url;
  // Extra CA certificates (PEM) for an upstream with a private CA; the system store is used too.
  std::string ca_file;
  net::FetchTimeouts timeouts;
  // Shared bandwidth cap for every read (nullptr: unlimited). Borrowed; must outlive the upstream.
  RateLimiter* limiter = nullptr;
  // Set to true from another thread to make reads in progress fail quickly (kIoError
  // "cancelled"). Borrowed; may be nullptr.
  const std::atomic<bool>* cancel = nullptr;
  std::string user_agent = "ferry-mirror/0.1";
};

class HttpUpstream final : public Upstream {
 public:
  // kInvalidArgument for a URL that is not http(s); kCryptoError if the CA file cannot be loaded.
  static Result<std::unique_ptr<HttpUpstream>> Create(HttpUpstreamOptions options);

  Result<UpstreamResponse> Get(std::string_view rel_path, std::uint64_t max_length,
                               const ChunkSink& sink) override;
  Result<UpstreamResponse> GetTarget(std::string_view rel_path, std::uint64_t max_length,
                                     const ChunkSink& sink) override;
  std::string Describe() const override { return base_; }

  // Body bytes received from the upstream by this object (all calls, all statuses).
  std::uint64_t bytes_received() const { return bytes_received_.load(); }

 private:
  explicit HttpUpstream(HttpUpstreamOptions options);
  Result<UpstreamResponse> Fetch(std::string_view rel_path, std::uint64_t max_length,
                                 const ChunkSink& sink, bool accept_zstd);
  Result<std::unique_ptr<net::HttpClient>> Acquire();
  void Release(std::unique_ptr<net::HttpClient> client);

  HttpUpstreamOptions options_;
  std::string base_;  // base_url without trailing '/'
  std::mutex mu_;
  std::vector<std::unique_ptr<net::HttpClient>> idle_;  // guarded by mu_
  std::atomic<std::uint64_t> bytes_received_{0};
};

// A repository directory on the local disk read through the same interface (the crawler
// checking what this mirror serves, and tests). `rel_path` is URL-encoded as for HTTP; it is
// decoded and validated with net::PercentDecodePath (no dot segments, no encoded separators), and
// symlinks are not followed in the last component. A missing file is status 404.
class DirUpstream final : public Upstream {
 public:
  explicit DirUpstream(std::string dir) : dir_(std::move(dir)) {}
  Result<UpstreamResponse> Get(std::string_view rel_path, std::uint64_t max_length,
                               const ChunkSink& sink) override;
  std::string Describe() const override { return dir_; }

 private:
  std::string dir_;
};

// Trims trailing '/' from a base URL.
std::string TrimBaseUrl(std::string_view url);

}  // namespace ferry::mirror

#endif  // FERRY_MIRROR_UPSTREAM_H_
