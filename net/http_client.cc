// The client: one io_context per HttpClient, run by the calling thread for the duration of a
// Fetch. Each fetch is a coroutine; every socket operation gets a deadline that is the earlier of
// its own timeout and the fetch's total deadline (see FetchTimeouts).
#include "net/http_client.h"

// g++ 12 reports -Wmismatched-new-delete on Asio's coroutine frames (awaitable_frame_base has
// its own operator new/delete; the false positive appears once frames are inlined at -O2).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cerrno>
#include <cstdio>
#include <vector>

#include "net/url.h"

namespace ferry::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using ErrorCode = boost::system::error_code;
using std::chrono::milliseconds;

namespace {

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kWriteChunk = 256 * 1024;
constexpr std::uint64_t kRedirectDrainLimit = 64 * 1024;
// How long a request with "Expect: 100-continue" waits for the server before sending the body.
constexpr std::chrono::milliseconds kExpectContinueWait{1000};

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using Parser = http::response_parser<http::buffer_body>;

struct Connection {
  std::string key;  // "scheme://host:port"
  std::string authority;
  std::unique_ptr<PlainStream> plain;
  std::unique_ptr<TlsStream> secure;
  beast::flat_buffer buffer;
  bool no_reuse = false;  // the request body was not (fully) sent: never keep it alive

  beast::tcp_stream& lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }
};

std::string ConnectionKey(const Url& url) { return url.scheme + "://" + url.Authority(); }

std::string Millis(milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

// The time budget of one Fetch.
struct Budget {
  SteadyClock::time_point start = SteadyClock::now();
  FetchTimeouts t;
  std::uint64_t announced = 0;  // Content-Length of the current response
  std::uint64_t received = 0;   // body bytes of the current response
  std::uint64_t sent = 0;       // request body bytes sent (all hops)
  bool total_binding = false;   // the last Arm() was limited by the total deadline

  SteadyClock::time_point Total() const {
    const double bytes = static_cast<double>(std::max(announced, received) + sent);
    const double secs = bytes / static_cast<double>(std::max<std::uint64_t>(1, t.min_rate));
    return start + t.total_base +
           std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(secs));
  }

  SteadyClock::time_point Deadline(milliseconds op) {
    const auto own = SteadyClock::now() + op;
    const auto total = Total();
    total_binding = total <= own;
    return std::min(own, total);
  }

  void Arm(beast::tcp_stream& s, milliseconds op) { s.expires_at(Deadline(op)); }

  std::string TotalText() const {
    return "total deadline exceeded after " +
           std::to_string(std::chrono::duration_cast<milliseconds>(SteadyClock::now() - start)
                              .count()) +
           " ms (" + std::to_string(received) + " body bytes received; allowed " +
           Millis(t.total_base) + " + length / " + std::to_string(t.min_rate) + " B/s)";
  }
};

bool IsHttpError(const ErrorCode& ec) {
  return ec.category() == http::make_error_code(http::error::bad_chunk).category();
}

// Maps a socket/parser error of phase `what` ("sending request", "reading response head", ...).
Error TransportError(const ErrorCode& ec, const Connection& c, std::string_view what,
                     const Budget& b, milliseconds op_timeout) {
  if (ec == beast::error::timeout) {
    if (b.total_binding) return Error(Errc::kTimeout, c.authority + ": " + b.TotalText());
    return Error(Errc::kTimeout,
                 c.authority + ": " + std::string(what) + " timed out after " + Millis(op_timeout));
  }
  if (ec == http::error::header_limit) {
    return Error(Errc::kTooLarge, c.authority + ": response head too large");
  }
  if (ec == http::error::end_of_stream || ec == asio::error::eof ||
      ec == http::error::partial_message) {
    return Error(Errc::kIoError,
                 c.authority + ": connection closed by the server while " + std::string(what));
  }
  if (IsHttpError(ec)) {
    return Error(Errc::kIoError, c.authority + ": malformed response: " + ec.message());
  }
  return Error(Errc::kIoError, c.authority + ": " + std::string(what) + ": " + ec.message());
}

bool IsRedirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

bool IsIpLiteral(const std::string& host) {
  ErrorCode ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// The request of one hop.
struct Outgoing {
  Url url;
  std::string method;
  const Headers* headers = nullptr;
  bool strip_credentials = false;
  const std::string* body = nullptr;  // nullptr: no string body
  const BodySource* source = nullptr;
  std::optional<std::uint64_t> source_length;
  std::optional<std::uint64_t> range_start;
};

}  // namespace

