// The server core: listeners, one coroutine per connection on its own strand (the shape of
// Beast's awaitable examples at boost-1.81.0), a worker pool for handlers, file serving with
// sendfile, graceful shutdown. See server.h for the contract and docs/http.md for the limits.
#include "net/server.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/sendfile.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/rate_limiter.h"
#include "net/file_serving.h"
#include "net/request_head.h"

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
constexpr std::size_t kWriteChunk = 256 * 1024;
constexpr std::size_t kCoalesceBody = 64 * 1024;
constexpr std::uint64_t kSendfileYieldBytes = 8ull << 20;
// Room for one socket read of a request body.
constexpr std::size_t kBodyReadBytes = 256 * 1024;
// File bodies up to this size are read and written with their head in one write (no sendfile).
constexpr std::uint64_t kInlineFileBytes = 16 * 1024;
constexpr milliseconds kTlsShutdownTimeout{500};
constexpr milliseconds kForceCloseWait{2000};

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

struct Route {
  std::string method;
  std::vector<std::string> segments;
  bool prefix = false;
  Handler handler;
  std::uint64_t max_body = 0;
  std::size_t max_header = 0;
  bool run_inline = false;
};

std::string EndpointText(const tcp::endpoint& ep) {
  const auto addr = ep.address();
  std::string host = addr.to_string();
  if (addr.is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(ep.port());
}

std::int64_t UnixMillisNow() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<std::shared_ptr<ssl::context>> MakeServerTlsContext(const ListenOptions& l) {
  try {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    ErrorCode ec;
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                         ssl::context::no_sslv3 | ssl::context::single_dh_use,
                     ec);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    ctx->use_certificate_chain_file(l.tls_cert_file, ec);
    if (ec) {
      return Error(Errc::kCryptoError, "TLS certificate " + l.tls_cert_file + ": " + ec.message());
    }
    ctx->use_private_key_file(l.tls_key_file, ssl::context::pem, ec);
    if (ec) {
      return Error(Errc::kCryptoError, "TLS key " + l.tls_key_file + ": " + ec.message());
    }
    if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
      return Error(Errc::kCryptoError,
                   "TLS key " + l.tls_key_file + " does not match certificate " + l.tls_cert_file);
    }
    return ctx;
  } catch (const std::exception& e) {
    return Error(Errc::kCryptoError, std::string("TLS context: ") + e.what());
  }
}

// Splits a route path into segments; "/x/*" is a prefix route.
Result<Route> ParseRoutePath(const std::string& path) {
  Route r;
  std::string p = path;
  if (p.size() >= 2 && p.substr(p.size() - 2) == "/*") {
    r.prefix = true;
    p.resize(p.size() - 1);          // "/x/"
    if (p.size() > 1) p.pop_back();  // "/x"
  }
  auto segs = PercentDecodePath(p);
  if (!segs) return segs.error().WithContext("route path \"" + path + "\"");
  r.segments = std::move(*segs);
  return r;
}

// Match score: higher is more specific; -1 for no match.
int MatchScore(const Route& r, const std::vector<std::string>& segs) {
  if (r.prefix) {
    if (segs.size() <= r.segments.size()) return -1;
    if (!std::equal(r.segments.begin(), r.segments.end(), segs.begin())) return -1;
    return static_cast<int>(r.segments.size()) * 2;
  }
  return r.segments == segs ? static_cast<int>(r.segments.size()) * 2 + 1 : -1;
}

const sigset_t& StopSignals() {
  static const sigset_t set = [] {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGINT);
    sigaddset(&s, SIGTERM);
    sigaddset(&s, SIGHUP);
    return s;
  }();
  return set;
}

void BlockSigpipe() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

// Drops a SIGPIPE left pending on this thread by a failed sendfile.
void ConsumePendingSigpipe() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  const timespec zero{0, 0};
  while (sigtimedwait(&set, nullptr, &zero) == SIGPIPE) {
  }
}

bool IsHttpError(const ErrorCode& ec) {
  return ec.category() == http::make_error_code(http::error::bad_chunk).category();
}

}  // namespace

class ConnectionBase {
 public:
  virtual ~ConnectionBase() = default;
  // Thread-safe. force=false: close if idle, else finish the current request and close.
  // force=true: shut the socket down now.
  virtual void RequestStop(bool force) = 0;
};

struct ListenerState {
  ListenOptions options;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::uint16_t port = 0;
  std::shared_ptr<ssl::context> tls;  // guarded by Server::Impl::mu_
};

class Server::Impl {
 public:
  explicit Impl(ServerOptions options)
      : file_limiter_(options.file_bytes_per_second), opts_(std::move(options)) {
    opts_.io_threads = std::max(1, opts_.io_threads);
    opts_.worker_threads = std::max(1, opts_.worker_threads);
  }

  ~Impl() {
    Stop();
    listeners_.clear();
    ioc_.reset();
  }

  Status AddRoute(std::string method, const std::string& path, Handler handler,
                  const RouteOptions& options) {
    if (started_) return Error(Errc::kWrongOrder, "AddRoute after Start");
    if (!IsValidHeaderName(method)) {
      return Error(Errc::kInvalidArgument, "bad route method \"" + method + "\"");
    }
    if (!handler) return Error(Errc::kInvalidArgument, "route without handler");
    FERRY_ASSIGN_OR_RETURN(Route r, ParseRoutePath(path));
    r.method = std::move(method);
    r.handler = std::move(handler);
    r.max_body = options.max_body_bytes.value_or(opts_.default_max_body_bytes);
    r.max_header = options.max_header_bytes.value_or(opts_.max_header_bytes);
    if (r.max_header > opts_.max_header_bytes) {
      return Error(Errc::kInvalidArgument,
                   "route " + path + ": max_header_bytes " + std::to_string(r.max_header) +
                       " exceeds the server's " + std::to_string(opts_.max_header_bytes));
    }
    r.run_inline = options.run_inline;
    if (r.run_inline) r.max_body = 0;
    for (const Route& other : routes_) {
      if (other.method == r.method && other.prefix == r.prefix && other.segments == r.segments) {
        return Error(Errc::kAlreadyExists, "duplicate route " + r.method + " " + path);
      }
    }
    routes_.push_back(std::move(r));
    return OkStatus();
  }

