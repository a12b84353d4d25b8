// The client against Ferry's own server and against scripted raw-socket servers that misbehave
// (lie about lengths, trickle, stall), all on 127.0.0.1.
#include "net/http_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "net/server.h"
#include "tests/net/net_test_util.h"
#include "tests/testutil/testutil.h"

namespace ferry::net {
namespace {

using testing::Req;

using namespace std::chrono_literals;
using testing::ReadRequestHead;
using testing::ScriptedServer;
using testing::WriteAllFd;
using SteadyClock = std::chrono::steady_clock;

std::string Url(std::uint16_t port, std::string_view path) {
  return "http://127.0.0.1:" + std::to_string(port) + std::string(path);
}

Status Collect(std::string* out, std::string_view chunk) {
  out->append(chunk);
  return OkStatus();
}

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions o;
    o.access_log = [](const AccessLogEntry&) {};
    o.idle_timeout = 500ms;
    server_ = std::make_unique<Server>(o);
    ASSERT_OK(server_->AddRoute("GET", "/hello", [](Request& r, BodyReader&) -> Reply {
      Response resp = Response::Text(200, "hello");
      resp.headers.Add("X-Saw-Accept", r.headers.GetOr("Accept", "-"));
      resp.headers.Add("X-Saw-Auth", r.headers.GetOr("Authorization", "-"));
      return resp;
    }));
    ASSERT_OK(server_->AddRoute("GET", "/missing", [](Request&, BodyReader&) -> Reply {
      return Response::Error(404);
    }));
    for (const char* m : {"PUT", "POST"}) {
      ASSERT_OK(server_->AddRoute(m, "/echo", [](Request& r, BodyReader& body) -> Reply {
        auto all = body.ReadAll();
        if (!all) return Response::Error(400, all.error().message());
        return Response::Text(200, r.method + ":" + (r.chunked ? "chunked:" : "length:") + *all);
      }, RouteOptions::MaxBody(1 << 20)));
    }
    ASSERT_OK(server_->AddRoute("PUT", "/auth", [](Request& r, BodyReader& body) -> Reply {
      if (r.headers.GetOr("Authorization", "") != "Bearer ok") return Response::Error(401);
      auto all = body.ReadAll();
      return Response::Text(200, all ? "got " + std::to_string(all->size()) : "error");
    }, RouteOptions::MaxBody(64 << 20)));
    ASSERT_OK(server_->AddRoute("GET", "/r/*", [](Request& r, BodyReader&) -> Reply {
      const int n = std::stoi(r.route_rest[0]);
      if (n == 0) return Response::Text(200, "landed");
      Response resp = Response::Text(302, "go on");
      // Alternate absolute-path and relative Locations.
      resp.headers.Set("Location", n % 2 ? "/r/" + std::to_string(n - 1) : std::to_string(n - 1));
      return resp;
    }));
    ASSERT_OK(server_->AddRoute("POST", "/see-other", [](Request&, BodyReader&) -> Reply {
      Response resp = Response::Text(303, "");
      resp.headers.Set("Location", "/hello");
      return resp;
    }));
    ASSERT_OK(server_->AddRoute("GET", "/file", [this](Request&, BodyReader&) -> Reply {
      FileResponse f;
      f.path = dir_.Join("file");
      return f;
    }, RouteOptions::Inline()));
    ASSERT_TRUE(testing::WritePatternFile(dir_.Join("file"), 300000));
    ASSERT_OK(server_->Start());
    port_ = server_->port();
    auto c = HttpClient::Create();
    ASSERT_OK(c);
    client_ = std::make_unique<HttpClient>(std::move(*c));
  }

  ferry::testing::TempDir dir_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<HttpClient> client_;
  std::uint16_t port_ = 0;
};