class HttpClient::Impl {
 public:
  explicit Impl(HttpClientOptions options) : opts_(std::move(options)) {}

  Status Init() {
    try {
      ctx_ = std::make_unique<ssl::context>(ssl::context::tls_client);
    } catch (const std::exception& e) {
      return Error(Errc::kCryptoError, std::string("TLS client context: ") + e.what());
    }
    ErrorCode ec;
    SSL_CTX_set_min_proto_version(ctx_->native_handle(), TLS1_2_VERSION);
    ctx_->set_verify_mode(ssl::verify_peer, ec);
    if (opts_.use_system_ca) {
      ctx_->set_default_verify_paths(ec);
      if (ec) return Error(Errc::kCryptoError, "system CA store: " + ec.message());
    }
    if (!opts_.ca_file.empty()) {
      ctx_->load_verify_file(opts_.ca_file, ec);
      if (ec) return Error(Errc::kCryptoError, "CA file " + opts_.ca_file + ": " + ec.message());
    }
    return OkStatus();
  }

  Result<FetchResult> Fetch(const FetchRequest& req, const BodySink& sink) {
    std::optional<Result<FetchResult>> out;
    ioc_.restart();
    asio::co_spawn(ioc_, Run(req, sink, &out), [&out](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        out = Error(Errc::kIoError, std::string("fetch failed: ") + ex.what());
      } catch (...) {
        out = Error(Errc::kIoError, "fetch failed: unknown exception");
      }
    });
    ioc_.run();
    if (!out) return Error(Errc::kIoError, "fetch did not complete");
    return std::move(*out);
  }

 private:
  asio::awaitable<void> Run(const FetchRequest& req, const BodySink& sink,
                            std::optional<Result<FetchResult>>* out) {
    *out = co_await FetchImpl(req, sink);
  }

  asio::awaitable<Result<FetchResult>> FetchImpl(const FetchRequest& req, const BodySink& sink);
  asio::awaitable<Result<std::unique_ptr<Connection>>> Connect(const Url& url, Budget& b);
  // Sends the request and reads the response head, on a reused connection when there is one
  // (retrying once on a fresh one if the reused one turns out dead).
  // Send + response head on one connection (with Expect: 100-continue when asked).
  asio::awaitable<Status> Exchange(Connection& c, const Outgoing& out, Budget& b,
                                   std::optional<Parser>* parser);
  asio::awaitable<Status> RoundTrip(const Outgoing& out, Budget& b,
                                    std::unique_ptr<Connection>* conn,
                                    std::optional<Parser>* parser);
  // Writes the request: head and body (kAll), the head only (kHead, for Expect: 100-continue),
  // or the body only (kBody, after "100 Continue").
  enum class SendPart { kAll, kHead, kBody };
  template <class Stream>
  asio::awaitable<Status> Send(Stream& s, Connection& c, const Outgoing& out, Budget& b,
                               SendPart part);
  // True once the connection has bytes to read, false after `timeout` (the socket stays open).
  asio::awaitable<bool> WaitReadable(Connection& c, milliseconds timeout);
  template <class Stream>
  asio::awaitable<Status> SendBody(Stream& s, Connection& c, const Outgoing& out, Budget& b,
                                   bool chunked);
  template <class Stream>
  asio::awaitable<Status> WriteBytes(Stream& s, Connection& c, Budget& b, std::string_view data,
                                     bool is_body);
  // Reads the response head, skipping interim 1xx responses unless `stop_at_continue` and the
  // interim one is "100 Continue".
  template <class Stream>
  asio::awaitable<Status> ReadHead(Stream& s, Connection& c, const Outgoing& out, Budget& b,
                                   std::optional<Parser>* parser, bool stop_at_continue);
  template <class Stream>
  asio::awaitable<Status> ReadBody(Stream& s, Connection& c, Parser& p, Budget& b,
                                   const BodySink* sink, std::optional<std::uint64_t> max_length);

  asio::awaitable<Status> SendOn(Connection& c, const Outgoing& out, Budget& b, SendPart part) {
    if (c.secure) co_return co_await Send(*c.secure, c, out, b, part);
    co_return co_await Send(*c.plain, c, out, b, part);
  }
  asio::awaitable<Status> ReadHeadOn(Connection& c, const Outgoing& out, Budget& b,
                                     std::optional<Parser>* parser, bool stop_at_continue) {
    if (c.secure) co_return co_await ReadHead(*c.secure, c, out, b, parser, stop_at_continue);
    co_return co_await ReadHead(*c.plain, c, out, b, parser, stop_at_continue);
  }
  asio::awaitable<Status> ReadBodyOn(Connection& c, Parser& p, Budget& b, const BodySink* sink,
                                     std::optional<std::uint64_t> max_length) {
    if (c.secure) co_return co_await ReadBody(*c.secure, c, p, b, sink, max_length);
    co_return co_await ReadBody(*c.plain, c, p, b, sink, max_length);
  }

  std::unique_ptr<Connection> TakeIdle(const std::string& key) {
    for (auto it = idle_.begin(); it != idle_.end(); ++it) {
      if ((*it)->key != key) continue;
      std::unique_ptr<Connection> c = std::move(*it);
      idle_.erase(it);
      // A kept-alive connection the server has closed meanwhile reads EOF (or has stray bytes):
      // drop it rather than fail the request.
      char probe;
      const ssize_t n = ::recv(c->lowest().socket().native_handle(), &probe, 1,
                               MSG_PEEK | MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && c->buffer.size() == 0) return c;
      return nullptr;
    }
    return nullptr;
  }

  void PutIdle(std::unique_ptr<Connection> c) {
    if (!opts_.keep_alive || opts_.max_idle_connections == 0) return;
    if (idle_.size() >= opts_.max_idle_connections) idle_.erase(idle_.begin());
    idle_.push_back(std::move(c));
  }

  HttpClientOptions opts_;
  asio::io_context ioc_{1};
  std::unique_ptr<ssl::context> ctx_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::vector<char> read_buffer_ = std::vector<char>(kReadChunk);
};