  // Each connection holds a socket and, while a file is sent, the file: max_connections needs
  // about twice as many descriptors, which the usual soft limit (1024) does not allow. Raise the
  // soft limit toward the hard one, as nginx's worker_rlimit_nofile or Go's runtime do; say so
  // when even the hard limit is too low (accept then fails with EMFILE and backs off).
  void RaiseOpenFileLimit() {
    const rlim_t wanted = static_cast<rlim_t>(opts_.max_connections) * 2 + 256;
    struct rlimit rl;
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= wanted) return;
    const rlim_t target = rl.rlim_max == RLIM_INFINITY ? wanted : std::min(rl.rlim_max, wanted);
    if (target > rl.rlim_cur) {
      rl.rlim_cur = target;
      if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) (void)::getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur < wanted) {
      LogError("max_connections " + std::to_string(opts_.max_connections) + " needs about " +
               std::to_string(wanted) + " open files, but the limit is " +
               std::to_string(rl.rlim_cur) + " (raise it: ulimit -n, or LimitNOFILE= in systemd)");
    }
  }

  Status Start() {
    if (started_) return Error(Errc::kWrongOrder, "server already started");
    if (opts_.listen.empty()) return Error(Errc::kInvalidArgument, "no listeners configured");
    RaiseOpenFileLimit();
    ioc_ = std::make_unique<asio::io_context>(opts_.io_threads);
    for (const ListenOptions& lo : opts_.listen) {
      auto st = OpenListener(lo);
      if (!st) {
        listeners_.clear();
        ioc_.reset();
        return st;
      }
    }
    started_ = true;
    work_.emplace(asio::make_work_guard(*ioc_));
    pool_ = std::make_unique<asio::thread_pool>(static_cast<std::size_t>(opts_.worker_threads));
    for (auto& l : listeners_) {
      ListenerState* state = l.get();
      asio::co_spawn(state->acceptor->get_executor(), AcceptLoop(state),
                     [this](std::exception_ptr e) { LogException(e, "accept loop"); });
    }
    for (int i = 0; i < opts_.io_threads; ++i) {
      io_threads_.emplace_back([this] {
        // sendfile(2) has no MSG_NOSIGNAL: a peer that went away would raise SIGPIPE and kill
        // the process. Block it on the I/O threads only (no process-wide change); the call then
        // fails with EPIPE and the pending signal is consumed (see WriteFile).
        BlockSigpipe();
        for (;;) {
          try {
            ioc_->run();
            return;
          } catch (const std::exception& e) {
            LogError(std::string("I/O thread: ") + e.what());
          }
        }
      });
    }
    return OkStatus();
  }

  std::uint16_t port(std::size_t index) const {
    return index < listeners_.size() ? listeners_[index]->port : 0;
  }

  void Stop() {
    if (!started_ || stopped_) return;
    stopped_ = true;
    stopping_ = true;
    // 1. Stop accepting (acceptors live on their strands).
    {
      std::vector<std::future<void>> closed;
      for (auto& l : listeners_) {
        auto done = std::make_shared<std::promise<void>>();
        closed.push_back(done->get_future());
        asio::post(l->acceptor->get_executor(), [a = l->acceptor.get(), done] {
          ErrorCode ec;
          a->close(ec);
          done->set_value();
        });
      }
      for (auto& f : closed) f.wait();
    }
    // 2. Idle connections close now; busy ones after their current response.
    ForEachSession([](ConnectionBase& c) { c.RequestStop(false); });
    WaitForSessions(opts_.shutdown_grace);
    // 3. Past the grace period: shut every socket down. Handlers blocked in BodyReader::Read
    // fail, the others finish; then the pool drains.
    ForEachSession([](ConnectionBase& c) { c.RequestStop(true); });
    pool_->join();
    WaitForSessions(kForceCloseWait);
    work_.reset();
    ioc_->stop();
    for (auto& t : io_threads_) t.join();
    io_threads_.clear();
  }

  Status ReloadTls() {
    Status result = OkStatus();
    for (auto& l : listeners_) {
      if (!l->options.tls()) continue;
      auto ctx = MakeServerTlsContext(l->options);
      if (!ctx) {
        if (result) result = ctx.error();
        continue;
      }
      std::lock_guard lock(mu_);
      l->tls = std::move(*ctx);
    }
    return result;
  }

  void RunUntilSignal() {
    asio::io_context sig_ioc;
    asio::signal_set signals(sig_ioc, SIGINT, SIGTERM, SIGHUP);
    // The handlers are installed: signals HoldStopSignals kept pending are delivered now, to
    // this thread (the others keep them blocked).
    pthread_sigmask(SIG_UNBLOCK, &StopSignals(), nullptr);
    std::function<void()> arm = [&] {
      signals.async_wait([&](const ErrorCode& ec, int signo) {
        if (ec) return;
        if (signo == SIGHUP) {
          if (auto st = ReloadTls(); !st) LogError("TLS reload: " + st.error().ToString());
          arm();
        }
      });
    };
    arm();
    sig_ioc.run();
    Stop();
  }

  ServerMetrics metrics() const {
    ServerMetrics m;
    m.connections_accepted = accepted_.load();
    m.connections_rejected = rejected_.load();
    m.connections_open = open_.load();
    m.requests = requests_.load();
    for (std::size_t i = 0; i < m.responses_by_class.size(); ++i) {
      m.responses_by_class[i] = by_class_[i].load();
    }
    m.bytes_sent = bytes_sent_.load();
    m.bytes_received = bytes_received_.load();
    m.timeouts = timeouts_.load();
    m.sendfile_bytes = sendfile_bytes_.load();
    return m;
  }

  // --- used by sessions ---------------------------------------------------------------------

  const ServerOptions& opts() const { return opts_; }
  asio::thread_pool::executor_type pool_executor() { return pool_->get_executor(); }

  // Finds the route for a request; sets *status to 404/405 (and *allow) when none.
  const Route* FindRoute(const std::string& method, const std::vector<std::string>& segs,
                         int* status, std::string* allow) const {
    const Route* best = nullptr;
    int best_score = -1;
    std::set<std::string> methods;
    for (const Route& r : routes_) {
      const int score = MatchScore(r, segs);
      if (score < 0) continue;
      methods.insert(r.method);
      const bool method_ok = r.method == method || (method == "HEAD" && r.method == "GET");
      if (!method_ok) continue;
      // A HEAD route beats the GET fallback at equal specificity.
      const int adjusted = score * 2 + (r.method == method ? 1 : 0);
      if (adjusted > best_score) {
        best_score = adjusted;
        best = &r;
      }
    }
    if (best) return best;
    if (methods.empty()) {
      *status = 404;
      return nullptr;
    }
    if (methods.count("GET")) methods.insert("HEAD");
    *status = 405;
    for (const std::string& m : methods) {
      if (!allow->empty()) *allow += ", ";
      *allow += m;
    }
    return nullptr;
  }

  void Register(const std::shared_ptr<ConnectionBase>& c) {
    std::lock_guard lock(mu_);
    sessions_[c.get()] = c;
    open_.fetch_add(1);
  }

  void Unregister(ConnectionBase* c) {
    {
      std::lock_guard lock(mu_);
      sessions_.erase(c);
      open_.fetch_sub(1);
    }
    sessions_cv_.notify_all();
  }

  void LogAccess(const AccessLogEntry& e) {
    if (opts_.access_log) {
      opts_.access_log(e);
    } else {
      std::fprintf(stderr, "%s\n", FormatAccessLog(e).c_str());
    }
  }

  void LogError(const std::string& message) {
    if (opts_.error_log) {
      opts_.error_log(message);
    } else {
      std::fprintf(stderr, "ferry http: %s\n", message.c_str());
    }
  }

  void LogException(std::exception_ptr e, const char* where) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      LogError(std::string(where) + ": " + ex.what());
    } catch (...) {
      LogError(std::string(where) + ": unknown exception");
    }
  }

  void CountResponse(int status) {
    const int cls = status / 100;
    if (cls >= 1 && cls <= 5) by_class_[static_cast<std::size_t>(cls)].fetch_add(1);
  }

  bool stopping() const { return stopping_.load(); }

  std::atomic<std::uint64_t> accepted_{0}, rejected_{0}, open_{0}, requests_{0};
  std::array<std::atomic<std::uint64_t>, 6> by_class_{};
  std::atomic<std::uint64_t> bytes_sent_{0}, bytes_received_{0}, timeouts_{0}, sendfile_bytes_{0};
  RateLimiter file_limiter_;  // ServerOptions::file_bytes_per_second

 private:
  Status OpenListener(const ListenOptions& lo) {
    auto state = std::make_unique<ListenerState>();
    state->options = lo;
    if (lo.tls()) {
      if (lo.tls_key_file.empty()) {
        return Error(Errc::kInvalidArgument, "TLS listener without a key file");
      }
      FERRY_ASSIGN_OR_RETURN(state->tls, MakeServerTlsContext(lo));
    }
    ErrorCode ec;
    const auto addr = asio::ip::make_address(lo.address, ec);
    if (ec) return Error(Errc::kInvalidArgument, "bad listen address \"" + lo.address + "\"");
    const tcp::endpoint ep(addr, lo.port);
    const std::string where = EndpointText(ep);
    state->acceptor = std::make_unique<tcp::acceptor>(asio::make_strand(*ioc_));
    auto& a = *state->acceptor;
    if (a.open(ep.protocol(), ec); ec) {
      return Error(Errc::kIoError, "listen " + where + ": " + ec.message());
    }
    a.set_option(asio::socket_base::reuse_address(true), ec);
    if (a.bind(ep, ec); ec) return Error(Errc::kIoError, "bind " + where + ": " + ec.message());
    if (a.listen(asio::socket_base::max_listen_connections, ec); ec) {
      return Error(Errc::kIoError, "listen " + where + ": " + ec.message());
    }
    state->port = a.local_endpoint(ec).port();
    listeners_.push_back(std::move(state));
    return OkStatus();
  }

  asio::awaitable<void> AcceptLoop(ListenerState* l);

  void ForEachSession(const std::function<void(ConnectionBase&)>& fn) {
    std::vector<std::shared_ptr<ConnectionBase>> live;
    {
      std::lock_guard lock(mu_);
      for (auto& [ptr, weak] : sessions_) {
        if (auto s = weak.lock()) live.push_back(std::move(s));
      }
    }
    for (auto& s : live) fn(*s);
  }

  void WaitForSessions(milliseconds timeout) {
    std::unique_lock lock(mu_);
    sessions_cv_.wait_for(lock, timeout, [&] { return sessions_.empty(); });
  }

  ServerOptions opts_;
  std::vector<Route> routes_;
  std::atomic<bool> started_{false};
  bool stopped_ = false;
  std::atomic<bool> stopping_{false};

  mutable std::mutex mu_;
  std::condition_variable sessions_cv_;
  std::unordered_map<ConnectionBase*, std::weak_ptr<ConnectionBase>> sessions_;

  std::vector<std::unique_ptr<ListenerState>> listeners_;
  std::unique_ptr<asio::thread_pool> pool_;
  std::vector<std::thread> io_threads_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  // Destroyed explicitly in ~Impl, after everything that refers to it.
  std::unique_ptr<asio::io_context> ioc_;

 public:
  std::shared_ptr<ssl::context> CurrentTls(ListenerState* l) {
    std::lock_guard lock(mu_);
    return l->tls;
  }
};