TEST_F(ClientTest, GetHeadAndStatus) {
  std::string body;
  FetchRequest req = Req(Url(port_, "/hello"));
  req.headers.Add("Authorization", "Bearer x");
  auto r = client_->Fetch(req, [&](std::string_view c) { return Collect(&body, c); });
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(body, "hello");
  EXPECT_EQ(r->bytes_received, 5u);
  EXPECT_EQ(r->content_length, 5u);
  EXPECT_EQ(r->final_url, Url(port_, "/hello"));
  EXPECT_EQ(r->headers.Get("x-saw-accept").value(), "*/*");
  EXPECT_EQ(r->headers.Get("x-saw-auth").value(), "Bearer x");

  req.method = "HEAD";
  body.clear();
  r = client_->Fetch(req, [&](std::string_view c) { return Collect(&body, c); });
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(body, "");
  EXPECT_EQ(r->content_length, 5u);

  // A 404 is a successful fetch; FetchToString turns it into kNotFound.
  r = client_->Fetch(Req(Url(port_, "/missing")), nullptr);
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_ERRC(client_->FetchToString(Url(port_, "/missing"), 1000), Errc::kNotFound);
  auto s = client_->FetchToString(Url(port_, "/hello"), 1000);
  ASSERT_OK(s);
  EXPECT_EQ(*s, "hello");
}

TEST_F(ClientTest, OnHeadSeesTheFinalResponseBeforeTheBody) {
  std::vector<std::string> events;
  FetchRequest req = Req(Url(port_, "/r/2"));
  req.on_head = [&](int status, const Headers& h) {
    events.push_back("head " + std::to_string(status) + " " + h.GetOr("Content-Length", "?"));
    return OkStatus();
  };
  auto r = client_->Fetch(req, [&](std::string_view c) {
    events.push_back("body " + std::string(c));
    return OkStatus();
  });
  ASSERT_OK(r);
  EXPECT_EQ(events, (std::vector<std::string>{"head 200 6", "body landed"}));
  req.on_head = [](int, const Headers&) { return Status(Error(Errc::kNotFound, "unwanted")); };
  EXPECT_ERRC(client_->Fetch(req, nullptr), Errc::kNotFound);
}

TEST_F(ClientTest, ReusesKeptAliveConnections) {
  for (int i = 0; i < 5; ++i) ASSERT_OK(client_->FetchToString(Url(port_, "/hello"), 100));
  EXPECT_EQ(server_->metrics().connections_accepted, 1u);
  // The server drops the idle connection (idle_timeout 500 ms); the client notices and reconnects.
  std::this_thread::sleep_for(800ms);
  ASSERT_OK(client_->FetchToString(Url(port_, "/hello"), 100));
  EXPECT_EQ(server_->metrics().connections_accepted, 2u);
}

TEST_F(ClientTest, SendsBodiesFromStringsAndSources) {
  std::string body;
  FetchRequest req = Req(Url(port_, "/echo"));
  req.method = "PUT";
  req.body = "abc";
  ASSERT_OK(client_->Fetch(req, [&](std::string_view c) { return Collect(&body, c); }));
  EXPECT_EQ(body, "PUT:length:abc");

  const std::string big(200000, 'z');
  std::size_t pos = 0;
  auto source = [&](std::span<char> buf) -> Result<std::size_t> {
    const std::size_t n = std::min(buf.size(), big.size() - pos);
    std::copy_n(big.data() + pos, n, buf.data());
    pos += n;
    return n;
  };
  FetchRequest chunked = Req(Url(port_, "/echo"));
  chunked.method = "POST";
  chunked.body_source = source;
  body.clear();
  auto r = client_->Fetch(chunked, [&](std::string_view c) { return Collect(&body, c); });
  ASSERT_OK(r);
  EXPECT_EQ(body, "POST:chunked:" + big);

  pos = 0;
  chunked.body_length = big.size();
  body.clear();
  ASSERT_OK(client_->Fetch(chunked, [&](std::string_view c) { return Collect(&body, c); }));
  EXPECT_EQ(body, "POST:length:" + big);

  pos = 0;
  chunked.body_length = big.size() + 1;  // the source lies
  EXPECT_ERRC(client_->Fetch(chunked, nullptr), Errc::kInvalidArgument);
  FetchRequest both = Req(Url(port_, "/echo"));
  both.method = "PUT";
  both.body = "x";
  both.body_source = source;
  EXPECT_ERRC(client_->Fetch(both, nullptr), Errc::kInvalidArgument);
}