asio::awaitable<Result<std::unique_ptr<Connection>>> HttpClient::Impl::Connect(const Url& url,
                                                                                Budget& b) {
  auto c = std::make_unique<Connection>();
  // Beast reads max(512, capacity - size) bytes per read_some into this buffer; without a
  // reserve it stays at 512 bytes, and a body arrives in 512-byte pieces (a syscall, a timer
  // re-arm and a sink call each).
  c->buffer.reserve(kReadChunk);
  c->key = ConnectionKey(url);
  c->authority = url.Authority();
  if (url.tls()) {
    c->secure = std::make_unique<TlsStream>(ioc_.get_executor(), *ctx_);
  } else {
    c->plain = std::make_unique<PlainStream>(ioc_.get_executor());
  }
  std::vector<tcp::endpoint> endpoints;
  const bool ip_literal = IsIpLiteral(url.host);
  if (ip_literal) {
    endpoints.emplace_back(asio::ip::make_address(url.host), url.port);
  } else {
    tcp::resolver resolver(ioc_);
    asio::steady_timer timer(ioc_);
    timer.expires_at(b.Deadline(b.t.connect));
    timer.async_wait([&resolver](const ErrorCode& ec) {
      if (!ec) resolver.cancel();
    });
    auto [ec, results] =
        co_await resolver.async_resolve(url.host, std::to_string(url.port), kNoThrow);
    timer.cancel();
    if (ec == asio::error::operation_aborted) {
      co_return Error(Errc::kTimeout, "resolving " + url.host + " timed out");
    }
    if (ec) co_return Error(Errc::kIoError, "resolving " + url.host + ": " + ec.message());
    for (const auto& r : results) endpoints.push_back(r.endpoint());
  }
  auto& low = c->lowest();
  b.Arm(low, b.t.connect);
  auto [cec, ep] = co_await low.async_connect(endpoints, kNoThrow);
  if (cec) {
    if (cec == beast::error::timeout) {
      if (b.total_binding) co_return Error(Errc::kTimeout, c->authority + ": " + b.TotalText());
      co_return Error(Errc::kTimeout, "connect to " + c->authority + " timed out after " +
                                          Millis(b.t.connect));
    }
    co_return Error(Errc::kIoError, "connect to " + c->authority + ": " + cec.message());
  }
  ErrorCode ignored;
  low.socket().set_option(tcp::no_delay(true), ignored);
  if (c->secure) {
    SSL* ssl_handle = c->secure->native_handle();
    if (ip_literal) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_handle), url.host.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl_handle, url.host.c_str());
      SSL_set1_host(ssl_handle, url.host.c_str());
    }
    b.Arm(low, b.t.connect);
    auto [hec] = co_await c->secure->async_handshake(ssl::stream_base::client, kNoThrow);
    if (hec) {
      if (hec == beast::error::timeout) {
        co_return Error(Errc::kTimeout, "TLS handshake with " + c->authority + " timed out");
      }
      std::string why = hec.message();
      const long verify = SSL_get_verify_result(ssl_handle);
      if (verify != X509_V_OK) {
        why += " (" + std::string(X509_verify_cert_error_string(verify)) + ")";
      }
      co_return Error(Errc::kIoError, "TLS handshake with " + c->authority + ": " + why);
    }
  }
  co_return std::move(c);
}