namespace {

// What ReadBody reports to the worker thread (default-constructible for co_spawn).
struct ReadOutcome {
  std::size_t n = 0;
  Errc code = Errc::kOk;
  std::string message;
};

}  // namespace

template <class Stream>
class Session final : public ConnectionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  Session(Server::Impl& srv, Stream stream, std::string remote, std::shared_ptr<ssl::context> tls)
      : srv_(srv),
        opts_(srv.opts()),
        tls_(std::move(tls)),
        stream_(std::move(stream)),
        watchdog_(stream_.get_executor()),
        remote_(std::move(remote)),
        scanner_(opts_.max_header_bytes) {}

  ~Session() override { srv_.Unregister(this); }

  void RequestStop(bool force) override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this(), force] {
      self->stop_requested_ = true;
      if (force) {
        ErrorCode ec;
        self->socket().shutdown(tcp::socket::shutdown_both, ec);
        self->socket().cancel(ec);
      } else if (self->idle_) {
        ErrorCode ec;
        self->socket().cancel(ec);
      }
    });
  }

  asio::awaitable<void> Run(std::shared_ptr<Session> self);

  // Runs on the strand, called (through co_spawn) by the worker's BodyReader.
  asio::awaitable<ReadOutcome> ReadBody(std::span<char> out);

  auto executor() { return stream_.get_executor(); }
  bool body_done() const { return !parser_ || parser_->is_done(); }
  std::optional<std::uint64_t> content_length() const { return content_length_; }

 private:
  struct HeadOutcome {
    enum Kind { kOk, kClose, kReject } kind = kClose;
    HeadSpan span;
    int status = 0;
    std::string why;
  };

  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }
  tcp::socket& socket() { return lowest().socket(); }

  asio::awaitable<HeadOutcome> ReadHead(bool first_request);
  // Serves one request whose head is `span` in buffer_; returns whether to keep the connection.
  asio::awaitable<bool> ServeOne(HeadSpan span, bool last_allowed);
  asio::awaitable<Reply> CallHandler(const Route& route, Request& req);
  asio::awaitable<bool> WriteAll(std::string_view data);
  asio::awaitable<bool> WaitWritable();
  // Pays for `n` file-body bytes just sent under ServerOptions::file_bytes_per_second: waits
  // while the server is over its cap.
  asio::awaitable<void> Throttle(std::uint64_t n);
  asio::awaitable<bool> WriteResponse(Response& r, const std::string& method, int version_minor,
                                      bool keep_alive, std::uint64_t* body_bytes);
  asio::awaitable<bool> WriteFile(FileResponse& f, Request& req, bool keep_alive, int* status,
                                  std::uint64_t* body_bytes);
  asio::awaitable<void> Close(bool linger);

  std::string BuildHead(int status, const Headers& fields, std::optional<std::uint64_t> length,
                        int version_minor, bool keep_alive);
  ReadOutcome FailBody(const ErrorCode& ec);

  Server::Impl& srv_;
  const ServerOptions& opts_;
  std::shared_ptr<ssl::context> tls_;  // outlives stream_ (declared before it)
  Stream stream_;
  asio::steady_timer watchdog_;
  std::uint64_t watchdog_gen_ = 0;
  bool watchdog_fired_ = false;
  std::string remote_;
  beast::flat_buffer buffer_;
  RequestHeadScanner scanner_;
  bool idle_ = false;
  bool stop_requested_ = false;

  // Per request.
  std::optional<http::request_parser<http::buffer_body>> parser_;
  std::optional<std::uint64_t> content_length_;
  bool expect_continue_ = false;
  bool continue_sent_ = false;
  std::optional<ReadOutcome> body_error_;
  std::uint64_t body_received_ = 0;
  SteadyClock::duration body_wait_{};
};

