// Ferry's HTTP/1.1 server core, shared by the origin and the mirror. Boost.Asio/Beast live in
// server.cc only; this header has std and ferry types.
//
// Threading model:
//   - `io_threads` threads run the I/O (accept, TLS, reading heads and bodies, writing
//     responses, sendfile). Each connection is one coroutine on its own strand.
//   - Handlers run on a pool of `worker_threads`, never on an I/O thread, so a handler may block
//     (SQLite, hashing, fsync) without stalling other connections. While a handler runs, its
//     connection waits; BodyReader::Read hands a read to the connection's strand and blocks the
//     worker until it completes (one outstanding read per request: natural backpressure).
//   - A route added with RouteOptions::run_inline runs on the I/O thread instead (no thread hop).
//     It must be cheap and must not block: e.g. a static file lookup returning a FileResponse.
//     Inline routes take no request body (a request with one gets 413).
//
//   Server server(options);
//   server.AddRoute("GET", "/objects/*", [&](Request& req, BodyReader&) -> Reply {...},
//                   RouteOptions::Inline());
//   FERRY_TRY(server.Start());
//   ... server.port() ...
//   server.Stop();
//
// Thread safety: AddRoute before Start only. Start, Stop, ReloadTls and metrics may be called
// from any thread but not concurrently with each other, except metrics() which is always safe.
// Never call Stop from a handler (it waits for handlers to finish).
#ifndef FERRY_NET_SERVER_H_
#define FERRY_NET_SERVER_H_

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "net/http_types.h"

namespace ferry::net {

// One listening socket. TLS when both files are set (PEM; the certificate file may hold a chain).
struct ListenOptions {
  std::string address = "127.0.0.1";  // IPv4 or IPv6 literal; "0.0.0.0" for all interfaces
  std::uint16_t port = 0;             // 0: an ephemeral port, readable with Server::port()
  std::string tls_cert_file;
  std::string tls_key_file;

  bool tls() const { return !tls_cert_file.empty(); }
};

// One line of the access log.
struct AccessLogEntry {
  std::int64_t unix_millis = 0;  // when the request head was complete
  std::string remote;            // "127.0.0.1:54321"
  std::string method;            // "-" when the head was unreadable
  std::string target;            // raw, as received; "-" when the head was unreadable
  int status = 0;
  std::uint64_t body_bytes = 0;  // response body bytes written
  std::int64_t duration_ms = 0;  // head complete -> response written
  bool tls = false;
};

// `2024-05-01T12:00:00.123Z remote=127.0.0.1:54321 method=GET target="/x" status=200 bytes=10
// ms=1 tls=0` (target with '"', '\' and non-ASCII escaped as \xNN).
std::string FormatAccessLog(const AccessLogEntry& entry);

struct ServerOptions {
  // Listeners; the default is one plain HTTP listener on 127.0.0.1 with an ephemeral port.
  std::vector<ListenOptions> listen = {ListenOptions{}};
  int io_threads = 1;
  int worker_threads = 4;
  // Request line + header fields, in bytes; longer heads (or more than max_header_fields
  // fields) get 431 and a close. Heads are read up to this size before the route is known, so
  // it is the largest any route accepts; a route may set a smaller one
  // (RouteOptions::max_header_bytes).
  std::size_t max_header_bytes = 8 * 1024;
  std::size_t max_header_fields = 100;
  // Body limit of routes that do not set their own.
  std::uint64_t default_max_body_bytes = 1 << 20;
  // A request head must be complete this long after its first byte (and, on a new connection,
  // after accept): slowloris defense (CIS: 10 s).
  std::chrono::milliseconds header_timeout{std::chrono::seconds(10)};
  // How long a keep-alive connection may sit idle between requests.
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(30)};
  // Each read of request-body bytes must make progress within this time...
  std::chrono::milliseconds body_read_timeout{std::chrono::seconds(10)};
  // ...and the whole body must keep an average rate: time spent waiting for body bytes may not
  // exceed body_read_timeout + received_bytes / body_min_rate (1 KiB/s: "< 1 KiB/s for 10 s ->
  // close"). Time a handler spends between reads does not count.
  std::uint64_t body_min_rate = 1024;  // bytes per second
  // Each write (a chunk of up to 256 KiB, or waiting for the socket to take more sendfile data)
  // must complete within this time; a client that stops reading is cut off.
  std::chrono::milliseconds write_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds tls_handshake_timeout{std::chrono::seconds(10)};
  // Stop(): how long in-flight requests may take to finish before their connections are closed.
  std::chrono::milliseconds shutdown_grace{std::chrono::seconds(10)};
  // Connections beyond this are accepted and closed at once. Start raises the process's soft
  // open-file limit to about 2 * max_connections + 256 (at most the hard limit; an error_log
  // line when that is too low).
  std::size_t max_connections = 1024;
  // Requests served on one connection before it is closed (bounds per-connection state).
  std::size_t max_requests_per_connection = 10000;
  // Buffer of the copying file path (TLS).
  std::size_t file_copy_buffer_bytes = 128 * 1024;
  // Bandwidth cap over every file body this server sends, in bytes per second (0: none). A
  // token bucket with one second of burst; a connection over the cap waits between chunks.
  std::uint64_t file_bytes_per_second = 0;
  // Lingering close: after a response that closes a connection with unread request bytes, keep
  // reading (and discarding) for at most this long / this many bytes, so the client sees the
  // response instead of a reset.
  std::chrono::milliseconds linger_timeout{std::chrono::seconds(2)};
  std::size_t linger_max_bytes = 256 * 1024;
  // Value of the Server field; empty for none.
  std::string server_name = "ferry";
  // Called for every request (on an I/O thread; keep it quick). Empty: FormatAccessLog lines to
  // stderr. Set a no-op function to disable.
  std::function<void(const AccessLogEntry&)> access_log;
  // Errors that concern no single request (TLS reload, accept failures, handler exceptions).
  // Empty: to stderr.
  std::function<void(const std::string&)> error_log;
};