template <class Stream>
asio::awaitable<Status> HttpClient::Impl::WriteBytes(Stream& s, Connection& c, Budget& b,
                                                     std::string_view data, bool is_body) {
  while (!data.empty()) {
    const std::size_t chunk = std::min(data.size(), kWriteChunk);
    b.Arm(c.lowest(), b.t.idle);
    auto [ec, n] = co_await asio::async_write(s, asio::buffer(data.data(), chunk), kNoThrow);
    if (is_body) b.sent += n;
    if (ec) co_return TransportError(ec, c, "sending the request", b, b.t.idle);
    data.remove_prefix(chunk);
  }
  co_return OkStatus();
}

template <class Stream>
asio::awaitable<Status> HttpClient::Impl::Send(Stream& s, Connection& c, const Outgoing& out,
                                               Budget& b, SendPart part) {
  const bool chunked = out.source && !out.source_length;
  if (part == SendPart::kBody) co_return co_await SendBody(s, c, out, b, chunked);
  std::string head = out.method + " " + out.url.target + " HTTP/1.1\r\nHost: " +
                     out.url.HostField() + "\r\n";
  if (!opts_.user_agent.empty()) head += "User-Agent: " + opts_.user_agent + "\r\n";
  bool has_accept = false;
  for (const Header& h : *out.headers) {
    if (EqualsIgnoreCase(h.name, "host") || EqualsIgnoreCase(h.name, "content-length") ||
        EqualsIgnoreCase(h.name, "transfer-encoding") || EqualsIgnoreCase(h.name, "connection") ||
        EqualsIgnoreCase(h.name, "te") ||
        (out.range_start && EqualsIgnoreCase(h.name, "range"))) {
      continue;
    }
    if (out.strip_credentials &&
        (EqualsIgnoreCase(h.name, "authorization") || EqualsIgnoreCase(h.name, "cookie"))) {
      continue;
    }
    has_accept = has_accept || EqualsIgnoreCase(h.name, "accept");
    head += h.name + ": " + h.value + "\r\n";
  }
  if (!has_accept) head += "Accept: */*\r\n";
  if (out.range_start) head += "Range: bytes=" + std::to_string(*out.range_start) + "-\r\n";
  if (out.body) {
    if (!out.body->empty() || out.method == "POST" || out.method == "PUT") {
      head += "Content-Length: " + std::to_string(out.body->size()) + "\r\n";
    }
  } else if (out.source_length) {
    head += "Content-Length: " + std::to_string(*out.source_length) + "\r\n";
  } else if (chunked) {
    head += "Transfer-Encoding: chunked\r\n";
  }
  if (!opts_.keep_alive) head += "Connection: close\r\n";
  head += "\r\n";

  if (part == SendPart::kAll && out.body && out.body->size() <= kReadChunk) {
    head += *out.body;
    b.sent += out.body->size();
    co_return co_await WriteBytes(s, c, b, head, false);
  }
  if (Status st = co_await WriteBytes(s, c, b, head, false); !st) co_return st;
  if (part == SendPart::kHead) co_return OkStatus();
  co_return co_await SendBody(s, c, out, b, chunked);
}