namespace {

template <class Stream>
class SessionBodyReader final : public BodyReader {
 public:
  SessionBodyReader(Session<Stream>* session, bool on_io_thread)
      : session_(session), on_io_thread_(on_io_thread) {}

  Result<std::size_t> Read(std::span<char> buffer) override {
    if (error_) return *error_;
    if (on_io_thread_) {
      // Inline routes take no body (the core refused one with 413 before calling them).
      if (session_->body_done()) return std::size_t{0};
      error_ = Error(Errc::kUnsupported, "inline routes cannot read a request body");
      return *error_;
    }
    auto promise = std::make_shared<std::promise<ReadOutcome>>();
    auto future = promise->get_future();
    asio::co_spawn(session_->executor(), session_->ReadBody(buffer),
                   [promise](std::exception_ptr e, ReadOutcome outcome) {
                     if (e) outcome = ReadOutcome{0, Errc::kIoError, "internal error"};
                     promise->set_value(std::move(outcome));
                   });
    ReadOutcome outcome;
    try {
      outcome = future.get();
    } catch (const std::future_error&) {
      outcome = ReadOutcome{0, Errc::kIoError, "server stopping"};
    }
    if (outcome.code != Errc::kOk) {
      error_ = Error(outcome.code, outcome.message);
      return *error_;
    }
    return outcome.n;
  }

  std::optional<std::uint64_t> content_length() const override {
    return session_->content_length();
  }

 private:
  Session<Stream>* session_;
  bool on_io_thread_;
  std::optional<Error> error_;
};

}  // namespace

asio::awaitable<void> Server::Impl::AcceptLoop(ListenerState* l) {
  asio::steady_timer backoff(l->acceptor->get_executor());
  for (;;) {
    asio::any_io_executor conn_ex = asio::make_strand(*ioc_);
    auto [ec, sock] = co_await l->acceptor->async_accept(conn_ex, kNoThrow);
    if (stopping_) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) co_return;
      LogError("accept: " + ec.message());
      // EMFILE and friends: do not spin.
      backoff.expires_after(milliseconds(100));
      co_await backoff.async_wait(kNoThrow);
      continue;
    }
    accepted_.fetch_add(1);
    if (open_.load() >= opts_.max_connections) {
      rejected_.fetch_add(1);
      ErrorCode ignored;
      sock.close(ignored);
      continue;
    }
    ErrorCode ep_ec;
    const std::string remote = EndpointText(sock.remote_endpoint(ep_ec));
    sock.set_option(tcp::no_delay(true), ep_ec);
    if (l->options.tls()) {
      auto ctx = CurrentTls(l);
      auto s = std::make_shared<Session<TlsStream>>(
          *this, TlsStream(beast::tcp_stream(std::move(sock)), *ctx), remote, ctx);
      Register(s);
      asio::co_spawn(s->executor(), s->Run(s),
                     [this](std::exception_ptr e) { LogException(e, "TLS connection"); });
    } else {
      auto s = std::make_shared<Session<PlainStream>>(*this, PlainStream(std::move(sock)), remote,
                                                      nullptr);
      Register(s);
      asio::co_spawn(s->executor(), s->Run(s),
                     [this](std::exception_ptr e) { LogException(e, "connection"); });
    }
  }
}

template <class Stream>
asio::awaitable<void> Session<Stream>::Run(std::shared_ptr<Session> self) {
  bool linger = false;
  if constexpr (kTls) {
    idle_ = true;  // Stop() may cancel a handshake at once
    lowest().expires_after(opts_.tls_handshake_timeout);
    auto [ec] = co_await stream_.async_handshake(ssl::stream_base::server, kNoThrow);
    idle_ = false;
    if (ec || stop_requested_) {
      if (ec == beast::error::timeout) srv_.timeouts_.fetch_add(1);
      ErrorCode ignored;
      socket().close(ignored);
      co_return;
    }
  }
  for (std::size_t n = 0;; ++n) {
    if (stop_requested_) break;
    HeadOutcome head = co_await ReadHead(n == 0);
    if (head.kind == HeadOutcome::kClose) break;
    if (head.kind == HeadOutcome::kReject) {
      Response r = Response::Error(head.status, head.why);
      std::uint64_t body_bytes = 0;
      srv_.requests_.fetch_add(1);
      co_await WriteResponse(r, "GET", 1, /*keep_alive=*/false, &body_bytes);
      srv_.LogAccess(
          AccessLogEntry{UnixMillisNow(), remote_, "-", "-", head.status, body_bytes, 0, kTls});
      linger = true;
      break;
    }
    const bool keep = co_await ServeOne(head.span, n + 1 >= opts_.max_requests_per_connection);
    if (!keep) {
      linger = !body_done() || buffer_.size() > 0;
      break;
    }
  }
  co_await Close(linger);
  (void)self;
}

