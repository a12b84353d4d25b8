// HTTPS: a TLS listener with a self-signed certificate generated here, the client trusting it
// through HttpClientOptions::ca_file (and failing without it), certificate reload, the copying
// file path, and the https -> http redirect refusal.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "net/http_client.h"
#include "net/server.h"
#include "tests/net/net_test_util.h"
#include "tests/testutil/testutil.h"

namespace ferry::net {
namespace {

using testing::Req;

using namespace std::chrono_literals;

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(testing::MakeSelfSignedCert(cert_, key_, "ferry test A"));
    ASSERT_TRUE(testing::WritePatternFile(dir_.Join("blob"), 3 << 20));
    ServerOptions o;
    o.access_log = [](const AccessLogEntry&) {};
    o.listen = {testing::TlsListen(cert_, key_), ListenOptions{}};
    server_ = std::make_unique<Server>(o);
    ASSERT_OK(server_->AddRoute("GET", "/hello", [](Request&, BodyReader&) -> Reply {
      return Response::Text(200, "secure hello");
    }));
    ASSERT_OK(server_->AddRoute("GET", "/blob", [this](Request&, BodyReader&) -> Reply {
      FileResponse f;
      f.path = dir_.Join("blob");
      return f;
    }, RouteOptions::Inline()));
    ASSERT_OK(server_->AddRoute("PUT", "/echo", [](Request&, BodyReader& body) -> Reply {
      auto all = body.ReadAll();
      return Response::Text(200, all ? *all : "error");
    }));
    ASSERT_OK(server_->AddRoute("GET", "/downgrade", [this](Request&, BodyReader&) -> Reply {
      Response r = Response::Text(302, "");
      r.headers.Set("Location", "http://127.0.0.1:" + std::to_string(server_->port(1)) + "/hello");
      return r;
    }));
    ASSERT_OK(server_->Start());
    https_ = "https://127.0.0.1:" + std::to_string(server_->port(0));
  }

  Result<HttpClient> TrustingClient(const std::string& ca) {
    HttpClientOptions o;
    o.ca_file = ca;
    o.use_system_ca = false;
    return HttpClient::Create(o);
  }

  ferry::testing::TempDir dir_;
  std::string cert_ = dir_.Join("cert.pem");
  std::string key_ = dir_.Join("key.pem");
  std::unique_ptr<Server> server_;
  std::string https_;
};

TEST_F(TlsTest, FetchesWithTheTestCa) {
  auto client = TrustingClient(cert_);
  ASSERT_OK(client);
  auto body = client->FetchToString(https_ + "/hello", 100);
  ASSERT_OK(body);
  EXPECT_EQ(*body, "secure hello");
  FetchRequest put = Req(https_ + "/echo");
  put.method = "PUT";
  put.body = std::string(100000, 'e');
  std::string echoed;
  auto r = client->Fetch(put, [&](std::string_view c) {
    echoed.append(c);
    return OkStatus();
  });
  ASSERT_OK(r);
  EXPECT_EQ(echoed, put.body);
  // The copying file path, byte-exact, with a range in the middle.
  std::uint64_t pos = 12345;
  std::uint64_t bad = 0;
  FetchRequest get = Req(https_ + "/blob");
  get.range_start = pos;
  r = client->Fetch(get, [&](std::string_view c) {
    bad += testing::MatchesPattern(c, pos) ? 0 : 1;
    pos += c.size();
    return OkStatus();
  });
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 206);
  EXPECT_EQ(pos, 3u << 20);
  EXPECT_EQ(bad, 0u);
  EXPECT_EQ(server_->metrics().sendfile_bytes, 0u);  // TLS never uses sendfile
}

TEST_F(TlsTest, UntrustedCertificateFails) {
  auto client = HttpClient::Create(HttpClientOptions{});  // system CAs only
  ASSERT_OK(client);
  auto r = client->FetchToString(https_ + "/hello", 100);
  EXPECT_ERRC(r, Errc::kIoError);
  EXPECT_NE(r.error().message().find("certificate"), std::string::npos) << r.error().message();
}

TEST_F(TlsTest, HostnameMismatchFails) {
  const std::string other_cert = dir_.Join("other.pem");
  const std::string other_key = dir_.Join("other.key");
  ASSERT_TRUE(testing::MakeSelfSignedCert(other_cert, other_key, "other", "DNS:other.example"));
  ServerOptions o;
  o.access_log = [](const AccessLogEntry&) {};
  o.listen = {testing::TlsListen(other_cert, other_key)};
  Server s(o);
  ASSERT_OK(s.AddRoute("GET", "/", [](Request&, BodyReader&) -> Reply { return {}; }));
  ASSERT_OK(s.Start());
  auto client = TrustingClient(other_cert);
  ASSERT_OK(client);
  auto r = client->FetchToString("https://127.0.0.1:" + std::to_string(s.port()) + "/", 100);
  EXPECT_ERRC(r, Errc::kIoError);
  EXPECT_NE(r.error().message().find("mismatch"), std::string::npos) << r.error().message();
}

TEST_F(TlsTest, ReloadSwapsTheCertificateForNewConnections) {
  const std::string old_ca = dir_.Join("old-ca.pem");
  std::filesystem::copy_file(cert_, old_ca);
  ASSERT_TRUE(testing::MakeSelfSignedCert(cert_, key_, "ferry test B"));
  ASSERT_OK(server_->ReloadTls());
  HttpClientOptions no_reuse;
  no_reuse.use_system_ca = false;
  no_reuse.keep_alive = false;
  no_reuse.ca_file = old_ca;
  auto old_client = HttpClient::Create(no_reuse);
  ASSERT_OK(old_client);
  EXPECT_ERRC(old_client->FetchToString(https_ + "/hello", 100), Errc::kIoError);
  no_reuse.ca_file = cert_;
  auto new_client = HttpClient::Create(no_reuse);
  ASSERT_OK(new_client);
  EXPECT_OK(new_client->FetchToString(https_ + "/hello", 100));

  // A broken pair keeps the previous certificate.
  ASSERT_TRUE(testing::MakeSelfSignedCert(dir_.Join("c2.pem"), key_, "mismatched key"));
  EXPECT_ERRC(server_->ReloadTls(), Errc::kCryptoError);
  EXPECT_OK(new_client->FetchToString(https_ + "/hello", 100));
}

TEST_F(TlsTest, RefusesRedirectFromHttpsToHttp) {
  auto client = TrustingClient(cert_);
  ASSERT_OK(client);
  auto r = client->FetchToString(https_ + "/downgrade", 100);
  EXPECT_ERRC(r, Errc::kPermission);
  EXPECT_NE(r.error().message().find("https to http"), std::string::npos);
}

TEST_F(TlsTest, PlainHttpToTlsPortIsRejected) {
  testing::RawSocket s(server_->port(0));
  s.Send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  bool closed = false;
  const std::string r = s.ReadUntilClose(5s, &closed);
  EXPECT_TRUE(closed);
  EXPECT_EQ(r.find("secure hello"), std::string::npos);
}

}  // namespace
}  // namespace ferry::net