template <class Stream>
asio::awaitable<Status> HttpClient::Impl::SendBody(Stream& s, Connection& c, const Outgoing& out,
                                                   Budget& b, bool chunked) {
  if (out.body) co_return co_await WriteBytes(s, c, b, *out.body, true);
  if (!out.source) co_return OkStatus();

  std::vector<char> buf(kReadChunk);
  std::uint64_t produced = 0;
  for (;;) {
    Result<std::size_t> n = Error(Errc::kIoError, "body source failed");
    try {
      n = (*out.source)(std::span<char>(buf.data(), buf.size()));
    } catch (const std::exception& e) {
      n = Error(Errc::kIoError, std::string("body source threw: ") + e.what());
    }
    if (!n) co_return n.error();
    if (*n > buf.size()) co_return Error(Errc::kInvalidArgument, "body source overran its buffer");
    produced += *n;
    if (out.source_length && produced > *out.source_length) {
      co_return Error(Errc::kInvalidArgument, "body source produced more than body_length");
    }
    if (*n == 0) {
      if (out.source_length && produced != *out.source_length) {
        co_return Error(Errc::kInvalidArgument, "body source produced less than body_length");
      }
      if (chunked) co_return co_await WriteBytes(s, c, b, "0\r\n\r\n", false);
      co_return OkStatus();
    }
    if (chunked) {
      char size_line[32];
      std::snprintf(size_line, sizeof size_line, "%zx\r\n", *n);
      if (Status st = co_await WriteBytes(s, c, b, size_line, false); !st) co_return st;
    }
    if (Status st = co_await WriteBytes(s, c, b, std::string_view(buf.data(), *n), true); !st) co_return st;
    if (chunked) {
      if (Status st = co_await WriteBytes(s, c, b, "\r\n", false); !st) co_return st;
    }
  }
}

template <class Stream>
asio::awaitable<Status> HttpClient::Impl::ReadHead(Stream& s, Connection& c, const Outgoing& out,
                                                   Budget& b, std::optional<Parser>* parser,
                                                   bool stop_at_continue) {
  for (;;) {
    parser->emplace();
    (*parser)->header_limit(static_cast<std::uint32_t>(opts_.max_response_header_bytes));
    (*parser)->body_limit(boost::none);
    if (out.method == "HEAD") (*parser)->skip(true);
    b.Arm(c.lowest(), b.t.first_byte);
    auto [ec, n] = co_await http::async_read_header(s, c.buffer, **parser, kNoThrow);
    if (ec) co_return TransportError(ec, c, "waiting for the response head", b, b.t.first_byte);
    const int status = (*parser)->get().result_int();
    if (status == 100 && stop_at_continue) co_return OkStatus();
    if (status >= 100 && status < 200 && status != 101) continue;  // interim responses
    co_return OkStatus();
  }
}

template <class Stream>
asio::awaitable<Status> HttpClient::Impl::ReadBody(Stream& s, Connection& c, Parser& p,
                                                   Budget& b, const BodySink* sink,
                                                   std::optional<std::uint64_t> max_length) {
  while (!p.is_done()) {
    std::size_t room = read_buffer_.size();
    if (max_length) {
      room = static_cast<std::size_t>(
          std::min<std::uint64_t>(room, *max_length - b.received + 1));
    }
    auto& body = p.get().body();
    body.data = read_buffer_.data();
    body.size = room;
    b.Arm(c.lowest(), b.t.idle);
    auto [ec, n] = co_await http::async_read_some(s, c.buffer, p, kNoThrow);
    const std::size_t got = room - body.size;
    body.data = nullptr;
    body.size = 0;
    if (ec == http::error::need_buffer) ec = {};
    if (got > 0) {
      if (max_length && b.received + got > *max_length) {
        co_return Error(Errc::kTooLarge, c.authority + ": response body exceeds " +
                                             std::to_string(*max_length) + " bytes");
      }
      b.received += got;
      if (sink && *sink) {
        Status st = Error(Errc::kIoError, "sink failed");
        try {
          st = (*sink)(std::string_view(read_buffer_.data(), got));
        } catch (const std::exception& e) {
          st = Error(Errc::kIoError, std::string("sink threw: ") + e.what());
        }
        if (!st) co_return st;
      }
    }
    if (ec) co_return TransportError(ec, c, "reading the response body", b, b.t.idle);
  }
  co_return OkStatus();
}

asio::awaitable<bool> HttpClient::Impl::WaitReadable(Connection& c, milliseconds timeout) {
  if (c.buffer.size() > 0) co_return true;
  auto& sock = c.lowest().socket();
  auto fired = std::make_shared<bool>(false);
  asio::steady_timer timer(ioc_);
  timer.expires_after(timeout);
  timer.async_wait([fired, &sock](const ErrorCode& ec) {
    if (ec) return;
    *fired = true;
    ErrorCode ignored;
    sock.cancel(ignored);  // cancels the wait; the connection stays usable
  });
  auto [ec] = co_await sock.async_wait(tcp::socket::wait_read, kNoThrow);
  timer.cancel();
  co_return !*fired && !ec;
}