template <class Stream>
asio::awaitable<typename Session<Stream>::HeadOutcome> Session<Stream>::ReadHead(
    bool first_request) {
  HeadOutcome out;
  scanner_.Reset();
  const std::size_t cap = opts_.max_header_bytes + 16;
  auto deadline = SteadyClock::now() + opts_.header_timeout;
  idle_ = buffer_.size() == 0;
  if (idle_ && !first_request) deadline = SteadyClock::now() + opts_.idle_timeout;
  for (;;) {
    const std::string_view data(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    auto scanned = scanner_.Scan(data);
    if (!scanned) {
      idle_ = false;
      out.kind = HeadOutcome::kReject;
      out.status = HttpStatusForHeadError(scanned.error());
      out.why = scanned.error().message();
      co_return out;
    }
    if (scanned->has_value()) {
      idle_ = false;
      out.kind = HeadOutcome::kOk;
      out.span = **scanned;
      co_return out;
    }
    if (buffer_.size() >= cap) {
      out.kind = HeadOutcome::kReject;
      out.status = 431;
      out.why = "request head too large";
      co_return out;
    }
    if (stop_requested_ && idle_) co_return out;  // kClose
    lowest().expires_at(deadline);
    auto [ec, n] = co_await stream_.async_read_some(
        buffer_.prepare(std::min<std::size_t>(cap - buffer_.size(), 4096)), kNoThrow);
    if (ec) {
      if (ec == beast::error::timeout) srv_.timeouts_.fetch_add(1);
      co_return out;  // kClose: timeout, EOF, reset or Stop()
    }
    buffer_.commit(n);
    srv_.bytes_received_.fetch_add(n);
    if (idle_ && n > 0) {
      idle_ = false;
      deadline = SteadyClock::now() + opts_.header_timeout;
    }
  }
}

template <class Stream>
asio::awaitable<bool> Session<Stream>::ServeOne(HeadSpan span, bool last_allowed) {
  const auto started = SteadyClock::now();
  const std::int64_t started_unix_ms = UnixMillisNow();
  srv_.requests_.fetch_add(1);
  const std::string_view head(static_cast<const char*>(buffer_.data().data()) + span.begin,
                              span.end - span.begin);
  parser_.reset();
  content_length_.reset();
  expect_continue_ = false;
  continue_sent_ = false;
  body_error_.reset();
  body_received_ = 0;
  body_wait_ = {};

  AccessLogEntry log{started_unix_ms, remote_, "-", "-", 0, 0, 0, kTls};
  auto finish_log = [&](int status, std::uint64_t body_bytes) {
    log.status = status;
    log.body_bytes = body_bytes;
    log.duration_ms =
        std::chrono::duration_cast<milliseconds>(SteadyClock::now() - started).count();
    srv_.LogAccess(log);
  };

  auto parsed =
      ParseRequestHead(head, RequestHeadLimits{opts_.max_header_bytes, opts_.max_header_fields});
  if (!parsed) {
    const int status = HttpStatusForHeadError(parsed.error());
    Response r = Response::Error(status, parsed.error().message());
    std::uint64_t body_bytes = 0;
    co_await WriteResponse(r, "GET", 1, false, &body_bytes);
    finish_log(status, body_bytes);
    co_return false;
  }
  RequestHead& h = *parsed;
  Request req;
  req.method = h.method;
  req.target = h.target;
  const std::size_t qmark = h.target.find('?');
  req.path = h.target.substr(0, qmark);
  if (qmark != std::string::npos) req.query = h.target.substr(qmark + 1);
  req.version_minor = h.version_minor;
  for (Header& f : h.fields) req.headers.Add(std::move(f.name), std::move(f.value));
  req.remote_address = remote_;
  req.tls = kTls;
  req.content_length = h.content_length;
  req.chunked = h.chunked;
  log.method = req.method;
  log.target = req.target;
  const bool body_pending = req.has_body();
  const bool head_keep_alive = h.keep_alive && !last_allowed;

  // Answers without calling a handler. A request whose body we will not read closes the
  // connection (lingering), since the body bytes would otherwise be read as the next request.
  auto reject = [&](int status, std::string_view detail,
                    Headers extra = {}) -> asio::awaitable<bool> {
    Response r = Response::Error(status, detail);
    for (const Header& f : extra) r.headers.Set(f.name, f.value);
    const bool keep = head_keep_alive && !body_pending && !stop_requested_;
    std::uint64_t body_bytes = 0;
    const bool ok = co_await WriteResponse(r, req.method, req.version_minor, keep, &body_bytes);
    finish_log(status, body_bytes);
    if (!keep && body_pending && !parser_) parser_.emplace();  // body unread: linger on close
    co_return ok&& keep;
  };

  auto consume_head = [&] { buffer_.consume(span.end); };
  // Copy what is needed from `head` before the buffer changes.
  const std::string head_copy(head);
  consume_head();

  if (h.expect_unsupported) co_return co_await reject(417, "only 100-continue is supported");
  auto segments = PercentDecodePath(req.path);
  if (!segments) co_return co_await reject(400, segments.error().message());
  req.segments = std::move(*segments);

  int route_status = 0;
  std::string allow;
  const Route* route = srv_.FindRoute(req.method, req.segments, &route_status, &allow);
  if (!route) {
    Headers extra;
    if (route_status == 405) extra.Add("Allow", allow);
    co_return co_await reject(route_status, {}, extra);
  }
  if (route->prefix) {
    req.route_rest.assign(
        req.segments.begin() + static_cast<std::ptrdiff_t>(route->segments.size()),
        req.segments.end());
  }
  if (head_copy.size() > route->max_header) {
    co_return co_await reject(431, "request head of " + std::to_string(head_copy.size()) +
                                       " bytes exceeds " + std::to_string(route->max_header) +
                                       " for this path");
  }
  if (body_pending && route->run_inline) co_return co_await reject(413, "no body allowed here");
  if (req.content_length && *req.content_length > route->max_body) {
    co_return co_await reject(413, "request body of " + std::to_string(*req.content_length) +
                                       " bytes exceeds " + std::to_string(route->max_body));
  }

  // Beast's parser frames the body; it gets the head we validated.
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(opts_.max_header_bytes + 64));
  parser_->body_limit(route->max_body);
  {
    ErrorCode ec;
    parser_->put(asio::buffer(head_copy), ec);
    if (ec || !parser_->is_header_done()) {
      co_return co_await reject(400, "malformed request head");
    }
  }
  content_length_ = req.content_length;
  expect_continue_ = h.expect_continue && body_pending;

  Reply reply = co_await CallHandler(*route, req);

  if (body_error_) {
    // The body failed under the handler: its reply is moot.
    if (body_error_->code == Errc::kTooLarge) co_return co_await reject(413, body_error_->message);
    if (body_error_->code == Errc::kParseError)
      co_return co_await reject(400, body_error_->message);
    finish_log(0, 0);
    co_return false;
  }

  const bool want_close = std::visit(
      [](auto& r) {
        if constexpr (std::is_same_v<std::decay_t<decltype(r)>, Response>) return r.close;
        return false;
      },
      reply);
  const bool keep = head_keep_alive && !want_close && parser_->is_done() && !stop_requested_;
  int status = 0;
  std::uint64_t body_bytes = 0;
  bool ok = false;
  if (auto* resp = std::get_if<Response>(&reply)) {
    status = resp->status;
    ok = co_await WriteResponse(*resp, req.method, req.version_minor, keep, &body_bytes);
    if (status < 200 || status > 599) status = 500;
  } else {
    ok = co_await WriteFile(std::get<FileResponse>(reply), req, keep, &status, &body_bytes);
  }
  finish_log(status, body_bytes);
  co_return ok&& keep;
}