struct RouteOptions {
  // Largest request body the route accepts; nullopt: ServerOptions::default_max_body_bytes.
  // Content-Length above it: 413 before any body byte is read. A chunked body that crosses it:
  // Read fails with kTooLarge, and the core answers 413 and closes.
  std::optional<std::uint64_t> max_body_bytes;
  // Largest request head (request line + fields) the route accepts, at most
  // ServerOptions::max_header_bytes (AddRoute refuses a larger one); nullopt: the server's.
  // A longer head gets 431 before the handler runs.
  std::optional<std::size_t> max_header_bytes;
  // Run the handler on the I/O thread (see the file comment).
  bool run_inline = false;

  // Shorthands (g++ 12 warns on designated initializers that leave members out).
  static RouteOptions MaxBody(std::uint64_t bytes) {
    RouteOptions o;
    o.max_body_bytes = bytes;
    return o;
  }
  RouteOptions& MaxHeader(std::size_t bytes) {
    max_header_bytes = bytes;
    return *this;
  }
  static RouteOptions Inline() {
    RouteOptions o;
    o.run_inline = true;
    return o;
  }
};

// Pulls the request body from the connection. Used by the handler's thread only, during the
// handler call.
class BodyReader {
 public:
  // Reads up to buffer.size() body bytes (Content-Length or chunked framing removed); returns 0
  // once the body is complete (at once for requests without a body). The first call sends
  // "100 Continue" if the client asked for it, so a handler that answers 401/403 without calling
  // Read never makes the client send the body.
  // Failures (each then repeats on every call): kTooLarge (route limit crossed: the core answers
  // 413 and closes, whatever the handler returns), kParseError (bad chunked framing: 400 and
  // close), kTimeout (body too slow: the connection is closed without an answer), kIoError
  // (client gone, server stopping).
  [[nodiscard]] virtual Result<std::size_t> Read(std::span<char> buffer) = 0;

  // Reads the rest of the body into a string (bounded by the route's limit).
  [[nodiscard]] Result<std::string> ReadAll();

  // Content-Length when the request announced one.
  virtual std::optional<std::uint64_t> content_length() const = 0;

 protected:
  ~BodyReader() = default;
};

// A handler gets the request (it may move from it) and returns a Response or a FileResponse.
// Exceptions are caught and answered with 500.
using Handler = std::function<Reply(Request& request, BodyReader& body)>;

struct ServerMetrics {
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_rejected = 0;  // over max_connections
  std::uint64_t connections_open = 0;
  std::uint64_t requests = 0;
  // responses_by_class[k] counts statuses k00..k99, k = 1..5 (index 0 unused).
  std::array<std::uint64_t, 6> responses_by_class{};
  std::uint64_t bytes_sent = 0;      // all bytes written to sockets (heads and bodies)
  std::uint64_t bytes_received = 0;  // all bytes read from sockets
  std::uint64_t timeouts = 0;        // connections closed by a header/body/write/idle timeout
  std::uint64_t sendfile_bytes = 0;  // body bytes sent with sendfile(2)
};

// Holds SIGINT, SIGTERM and SIGHUP pending in the calling thread and in every thread started from
// it afterwards, until Server::RunUntilSignal takes them. A server's main() calls it before it
// creates any thread: a signal that arrives while the server starts up (a supervisor's stop right
// after the start) then leads to a clean stop instead of the default action, which kills the
// process on the spot.
void HoldStopSignals();

class Server {
 public:
  explicit Server(ServerOptions options);
  // Stops the server if it is running.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Adds a route. `method` is matched exactly ("GET" routes also answer HEAD, without a body).
  // `path` is either exact ("/status") or a prefix ending in "/*" ("/objects/*" matches
  // "/objects/ab/cd" but not "/objects"); it is matched against the decoded segments, so
  // "/a%62c" reaches the route "/abc". The longest match wins; an exact route beats a prefix.
  // Unmatched paths get 404, matched paths with another method 405 with Allow.
  // Fails with kInvalidArgument for a bad method or path, kAlreadyExists for a duplicate, and
  // kWrongOrder after Start.
  Status AddRoute(std::string method, std::string path, Handler handler, RouteOptions options = {});

  // Binds every listener, loads TLS files, starts the threads. kIoError if an address cannot be
  // bound, kInvalidArgument for a bad address, kCryptoError for unusable TLS files. On failure
  // nothing is left running. Starting twice is kWrongOrder.
  Status Start();

  // Port of listener `index` after Start (the chosen one when ListenOptions::port was 0).
  std::uint16_t port(std::size_t index = 0) const;

  // Graceful shutdown: stop accepting, close idle keep-alive connections, let in-flight requests
  // finish for up to shutdown_grace (their responses carry "Connection: close"), then close
  // every connection, wait for running handlers to return, and join all threads. Idempotent.
  void Stop();

  // Reloads the certificate and key of every TLS listener from their files. New connections
  // use the new ones; established connections keep theirs. On failure (kCryptoError/kIoError) the
  // listener keeps its previous certificate.
  Status ReloadTls();

  // Blocks the calling thread until SIGINT or SIGTERM arrives, calling ReloadTls on each SIGHUP
  // (errors go to error_log), then calls Stop(). For the apps' main(); signals held pending by
  // HoldStopSignals are taken here.
  void RunUntilSignal();

  ServerMetrics metrics() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ferry::net

#endif  // FERRY_NET_SERVER_H_