asio::awaitable<Status> HttpClient::Impl::Exchange(Connection& c, const Outgoing& out, Budget& b,
                                                   std::optional<Parser>* parser) {
  const bool has_body = out.source || (out.body && !out.body->empty());
  bool expect = false;
  for (const Header& h : *out.headers) {
    expect = expect || (EqualsIgnoreCase(h.name, "expect") &&
                        EqualsIgnoreCase(h.value, "100-continue"));
  }
  // Sends `part`, then reads the answer. The server may have answered early (413, 401) and
  // closed while we were still sending: its response is the better report.
  auto send_and_read = [&](SendPart part) -> asio::awaitable<Status> {
    Status st = co_await SendOn(c, out, b, part);
    if (st) co_return co_await ReadHeadOn(c, out, b, parser, false);
    if (st.error().code() != Errc::kIoError) co_return st;
    c.no_reuse = true;
    if (!co_await WaitReadable(c, milliseconds(200))) co_return st;
    if (Status early = co_await ReadHeadOn(c, out, b, parser, false); early) co_return early;
    co_return st;
  };
  if (!has_body || !expect) co_return co_await send_and_read(SendPart::kAll);
  // Expect: 100-continue: send the head, then wait (briefly) for "100 Continue" or a final
  // answer such as 401, which saves sending a body the server would refuse.
  if (Status st = co_await SendOn(c, out, b, SendPart::kHead); !st) co_return st;
  const milliseconds wait = std::min(kExpectContinueWait, b.t.first_byte);
  if (co_await WaitReadable(c, wait)) {
    if (Status st = co_await ReadHeadOn(c, out, b, parser, true); !st) co_return st;
    if ((*parser)->get().result_int() != 100) {
      c.no_reuse = true;  // final answer; the announced body was never sent
      co_return OkStatus();
    }
  }
  co_return co_await send_and_read(SendPart::kBody);
}

asio::awaitable<Status> HttpClient::Impl::RoundTrip(const Outgoing& out, Budget& b,
                                                    std::unique_ptr<Connection>* conn,
                                                    std::optional<Parser>* parser) {
  const bool replayable = out.source == nullptr;
  for (int attempt = 0;; ++attempt) {
    std::unique_ptr<Connection> c = attempt == 0 ? TakeIdle(ConnectionKey(out.url)) : nullptr;
    const bool reused = c != nullptr;
    if (!c) {
      auto fresh = co_await Connect(out.url, b);
      if (!fresh) co_return fresh.error();
      c = std::move(*fresh);
    }
    Status st = co_await Exchange(*c, out, b, parser);
    if (st) {
      *conn = std::move(c);
      co_return OkStatus();
    }
    // A reused connection the server closed just before our request: try once more, fresh.
    const bool nothing_received = !parser->has_value() || !(*parser)->got_some();
    if (reused && replayable && nothing_received && st.error().code() == Errc::kIoError) {
      parser->reset();
      continue;
    }
    co_return st;
  }
}