template <class Stream>
asio::awaitable<Reply> Session<Stream>::CallHandler(const Route& route, Request& req) {
  auto invoke = [this, &route, &req](BodyReader& body) -> Reply {
    try {
      return route.handler(req, body);
    } catch (const std::exception& e) {
      srv_.LogError("handler for " + req.method + " " + req.target + " threw: " + e.what());
    } catch (...) {
      srv_.LogError("handler for " + req.method + " " + req.target + " threw");
    }
    return Response::Error(500);
  };
  if (route.run_inline) {
    SessionBodyReader<Stream> body(this, /*on_io_thread=*/true);
    co_return invoke(body);
  }
  // The connection waits here while the handler runs on the worker pool; co_spawn resumes this
  // coroutine on the connection's strand when it returns.
  co_return co_await asio::co_spawn(
      srv_.pool_executor(),
      [this, &invoke]() -> asio::awaitable<Reply> {
        SessionBodyReader<Stream> body(this, /*on_io_thread=*/false);
        co_return invoke(body);
      },
      asio::use_awaitable);
}

template <class Stream>
ReadOutcome Session<Stream>::FailBody(const ErrorCode& ec) {
  ReadOutcome o;
  if (ec == http::error::body_limit) {
    o = {0, Errc::kTooLarge, "request body exceeds the route's limit"};
  } else if (ec == beast::error::timeout) {
    srv_.timeouts_.fetch_add(1);
    o = {0, Errc::kTimeout, "request body too slow"};
  } else if (ec == http::error::partial_message || ec == asio::error::eof) {
    o = {0, Errc::kIoError, "client closed the connection mid-body"};
  } else if (IsHttpError(ec)) {
    o = {0, Errc::kParseError, "malformed request body: " + ec.message()};
  } else {
    o = {0, Errc::kIoError, "reading request body: " + ec.message()};
  }
  body_error_ = o;
  return o;
}

template <class Stream>
asio::awaitable<ReadOutcome> Session<Stream>::ReadBody(std::span<char> out) {
  if (body_error_) co_return *body_error_;
  if (!parser_) co_return ReadOutcome{};
  if (expect_continue_ && !continue_sent_ && !parser_->is_done()) {
    continue_sent_ = true;
    static constexpr std::string_view k100 = "HTTP/1.1 100 Continue\r\n\r\n";
    if (!co_await WriteAll(k100)) {
      body_error_ = ReadOutcome{0, Errc::kIoError, "could not send 100 Continue"};
      co_return *body_error_;
    }
    srv_.CountResponse(100);
  }
  if (parser_->is_done() || out.empty()) co_return ReadOutcome{};
  // Beast's read_some reads at most the buffer's spare capacity (at least 512 bytes), and the
  // head reads leave it at a few KiB: without room a 100 MiB upload arrived in 4 KiB pieces,
  // each a socket read, a timer update and a hop between the handler's thread and this one
  // (14 ms of server CPU per MiB).
  if (buffer_.capacity() < kBodyReadBytes) buffer_.reserve(kBodyReadBytes);
  const auto base = std::chrono::duration_cast<SteadyClock::duration>(opts_.body_read_timeout);
  for (;;) {
    // Rate rule: waiting time <= body_read_timeout + received / body_min_rate.
    const auto allowed =
        base + std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(
                   static_cast<double>(body_received_) /
                   static_cast<double>(std::max<std::uint64_t>(1, opts_.body_min_rate))));
    const auto remaining = allowed - body_wait_;
    if (remaining <= SteadyClock::duration::zero()) {
      co_return FailBody(beast::error::timeout);
    }
    auto& body = parser_->get().body();
    body.data = out.data();
    body.size = out.size();
    body.more = true;
    lowest().expires_after(std::min(base, remaining));
    const auto t0 = SteadyClock::now();
    auto [ec, n] = co_await http::async_read_some(stream_, buffer_, *parser_, kNoThrow);
    body_wait_ += SteadyClock::now() - t0;
    srv_.bytes_received_.fetch_add(n);
    const std::size_t got = out.size() - body.size;
    body.data = nullptr;
    body.size = 0;
    if (ec == http::error::need_buffer) ec = {};
    if (ec) co_return FailBody(ec);
    body_received_ += got;
    if (got > 0 || parser_->is_done()) co_return ReadOutcome{got, Errc::kOk, {}};
  }
}

template <class Stream>
asio::awaitable<bool> Session<Stream>::WriteAll(std::string_view data) {
  while (!data.empty()) {
    const std::size_t chunk = std::min(data.size(), kWriteChunk);
    lowest().expires_after(opts_.write_timeout);
    auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(data.data(), chunk), kNoThrow);
    srv_.bytes_sent_.fetch_add(n);
    if (ec) {
      if (ec == beast::error::timeout) srv_.timeouts_.fetch_add(1);
      co_return false;
    }
    data.remove_prefix(chunk);
  }
  co_return true;
}

