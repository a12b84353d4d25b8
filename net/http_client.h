// Ferry's HTTP/1.1 client: bounded, streaming fetches over http:// and https://. Boost.Asio and
// Beast live in http_client.cc only.
//
//   FERRY_ASSIGN_OR_RETURN(HttpClient client, HttpClient::Create());
//   FetchRequest req;
//   req.url = "https://mirror.example/metadata/timestamp.json";
//   req.max_length = 16384;
//   FERRY_ASSIGN_OR_RETURN(FetchResult r, client.Fetch(req, [&](std::string_view chunk) {
//     hasher.Update(chunk);
//     return temp_file.Write(chunk);
//   }));
//   if (r.status != 200) ...
//
// Transport failures are errors; any HTTP status is a successful fetch with `status` set (only
// FetchToString turns non-2xx into errors). Every fetch is bounded in bytes (max_length) and in
// time (see FetchTimeouts): a server that stalls or trickles fails within
//   total_base + max(announced length, received) / min_rate  (+ request body bytes / min_rate).
//
// Thread safety: an HttpClient owns its own io_context and idle connections; use it from one
// thread at a time (calls block that thread). Use one client per thread for parallel fetches.
#ifndef FERRY_NET_HTTP_CLIENT_H_
#define FERRY_NET_HTTP_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/result.h"
#include "net/http_types.h"

namespace ferry::net {

struct FetchTimeouts {
  // Name resolution, TCP connect and TLS handshake of one connection.
  std::chrono::milliseconds connect{std::chrono::seconds(10)};
  // Request sent -> response head complete.
  std::chrono::milliseconds first_byte{std::chrono::seconds(30)};
  // Longest wait for the next body bytes (and for each request write to progress).
  std::chrono::milliseconds idle{std::chrono::seconds(30)};
  // Total deadline, counted from the start of Fetch (redirects included):
  //   total_base + (max(Content-Length, body bytes received) + request body bytes) / min_rate.
  // With the defaults a 1 MiB file may take 30 s + 64 s. A server trickling one byte every few
  // seconds fails once the deadline for the length it announced passes (the announced length
  // is refused above max_length, so the bound is total_base + max_length / min_rate).
  std::chrono::milliseconds total_base{std::chrono::seconds(30)};
  std::uint64_t min_rate = 16 * 1024;  // bytes per second
};

// Produces the request body piecewise: fills `buffer`, returns the byte count, 0 at the end.
using BodySource = std::function<Result<std::size_t>(std::span<char> buffer)>;
// Receives the response body in order. A failed Status aborts the fetch with that error.
using BodySink = std::function<Status(std::string_view chunk)>;
// Receives the status and fields of the final response (after redirects) before any body byte.
// A failed Status aborts the fetch with that error.
using HeadCallback = std::function<Status(int status, const Headers& headers)>;

struct FetchRequest {
  std::string url;  // http:// or https://
  std::string method = "GET";
  // Extra request fields. Host, Content-Length, Transfer-Encoding, Connection and TE are set by
  // the client and dropped from here; Authorization and Cookie are dropped on a redirect to
  // another host. With "Expect: 100-continue" and a body, the client sends the head, waits up to
  // 1 s (at most first_byte) for "100 Continue" or a final answer (e.g. 401), and sends the body
  // only if no final answer came.
  Headers headers;
  // Request body: `body`, or `body_source` (with `body_length` it is sent with Content-Length
  // and must produce exactly that many bytes; without, chunked). Not both.
  std::string body;
  BodySource body_source;
  std::optional<std::uint64_t> body_length;
  // Sends "Range: bytes=<range_start>-" (resume). The caller checks for 206 vs 200.
  std::optional<std::uint64_t> range_start;
  // Largest acceptable body. kTooLarge when Content-Length announces more, or as soon as more
  // arrives (at most max_length + 1 bytes are read, none beyond max_length reach the sink).
  std::optional<std::uint64_t> max_length;
  FetchTimeouts timeouts;
  // Optional: called once with the final response's status and fields before any body byte
  // reaches the sink (e.g. to tell a 206 from a 200, or to drop error pages). An error aborts
  // the fetch.
  HeadCallback on_head;
  // Follow 301/302/303/307/308 with a Location, at most max_redirects times (then kIoError).
  // Never from https to http (kPermission). 303, and 301/302 after POST, continue with GET and
  // no body; 307/308 repeat the method and body (kUnsupported for a body_source, which cannot be
  // replayed). With follow_redirects=false the 3xx response is the result.
  bool follow_redirects = true;
  int max_redirects = 5;
};

struct FetchResult {
  int status = 0;
  Headers headers;  // of the final response
  std::string final_url;
  std::optional<std::uint64_t> content_length;  // as announced by the final response
  std::uint64_t bytes_received = 0;             // body bytes handed to the sink
  int redirects = 0;                            // redirects followed
};

struct HttpClientOptions {
  // Extra trust anchors (PEM file), e.g. a test CA; added to the system store.
  std::string ca_file;
  // Trust the system CA store (OpenSSL's default verify paths).
  bool use_system_ca = true;
  std::string user_agent = "ferry/0.1";
  // Reuse connections to the same scheme://host:port; at most this many idle ones are kept.
  bool keep_alive = true;
  std::size_t max_idle_connections = 4;
  // Largest response head accepted (kTooLarge beyond).
  std::size_t max_response_header_bytes = 64 * 1024;
};

class HttpClient {
 public:
  // kCryptoError if the TLS context or the CA file cannot be loaded.
  [[nodiscard]] static Result<HttpClient> Create(HttpClientOptions options = {});

  HttpClient(HttpClient&&) noexcept;
  HttpClient& operator=(HttpClient&&) noexcept;
  ~HttpClient();

  // Performs one request (following redirects as asked) and streams the final response body to
  // `sink` (which may be empty to discard it). Errors:
  //   kInvalidArgument  bad URL, method, header field, or body and body_source both set
  //   kIoError          DNS failure, connection refused/reset, TLS failure (certificate not
  //                     trusted, name mismatch), malformed response, too many redirects; the
  //                     message names host:port and the cause
  //   kTimeout          connect, first byte, idle or total deadline (the message says which)
  //   kTooLarge         body beyond max_length, or response head beyond the limit
  //   kPermission       redirect from https to http
  //   kUnsupported      307/308 redirect of a streamed body
  //   anything the sink or body source returned
  // On error the sink may already have received part of the body.
  [[nodiscard]] Result<FetchResult> Fetch(const FetchRequest& request, const BodySink& sink);

  // GET `url` into a string of at most `max_length` bytes. A non-2xx status is an error:
  // kNotFound for 404 and 410, kIoError otherwise (message "HTTP 503 from URL").
  [[nodiscard]] Result<std::string> FetchToString(const std::string& url, std::uint64_t max_length,
                                                  const FetchTimeouts& timeouts = {});

  class Impl;

 private:
  explicit HttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ferry::net

#endif  // FERRY_NET_HTTP_CLIENT_H_