asio::awaitable<Result<FetchResult>> HttpClient::Impl::FetchImpl(const FetchRequest& req,
                                                                 const BodySink& sink) {
  auto parsed = ParseUrl(req.url);
  if (!parsed) co_return parsed.error();
  if (!IsValidHeaderName(req.method)) {
    co_return Error(Errc::kInvalidArgument, "bad method \"" + req.method + "\"");
  }
  for (const Header& h : req.headers) {
    if (!IsValidHeaderName(h.name) || !IsValidHeaderValue(h.value)) {
      co_return Error(Errc::kInvalidArgument, "bad request header field \"" + h.name + "\"");
    }
  }
  if (!req.body.empty() && req.body_source) {
    co_return Error(Errc::kInvalidArgument, "both body and body_source set");
  }
  Budget b;
  b.t = req.timeouts;
  Outgoing out;
  out.url = std::move(*parsed);
  out.method = req.method;
  out.headers = &req.headers;
  out.body = req.body_source ? nullptr : &req.body;
  out.source = req.body_source ? &req.body_source : nullptr;
  out.source_length = req.body_length;
  out.range_start = req.range_start;
  const std::string original_host = out.url.host;

  FetchResult result;
  for (int hop = 0;; ++hop) {
    const std::string where = out.method + " " + out.url.ToString();
    std::unique_ptr<Connection> conn;
    std::optional<Parser> parser;
    b.announced = 0;
    b.received = 0;
    Status st = co_await RoundTrip(out, b, &conn, &parser);
    if (!st) co_return st.error().WithContext(where);
    auto& msg = parser->get();
    const int status = msg.result_int();
    const auto location = msg.find(http::field::location);
    if (req.follow_redirects && IsRedirect(status) && location != msg.end()) {
      if (hop >= req.max_redirects) {
        co_return Error(Errc::kIoError, "too many redirects (more than " +
                                            std::to_string(req.max_redirects) + ") from " +
                                            req.url);
      }
      auto next = ResolveUrl(out.url, std::string_view(location->value().data(),
                                                       location->value().size()));
      if (!next) co_return next.error().WithContext(where + ": redirect");
      if (out.url.tls() && !next->tls()) {
        co_return Error(Errc::kPermission, where + ": refusing redirect from https to http (" +
                                               next->ToString() + ")");
      }
      // Drain a small redirect body to keep the connection; otherwise drop it.
      const auto redirect_length = parser->content_length();
      if (parser->is_done() ||
          (redirect_length ? *redirect_length <= kRedirectDrainLimit : parser->chunked())) {
        Status drained = co_await ReadBodyOn(*conn, *parser, b, nullptr, kRedirectDrainLimit);
        if (drained && parser->is_done() && msg.keep_alive() && !conn->no_reuse) {
          PutIdle(std::move(conn));
        }
      }
      const bool to_get =
          status == 303 || ((status == 301 || status == 302) && out.method == "POST");
      if (to_get) {
        if (out.method != "HEAD") out.method = "GET";
        out.body = nullptr;
        out.source = nullptr;
        out.source_length.reset();
      } else if (out.source) {
        co_return Error(Errc::kUnsupported,
                        where + ": cannot repeat a streamed request body for a " +
                            std::to_string(status) + " redirect");
      }
      out.strip_credentials = out.strip_credentials || next->host != original_host;
      out.url = std::move(*next);
      ++result.redirects;
      continue;
    }

    result.status = status;
    result.final_url = out.url.ToString();
    for (const auto& f : msg) {
      result.headers.Add(std::string(f.name_string()), std::string(f.value()));
    }
    if (req.on_head) {
      Status head = Error(Errc::kIoError, "on_head failed");
      try {
        head = req.on_head(status, result.headers);
      } catch (const std::exception& e) {
        head = Error(Errc::kIoError, std::string("on_head threw: ") + e.what());
      }
      if (!head) co_return std::move(head).error();
    }
    if (auto cl = parser->content_length()) {
      result.content_length = *cl;
      b.announced = *cl;
      if (req.max_length && *cl > *req.max_length && out.method != "HEAD") {
        co_return Error(Errc::kTooLarge, where + ": Content-Length " + std::to_string(*cl) +
                                             " exceeds the limit of " +
                                             std::to_string(*req.max_length) + " bytes");
      }
    }
    Status body = co_await ReadBodyOn(*conn, *parser, b, &sink, req.max_length);
    result.bytes_received = b.received;
    if (!body) co_return body.error().WithContext(where);
    if (msg.keep_alive() && !conn->no_reuse) PutIdle(std::move(conn));
    co_return result;
  }
}

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;
HttpClient::~HttpClient() = default;

Result<HttpClient> HttpClient::Create(HttpClientOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  FERRY_TRY(impl->Init());
  return HttpClient(std::move(impl));
}

Result<FetchResult> HttpClient::Fetch(const FetchRequest& request, const BodySink& sink) {
  return impl_->Fetch(request, sink);
}

Result<std::string> HttpClient::FetchToString(const std::string& url, std::uint64_t max_length,
                                              const FetchTimeouts& timeouts) {
  FetchRequest req;
  req.url = url;
  req.max_length = max_length;
  req.timeouts = timeouts;
  std::string body;
  FERRY_ASSIGN_OR_RETURN(FetchResult r, Fetch(req, [&body](std::string_view chunk) {
                           body.append(chunk);
                           return OkStatus();
                         }));
  if (r.status < 200 || r.status > 299) {
    const Errc code = (r.status == 404 || r.status == 410) ? Errc::kNotFound : Errc::kIoError;
    return Error(code, "HTTP " + std::to_string(r.status) + " from " + r.final_url);
  }
  return body;
}

}  // namespace ferry::net