template <class Stream>
asio::awaitable<void> Session<Stream>::Throttle(std::uint64_t n) {
  const auto wait = srv_.file_limiter_.Charge(n);
  if (wait.count() <= 0) co_return;
  asio::steady_timer timer(stream_.get_executor());
  timer.expires_after(wait);
  auto [ec] = co_await timer.async_wait(kNoThrow);
  (void)ec;
}

template <class Stream>
asio::awaitable<bool> Session<Stream>::WaitWritable() {
  const std::uint64_t gen = ++watchdog_gen_;
  watchdog_fired_ = false;
  watchdog_.expires_after(opts_.write_timeout);
  watchdog_.async_wait([self = this->shared_from_this(), gen](const ErrorCode& ec) {
    if (ec || gen != self->watchdog_gen_) return;
    self->watchdog_fired_ = true;
    ErrorCode ignored;
    self->socket().cancel(ignored);
  });
  auto [ec] = co_await socket().async_wait(tcp::socket::wait_write, kNoThrow);
  ++watchdog_gen_;
  watchdog_.cancel();
  if (watchdog_fired_) {
    srv_.timeouts_.fetch_add(1);
    co_return false;
  }
  co_return !ec;
}

template <class Stream>
std::string Session<Stream>::BuildHead(int status, const Headers& fields,
                                       std::optional<std::uint64_t> length, int version_minor,
                                       bool keep_alive) {
  std::string head;
  head.reserve(256);
  head += "HTTP/1.1 ";
  head += std::to_string(status);
  head += ' ';
  head += ReasonPhrase(status);
  head += "\r\nDate: ";
  head += FormatHttpDate(std::time(nullptr));
  head += "\r\n";
  if (!opts_.server_name.empty()) {
    head += "Server: ";
    head += opts_.server_name;
    head += "\r\n";
  }
  for (const Header& f : fields) {
    if (EqualsIgnoreCase(f.name, "content-length") ||
        EqualsIgnoreCase(f.name, "transfer-encoding") || EqualsIgnoreCase(f.name, "connection") ||
        EqualsIgnoreCase(f.name, "date") || EqualsIgnoreCase(f.name, "server")) {
      continue;
    }
    head += f.name;
    head += ": ";
    head += f.value;
    head += "\r\n";
  }
  if (length) {
    head += "Content-Length: ";
    head += std::to_string(*length);
    head += "\r\n";
  }
  if (!keep_alive) {
    head += "Connection: close\r\n";
  } else if (version_minor == 0) {
    head += "Connection: keep-alive\r\n";
  }
  head += "\r\n";
  return head;
}

template <class Stream>
asio::awaitable<bool> Session<Stream>::WriteResponse(Response& r, const std::string& method,
                                                     int version_minor, bool keep_alive,
                                                     std::uint64_t* body_bytes) {
  bool valid = r.status >= 200 && r.status <= 599;
  for (const Header& f : r.headers) {
    valid = valid && IsValidHeaderName(f.name) && IsValidHeaderValue(f.value);
  }
  if (!valid) {
    srv_.LogError("handler produced an invalid response (status " + std::to_string(r.status) +
                  " or a bad header field); answering 500");
    r = Response::Error(500);
  }
  const bool no_body = r.status == 204 || r.status == 304;
  std::string head = BuildHead(r.status, r.headers,
                               no_body ? std::nullopt : std::optional<std::uint64_t>(r.body.size()),
                               version_minor, keep_alive);
  srv_.CountResponse(r.status);
  const bool send_body = !no_body && method != "HEAD";
  *body_bytes = send_body ? r.body.size() : 0;
  if (send_body && r.body.size() <= kCoalesceBody) {
    head += r.body;
    co_return co_await WriteAll(head);
  }
  if (!co_await WriteAll(head)) co_return false;
  if (send_body) co_return co_await WriteAll(r.body);
  co_return true;
}