TEST_F(ClientTest, ExpectContinueAvoidsSendingRefusedBodies) {
  std::uint64_t produced = 0;
  const std::uint64_t kSize = 8 << 20;
  std::optional<std::chrono::steady_clock::time_point> first_read;
  auto source = [&](std::span<char> buf) -> Result<std::size_t> {
    if (!first_read) first_read = std::chrono::steady_clock::now();
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), kSize - produced));
    std::fill_n(buf.data(), n, 'u');
    produced += n;
    return n;
  };
  FetchRequest put = Req(Url(port_, "/auth"));
  put.method = "PUT";
  put.body_source = source;
  put.body_length = kSize;
  put.headers.Set("Expect", "100-continue");
  std::string body;
  auto r = client_->Fetch(put, [&](std::string_view c) { return Collect(&body, c); });
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(produced, 0u);  // the body was never sent
  put.headers.Set("Authorization", "Bearer ok");
  body.clear();
  const auto t0 = std::chrono::steady_clock::now();
  r = client_->Fetch(put, [&](std::string_view c) { return Collect(&body, c); });
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(body, "got " + std::to_string(kSize));
  // The body started on "100 Continue", without sitting out the 1 s fallback wait.
  ASSERT_TRUE(first_read.has_value());
  EXPECT_LT(*first_read - t0, 700ms);
}

TEST_F(ClientTest, EarlyRejectionWithoutExpectIsReported) {
  // Without Expect the client streams the body; the server answers 401 without reading it and
  // closes. The client reports the 401 rather than the broken pipe.
  const std::string big(16 << 20, 'b');
  FetchRequest put = Req(Url(port_, "/auth"));
  put.method = "PUT";
  put.body = big;
  auto r = client_->Fetch(put, nullptr);
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 401);
}

TEST_F(ClientTest, ResumesWithRangeStart) {
  std::string body;
  FetchRequest req = Req(Url(port_, "/file"));
  req.range_start = 299990;
  auto r = client_->Fetch(req, [&](std::string_view c) { return Collect(&body, c); });
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 206);
  ASSERT_EQ(body.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(body[i], testing::PatternByte(299990 + i));
}

TEST_F(ClientTest, MaxLengthAnnounced) {
  int calls = 0;
  FetchRequest req = Req(Url(port_, "/file"));
  req.max_length = 299999;
  auto r = client_->Fetch(req, [&](std::string_view) {
    ++calls;
    return OkStatus();
  });
  EXPECT_ERRC(r, Errc::kTooLarge);
  EXPECT_EQ(calls, 0);  // refused on Content-Length, before any body byte
  req.max_length = 300000;
  EXPECT_OK(client_->Fetch(req, nullptr));
}

TEST(Client, MaxLengthActualChunkedAndCloseDelimited) {
  // Servers that announce nothing (chunked, or body until close) and send 100 KiB.
  for (bool chunked : {true, false}) {
    ScriptedServer srv([chunked](int fd) {
      if (ReadRequestHead(fd).empty()) return;
      std::string resp = chunked ? "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                 : "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n";
      WriteAllFd(fd, resp);
      for (int i = 0; i < 100; ++i) {
        const std::string kib(1024, 'k');
        if (!WriteAllFd(fd, chunked ? "400\r\n" + kib + "\r\n" : kib)) return;
      }
      if (chunked) WriteAllFd(fd, "0\r\n\r\n");
      ::shutdown(fd, SHUT_WR);
    });
    auto client = HttpClient::Create();
    ASSERT_OK(client);
    std::uint64_t got = 0;
    FetchRequest req = Req(Url(srv.port(), "/x"));
    req.max_length = 5000;
    auto r = client->Fetch(req, [&](std::string_view c) {
      got += c.size();
      return OkStatus();
    });
    EXPECT_ERRC(r, Errc::kTooLarge);
    EXPECT_LE(got, 5000u) << chunked;
    req.max_length = 200000;
    got = 0;
    r = client->Fetch(req, [&](std::string_view c) {
      got += c.size();
      return OkStatus();
    });
    ASSERT_OK(r);
    EXPECT_EQ(got, 100u * 1024);
  }
}