template <class Stream>
asio::awaitable<bool> Session<Stream>::WriteFile(FileResponse& f, Request& req, bool keep_alive,
                                                 int* status, std::uint64_t* body_bytes) {
  UniqueFd fd = std::move(f.fd);
  if (!fd.valid()) {
    fd.reset(::open(f.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid()) {
      const int err = errno;
      *status = (err == ENOENT || err == ENOTDIR) ? 404
                : (err == EACCES || err == ELOOP) ? 403
                                                  : 500;
      if (*status == 500) srv_.LogError("open " + f.path + ": " + ErrnoText(err));
      Response r = Response::Error(*status);
      co_return co_await WriteResponse(r, req.method, req.version_minor, keep_alive, body_bytes);
    }
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    *status = 404;
    Response r = Response::Error(404);
    co_return co_await WriteResponse(r, req.method, req.version_minor, keep_alive, body_bytes);
  }
  const FileInfo info{static_cast<std::uint64_t>(st.st_size), st.st_mtim.tv_sec,
                      st.st_mtim.tv_nsec};
  const std::string method = req.method == "HEAD" ? "HEAD" : "GET";
  FilePlan plan = PlanFileResponse(method, req.headers, f, info);
  bool valid = true;
  for (const Header& h : plan.headers) {
    valid = valid && IsValidHeaderName(h.name) && IsValidHeaderValue(h.value);
  }
  if (!valid) {
    srv_.LogError("file response with a bad header field; answering 500");
    *status = 500;
    Response r = Response::Error(500);
    co_return co_await WriteResponse(r, req.method, req.version_minor, keep_alive, body_bytes);
  }
  *status = plan.status;
  srv_.CountResponse(plan.status);
  // The plan's Content-Length (absent for 304) is passed as the length, since BuildHead drops
  // framing fields from the list.
  std::optional<std::uint64_t> length;
  if (auto cl = plan.headers.Get("Content-Length")) length = std::stoull(std::string(*cl));
  const std::string head =
      BuildHead(plan.status, plan.headers, length, req.version_minor, keep_alive);
  if (plan.length == 0) co_return co_await WriteAll(head);

  std::uint64_t remaining = plan.length;
  auto offset = static_cast<off_t>(plan.offset);
  if (remaining <= kInlineFileBytes) {
    // Small bodies go out with the head in one write: for a 1 KiB file, sendfile's extra
    // syscalls (two TCP_CORK toggles, the non-blocking switch, sendfile) cost more than the
    // copy they save.
    std::string out = head;
    out.resize(head.size() + static_cast<std::size_t>(remaining));
    char* dst = out.data() + head.size();
    while (remaining > 0) {
      const ssize_t n = ::pread(fd.get(), dst, static_cast<std::size_t>(remaining), offset);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        srv_.LogError("read " + f.path + ": " + (n == 0 ? "file shrank" : ErrnoText(errno)));
        co_return false;
      }
      dst += n;
      offset += n;
      remaining -= static_cast<std::uint64_t>(n);
    }
    if (!co_await WriteAll(out)) co_return false;
    *body_bytes += plan.length;
    co_await Throttle(plan.length);
    co_return true;
  }
  if constexpr (!kTls) {
    // Zero copy: the head, then sendfile(2) on the raw socket; on EAGAIN wait for writability.
    // TCP_CORK lets the head and the first file bytes share packets.
    const int fd_sock = socket().native_handle();
    int on = 1;
    ::setsockopt(fd_sock, IPPROTO_TCP, TCP_CORK, &on, sizeof on);
    const bool head_ok = co_await WriteAll(head);
    ErrorCode ec;
    socket().native_non_blocking(true, ec);
    bool ok = head_ok && !ec;
    std::uint64_t since_yield = 0;
    // Under a bandwidth cap, small steps so the wait between them stays short.
    const std::uint64_t step = opts_.file_bytes_per_second > 0 ? 64 * 1024 : 1 << 30;
    while (ok && remaining > 0) {
      const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, step));
      const ssize_t n = ::sendfile(fd_sock, fd.get(), &offset, want);
      if (n > 0) {
        remaining -= static_cast<std::uint64_t>(n);
        *body_bytes += static_cast<std::uint64_t>(n);
        srv_.bytes_sent_.fetch_add(static_cast<std::uint64_t>(n));
        srv_.sendfile_bytes_.fetch_add(static_cast<std::uint64_t>(n));
        if (opts_.file_bytes_per_second > 0) {
          co_await Throttle(static_cast<std::uint64_t>(n));
          since_yield = 0;
          continue;
        }
        since_yield += static_cast<std::uint64_t>(n);
        if (since_yield >= kSendfileYieldBytes) {
          // A fast reader must not monopolize the I/O thread.
          since_yield = 0;
          co_await asio::post(stream_.get_executor(), asio::use_awaitable);
        }
        continue;
      }
      if (n == 0) {
        srv_.LogError("sendfile " + f.path + ": file shrank while being sent");
        ok = false;
      } else if (errno == EINTR) {
        continue;
      } else if (errno == EAGAIN) {
        since_yield = 0;
        ok = co_await WaitWritable();
      } else {
        if (errno == EPIPE) ConsumePendingSigpipe();
        ok = false;  // EPIPE, ECONNRESET: the client went away
      }
    }
    int off_flag = 0;
    ::setsockopt(fd_sock, IPPROTO_TCP, TCP_CORK, &off_flag, sizeof off_flag);
    co_return ok;
  } else {
    // TLS: no kernel TLS on these machines, so copy through a buffer.
    if (!co_await WriteAll(head)) co_return false;
    std::string buf(std::max<std::size_t>(opts_.file_copy_buffer_bytes, 4096), '\0');
    while (remaining > 0) {
      const std::size_t want =
          static_cast<std::size_t>(std::min<std::uint64_t>(remaining, buf.size()));
      const ssize_t n = ::pread(fd.get(), buf.data(), want, offset);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        srv_.LogError("read " + f.path + ": " + (n == 0 ? "file shrank" : ErrnoText(errno)));
        co_return false;
      }
      offset += n;
      remaining -= static_cast<std::uint64_t>(n);
      if (!co_await WriteAll(std::string_view(buf.data(), static_cast<std::size_t>(n)))) {
        co_return false;
      }
      *body_bytes += static_cast<std::uint64_t>(n);
      co_await Throttle(static_cast<std::uint64_t>(n));
    }
    co_return true;
  }
}

template <class Stream>
asio::awaitable<void> Session<Stream>::Close(bool linger) {
  ErrorCode ec;
  if constexpr (kTls) {
    lowest().expires_after(kTlsShutdownTimeout);
    auto [shutdown_ec] = co_await stream_.async_shutdown(kNoThrow);
    (void)shutdown_ec;
    socket().close(ec);
    co_return;
  }
  socket().shutdown(tcp::socket::shutdown_send, ec);
  if (linger && !ec) {
    // Lingering close: read and drop what the client still sends, so that closing with unread
    // bytes does not reset the connection before the client has read our response.
    const auto deadline = SteadyClock::now() + opts_.linger_timeout;
    std::size_t drained = 0;
    char scratch[16 * 1024];
    while (drained < opts_.linger_max_bytes) {
      lowest().expires_at(deadline);
      auto [read_ec, n] = co_await lowest().async_read_some(asio::buffer(scratch), kNoThrow);
      if (read_ec) break;
      drained += n;
    }
  }
  socket().close(ec);
}

Result<std::string> BodyReader::ReadAll() {
  std::string out;
  if (auto cl = content_length())
    out.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(*cl, 1 << 24)));
  char buf[64 * 1024];
  for (;;) {
    FERRY_ASSIGN_OR_RETURN(std::size_t n, Read(std::span<char>(buf, sizeof buf)));
    if (n == 0) return out;
    out.append(buf, n);
  }
}

std::string FormatAccessLog(const AccessLogEntry& e) {
  const std::time_t secs = static_cast<std::time_t>(e.unix_millis / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char when[96];
  std::snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(e.unix_millis % 1000));
  std::string target;
  for (char c : e.target) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\' || u < 0x20 || u >= 0x7F) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\x%02X", u);
      target += esc;
    } else {
      target += c;
    }
  }
  std::string line = when;
  line += " remote=" + e.remote + " method=" + e.method + " target=\"" + target +
          "\" status=" + std::to_string(e.status) + " bytes=" + std::to_string(e.body_bytes) +
          " ms=" + std::to_string(e.duration_ms) + " tls=" + (e.tls ? "1" : "0");
  return line;
}

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Server::~Server() = default;

Status Server::AddRoute(std::string method, std::string path, Handler handler,
                        RouteOptions options) {
  return impl_->AddRoute(std::move(method), path, std::move(handler), options);
}
Status Server::Start() { return impl_->Start(); }
std::uint16_t Server::port(std::size_t index) const { return impl_->port(index); }
void Server::Stop() { impl_->Stop(); }
Status Server::ReloadTls() { return impl_->ReloadTls(); }
void Server::RunUntilSignal() { impl_->RunUntilSignal(); }
void HoldStopSignals() { pthread_sigmask(SIG_BLOCK, &StopSignals(), nullptr); }
ServerMetrics Server::metrics() const { return impl_->metrics(); }

}  // namespace ferry::net