TEST(Client, TricklingServerFailsWithinTheTotalDeadline) {
  // Announces 1000 bytes, then sends one byte every 200 ms: always within the idle timeout,
  // never within the total deadline (1 s + 1000 B / 16 KiB/s).
  ScriptedServer srv([](int fd) {
    if (ReadRequestHead(fd).empty()) return;
    if (!WriteAllFd(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")) return;
    for (int i = 0; i < 1000; ++i) {
      if (!WriteAllFd(fd, "x")) return;
      std::this_thread::sleep_for(200ms);
    }
  });
  auto client = HttpClient::Create();
  ASSERT_OK(client);
  FetchRequest req = Req(Url(srv.port(), "/slow"));
  req.timeouts.total_base = 1s;
  req.timeouts.idle = 1s;
  const auto t0 = SteadyClock::now();
  std::uint64_t got = 0;
  auto r = client->Fetch(req, [&](std::string_view c) {
    got += c.size();
    return OkStatus();
  });
  const auto elapsed = SteadyClock::now() - t0;
  EXPECT_ERRC(r, Errc::kTimeout);
  EXPECT_NE(r.error().message().find("total deadline"), std::string::npos) << r.error().message();
  EXPECT_GT(got, 0u);
  EXPECT_GE(elapsed, 900ms);
  EXPECT_LT(elapsed, 2500ms);
}

TEST(Client, StallsBeforeFirstByteAndMidBody) {
  ScriptedServer silent([](int fd) {
    ReadRequestHead(fd);
    char c;
    while (::recv(fd, &c, 1, 0) > 0) {
    }
  });
  ScriptedServer stalls([](int fd) {
    if (ReadRequestHead(fd).empty()) return;
    WriteAllFd(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc");
    char c;
    while (::recv(fd, &c, 1, 0) > 0) {
    }
  });
  auto client = HttpClient::Create();
  ASSERT_OK(client);
  FetchRequest req = Req(Url(silent.port(), "/"));
  req.timeouts.first_byte = 300ms;
  req.timeouts.idle = 300ms;
  auto t0 = SteadyClock::now();
  auto r = client->Fetch(req, nullptr);
  EXPECT_ERRC(r, Errc::kTimeout);
  EXPECT_NE(r.error().message().find("response head"), std::string::npos) << r.error().message();
  EXPECT_LT(SteadyClock::now() - t0, 1500ms);

  req.url = Url(stalls.port(), "/");
  t0 = SteadyClock::now();
  r = client->Fetch(req, nullptr);
  EXPECT_ERRC(r, Errc::kTimeout);
  EXPECT_NE(r.error().message().find("body"), std::string::npos) << r.error().message();
  EXPECT_LT(SteadyClock::now() - t0, 1500ms);
}

TEST_F(ClientTest, FollowsRedirectsWithinTheLimit) {
  std::string body;
  FetchRequest req = Req(Url(port_, "/r/5"));
  auto r = client_->Fetch(req, [&](std::string_view c) { return Collect(&body, c); });
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(body, "landed");  // redirect bodies never reach the sink
  EXPECT_EQ(r->redirects, 5);
  EXPECT_EQ(r->final_url, Url(port_, "/r/0"));

  req.url = Url(port_, "/r/6");
  auto too_many = client_->Fetch(req, nullptr);
  EXPECT_ERRC(too_many, Errc::kIoError);
  EXPECT_NE(too_many.error().message().find("too many redirects"), std::string::npos);

  req.follow_redirects = false;
  r = client_->Fetch(req, nullptr);
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 302);
  EXPECT_EQ(r->headers.Get("Location").value(), "5");

  body.clear();
  FetchRequest post = Req(Url(port_, "/see-other"));
  post.method = "POST";
  post.body = "data";
  r = client_->Fetch(post, [&](std::string_view c) { return Collect(&body, c); });
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(body, "hello");
}

TEST(Client, DropsCredentialsOnCrossHostRedirect) {
  std::string second_head;
  ScriptedServer target([&](int fd) {
    second_head = ReadRequestHead(fd);
    WriteAllFd(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
  });
  // Same loopback address, spelled as an IPv4-mapped IPv6 literal: a different host name.
  ScriptedServer origin2([&](int fd) {
    if (ReadRequestHead(fd).empty()) return;
    WriteAllFd(fd, "HTTP/1.1 302 Found\r\nContent-Length: 0\r\nLocation: http://[::ffff:127.0.0.1]:" +
                       std::to_string(target.port()) + "/x\r\n\r\n");
  });
  auto client = HttpClient::Create();
  ASSERT_OK(client);
  FetchRequest req = Req(Url(origin2.port(), "/start"));
  req.headers.Add("Authorization", "Bearer secret");
  auto r = client->Fetch(req, nullptr);
  if (!r.ok()) GTEST_SKIP() << "IPv4-mapped loopback unavailable: " << r.error().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(second_head.find("Authorization"), std::string::npos) << second_head;
}

TEST(Client, ConnectionRefusedNamesHostAndPort) {
  // Find a free port, then make sure nothing listens on it.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::uint16_t port = ntohs(addr.sin_port);
  ::close(fd);
  auto client = HttpClient::Create();
  ASSERT_OK(client);
  auto r = client->FetchToString(Url(port, "/x"), 100);
  EXPECT_ERRC(r, Errc::kIoError);
  const std::string& m = r.error().message();
  EXPECT_NE(m.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << m;
  EXPECT_NE(m.find("refused"), std::string::npos) << m;
}

TEST_F(ClientTest, SinkErrorsAbortAndBadInputsAreRefused) {
  FetchRequest req = Req(Url(port_, "/file"));
  auto r = client_->Fetch(req, [](std::string_view) {
    return Status(Error(Errc::kHashMismatch, "digest differs"));
  });
  EXPECT_ERRC(r, Errc::kHashMismatch);
  EXPECT_ERRC(client_->FetchToString("ftp://127.0.0.1/x", 10), Errc::kInvalidArgument);
  EXPECT_ERRC(client_->FetchToString("http://user:pw@127.0.0.1/x", 10), Errc::kInvalidArgument);
  FetchRequest bad_header = Req(Url(port_, "/hello"));
  bad_header.headers.Add("X", "a\r\nInjected: 1");
  EXPECT_ERRC(client_->Fetch(bad_header, nullptr), Errc::kInvalidArgument);
  FetchRequest bad_method = Req(Url(port_, "/hello"));
  bad_method.method = "G T";
  EXPECT_ERRC(client_->Fetch(bad_method, nullptr), Errc::kInvalidArgument);
  // The client still works after all that.
  EXPECT_OK(client_->FetchToString(Url(port_, "/hello"), 10));
}

TEST(Client, MalformedResponsesAreIoErrors) {
  ScriptedServer srv([](int fd) {
    if (ReadRequestHead(fd).empty()) return;
    WriteAllFd(fd, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello");
    ::shutdown(fd, SHUT_WR);
  });
  auto client = HttpClient::Create();
  ASSERT_OK(client);
  EXPECT_ERRC(client->FetchToString(Url(srv.port(), "/"), 100), Errc::kIoError);
  ScriptedServer truncated([](int fd) {
    if (ReadRequestHead(fd).empty()) return;
    WriteAllFd(fd, "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nhello");
    ::shutdown(fd, SHUT_WR);
  });
  auto r = client->FetchToString(Url(truncated.port(), "/"), 100);
  EXPECT_ERRC(r, Errc::kIoError);
  EXPECT_NE(r.error().message().find("closed"), std::string::npos) << r.error().message();
}

}  // namespace
}  // namespace ferry::net
