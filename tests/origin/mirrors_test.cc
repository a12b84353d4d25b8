// The origin's mirror director: registry, heartbeats, the prober (healthy, stale, unreachable,
// quarantined until a full re-check), mirrors.json, the redirector's choice, reports.
#include "origin/mirrors.h"

#include <filesystem>
#include <thread>

#include "crypto/hash.h"
#include "net/repo_files.h"
#include "net/server.h"
#include "tests/integration/scripted_server.h"
#include "tests/net/net_test_util.h"
#include "tests/origin/origin_fixture.h"

namespace ferry::origin::testing {
namespace {

using ferry::testing::Script;
using ferry::testing::ScriptedServer;

class DirectorTest : public OriginTest {
 protected:
  void SetUp() override {
    OriginTest::SetUp();
    now_ = NowUnix();  // probes compare real signing times
    DirectorOptions o;
    o.stale_after_seconds = 3600;
    o.probe_samples = 10;
    o.region_prefixes = {{"eu", {"10.1."}}};
    director_ = std::make_unique<MirrorDirector>(*svc_, o);
    auto http = net::HttpClient::Create();
    ASSERT_OK(http);
    http_ = std::make_unique<net::HttpClient>(std::move(*http));
    mirror_token_ = Token("mirror");
    // Something to mirror.
    ASSERT_OK(WriteFileAtomic(dir_.Join("r.tar"), std::string(5000, 'r')));
    ASSERT_OK(AddRelease(*svc_, dir_.Join("r.tar"), "release/r-1.tar", "r", "1", *targets_key_));
  }

  // Copies the origin's published repository into a scripted mirror.
  void Sync(ScriptedServer& mirror) {
    std::map<std::string, std::string> files;
    const std::string repo = RepoDir(options_.data_dir);
    for (const auto& e : std::filesystem::recursive_directory_iterator(repo)) {
      if (e.is_regular_file()) {
        files[e.path().lexically_relative(repo).string()] =
            ferry::testing::ReadFileOrDie(e.path().string());
      }
    }
    mirror.SetFiles(files);
  }

  std::string Registration(const std::string& name, ScriptedServer& m, const std::string& region,
                           const tuf::Ed25519Signer& key) {
    json::Object o;
    o.Set("name", name);
    o.Set("public_url", m.url());
    o.Set("region", region);
    o.Set("country", "DE");
    o.Set("public_key", key.secret().public_key().Hex());
    o.Set("capacity_mbps", 100);
    return json::Encode(o);
  }

  std::string State(const std::string& name) {
    auto m = svc_->catalog().FindMirror(name);
    return m.ok() && *m ? (*m)->state + " (" + (*m)->state_reason + ")" : "?";
  }

  std::unique_ptr<MirrorDirector> director_;
  std::unique_ptr<net::HttpClient> http_;
  TokenRecord mirror_token_;
};

TEST_F(DirectorTest, RegistrationNeedsTheMirrorScopeAndValidFields) {
  ScriptedServer m;
  auto key = tuf::Ed25519Signer::Generate();
  EXPECT_ERRC(director_->Register(Token("plugin:git"), Registration("eu1", m, "eu", *key)),
              Errc::kForbidden);
  EXPECT_ERRC(director_->Register(mirror_token_, "{}"), Errc::kInvalidArgument);
  EXPECT_ERRC(director_->Register(mirror_token_, Registration("Bad Name", m, "eu", *key)),
              Errc::kInvalidArgument);
  ASSERT_OK(director_->Register(mirror_token_, Registration("eu1", m, "eu", *key)));
  ASSERT_OK(director_->Register(mirror_token_, Registration("eu1", m, "eu", *key)));  // update
  auto other = tuf::Ed25519Signer::Generate();
  EXPECT_ERRC(director_->Register(mirror_token_, Registration("eu1", m, "eu", *other)),
              Errc::kConflict);
}

TEST_F(DirectorTest, ProberStatesAndMirrorList) {
  ScriptedServer good, lying, down_server;
  auto k1 = tuf::Ed25519Signer::Generate(), k2 = tuf::Ed25519Signer::Generate(),
       k3 = tuf::Ed25519Signer::Generate();
  Sync(good);
  Sync(lying);
  const std::string hashed =
      "targets/release/" + crypto::Sha256Hex(std::string(5000, 'r')) + ".r-1.tar";
  lying.SetScript(hashed, Script::Body(std::string(5000, 'x')));  // same size, other bytes
  ASSERT_OK(director_->Register(mirror_token_, Registration("good", good, "eu", *k1)));
  ASSERT_OK(director_->Register(mirror_token_, Registration("lying", lying, "eu", *k2)));
  ASSERT_OK(director_->Register(mirror_token_, Registration("down", down_server, "na", *k3)));
  down_server.SetScript("metadata/timestamp.json", Script::Status(503));
  ASSERT_OK(director_->Probe(*http_));
  EXPECT_EQ(State("good").substr(0, 7), "healthy") << State("good");
  EXPECT_EQ(State("lying").substr(0, 11), "quarantined") << State("lying");
  EXPECT_EQ(State("down").substr(0, 11), "unreachable") << State("down");
  // mirrors.json lists only the healthy one, signed, and a client can read it.
  auto c = Client();
  auto info = c.GetTargetInfo("mirrors.json");
  ASSERT_OK(info);
  EXPECT_EQ(info->role, "mirrors");
  ASSERT_OK(c.DownloadTarget(*info, dir_.Join("mirrors.json")));
  auto list = json::Parse(ferry::testing::ReadFileOrDie(dir_.Join("mirrors.json")));
  ASSERT_OK(list);
  ASSERT_EQ(list->Find("mirrors")->as_array().size(), 1u);
  EXPECT_EQ(list->Find("mirrors")->as_array()[0].Find("name")->as_string(), "good");
  // Unreachable for a while: still quarantined, not merely "unreachable" (which would let a
  // later sampled probe take it back).
  lying.SetScript("metadata/timestamp.json", Script::Status(503));
  ASSERT_OK(director_->Probe(*http_));
  EXPECT_EQ(State("lying").substr(0, 11), "quarantined") << State("lying");
  // Back, still serving the wrong file: quarantined by the full re-check.
  lying.ClearScripts();
  lying.SetScript(hashed, Script::Body(std::string(5000, 'x')));
  ASSERT_OK(director_->Probe(*http_));
  EXPECT_EQ(State("lying").substr(0, 11), "quarantined") << State("lying");
  // The liar fixes its file: it stays out until a full re-check passes, which this probe does.
  lying.ClearScripts();
  ASSERT_OK(director_->Probe(*http_));
  EXPECT_EQ(State("lying").substr(0, 7), "healthy") << State("lying");
}

TEST_F(DirectorTest, StaleMirrorsDropOut) {
  ScriptedServer lagging;
  auto key = tuf::Ed25519Signer::Generate();
  Sync(lagging);  // holds the current state...
  ASSERT_OK(director_->Register(mirror_token_, Registration("lagging", lagging, "eu", *key)));
  ASSERT_OK(director_->Probe(*http_));
  EXPECT_EQ(State("lagging").substr(0, 7), "healthy");
  // ...then the origin re-signs for two hours while the mirror does not sync.
  now_ += 7 * 3600;
  ASSERT_OK(svc_->ResignIfDue());
  ASSERT_OK(director_->Probe(*http_));
  EXPECT_EQ(State("lagging").substr(0, 5), "stale") << State("lagging");
  auto r = director_->Choose("release/r-1.tar", "", "127.0.0.1:1");
  ASSERT_OK(r);
  EXPECT_TRUE(r->location.empty());  // nobody qualifies: the origin serves it itself
}

TEST_F(DirectorTest, RedirectorHonoursRegionAndSnapshotHeld) {
  ScriptedServer eu, na, behind;
  auto k1 = tuf::Ed25519Signer::Generate(), k2 = tuf::Ed25519Signer::Generate(),
       k3 = tuf::Ed25519Signer::Generate();
  Sync(behind);  // holds r-1 only
  ASSERT_OK(WriteFileAtomic(dir_.Join("r2.tar"), std::string(6000, 's')));
  ASSERT_OK(AddRelease(*svc_, dir_.Join("r2.tar"), "release/r-2.tar", "r", "2", *targets_key_));
  Sync(eu);
  Sync(na);
  ASSERT_OK(director_->Register(mirror_token_, Registration("eu", eu, "eu", *k1)));
  ASSERT_OK(director_->Register(mirror_token_, Registration("na", na, "na", *k2)));
  ASSERT_OK(director_->Register(mirror_token_, Registration("behind", behind, "eu", *k3)));
  ASSERT_OK(director_->Probe(*http_));
  for (int i = 0; i < 20; ++i) {
    auto r = director_->Choose("release/r-2.tar", "eu", "127.0.0.1:1");
    ASSERT_OK(r);
    EXPECT_EQ(r->location.rfind(eu.url(), 0), 0u) << r->location;  // region first
    EXPECT_NE(r->location.find(crypto::Sha256Hex(std::string(6000, 's')) + ".r-2.tar"),
              std::string::npos);
    // "behind" holds an older snapshot without r-2: never offered for it.
    for (const auto& alt : r->alternates) EXPECT_EQ(alt.rfind(behind.url(), 0), std::string::npos);
  }
  // By client address prefix, without a hint.
  auto by_addr = director_->Choose("release/r-2.tar", "", "10.1.2.3:5555");
  EXPECT_EQ(by_addr->location.rfind(eu.url(), 0), 0u);
  // r-1 is held by all three.
  auto r1 = director_->Choose("release/r-1.tar", "na", "127.0.0.1:1");
  EXPECT_EQ(r1->location.rfind(na.url(), 0), 0u);
  EXPECT_EQ(r1->alternates.size(), 2u);
  EXPECT_ERRC(director_->Choose("release/nope", "", ""), Errc::kNotFound);
}

// A request that arrived over TLS is never sent on to a plain-HTTP mirror: the redirect would
// expose which file the user fetches (integrity would hold: clients verify every byte).
TEST_F(DirectorTest, RedirectsFromHttpsGoOnlyToHttpsMirrors) {
  const std::string cert = dir_.Join("cert.pem"), key_file = dir_.Join("key.pem");
  ASSERT_TRUE(net::testing::MakeSelfSignedCert(cert, key_file, "secure mirror"));
  net::ServerOptions so;
  so.access_log = [](const net::AccessLogEntry&) {};
  so.listen = {net::testing::TlsListen(cert, key_file)};
  net::Server secure(so);
  const std::string repo = RepoDir(options_.data_dir);  // holds what a synced mirror holds
  auto files = [repo](net::Request& req, net::BodyReader&) -> net::Reply {
    return net::ServeRepositoryFile(repo, req);
  };
  ASSERT_OK(secure.AddRoute("GET", "/metadata/*", files));
  ASSERT_OK(secure.AddRoute("GET", "/targets/*", files));
  ASSERT_OK(secure.Start());
  net::HttpClientOptions co;
  co.ca_file = cert;
  co.use_system_ca = false;
  auto trusting = net::HttpClient::Create(co);
  ASSERT_OK(trusting);
  ScriptedServer plain, plain2;
  Sync(plain);
  Sync(plain2);
  auto k1 = tuf::Ed25519Signer::Generate(), k2 = tuf::Ed25519Signer::Generate(),
       k3 = tuf::Ed25519Signer::Generate();
  ASSERT_OK(director_->Register(mirror_token_, Registration("plain", plain, "eu", *k1)));
  ASSERT_OK(director_->Register(mirror_token_, Registration("plain2", plain2, "eu", *k2)));
  json::Object o;
  o.Set("name", "secure");
  o.Set("public_url", "https://127.0.0.1:" + std::to_string(secure.port(0)));
  o.Set("region", "na");
  o.Set("public_key", k3->secret().public_key().Hex());
  ASSERT_OK(director_->Register(mirror_token_, json::Encode(o)));
  ASSERT_OK(director_->Probe(*trusting));
  ASSERT_EQ(State("secure").substr(0, 7), "healthy") << State("secure");
  ASSERT_EQ(State("plain").substr(0, 7), "healthy") << State("plain");
  // Plain HTTP: region eu first, all three on offer.
  auto r = director_->Choose("release/r-1.tar", "eu", "127.0.0.1:1", /*https_only=*/false);
  ASSERT_OK(r);
  EXPECT_EQ(r->location.rfind("http://", 0), 0u) << r->location;
  EXPECT_EQ(r->alternates.size(), 2u);
  // Over TLS: only the https mirror, though it is in another region.
  for (int i = 0; i < 10; ++i) {
    r = director_->Choose("release/r-1.tar", "eu", "127.0.0.1:1", /*https_only=*/true);
    ASSERT_OK(r);
    EXPECT_EQ(r->location.rfind("https://127.0.0.1:" + std::to_string(secure.port(0)) + "/", 0), 0u)
        << r->location;
    EXPECT_TRUE(r->alternates.empty());
  }
  // No https mirror healthy: the origin serves the file itself rather than downgrade.
  secure.Stop();
  ASSERT_OK(director_->Probe(*trusting));
  EXPECT_EQ(State("secure").substr(0, 11), "unreachable") << State("secure");
  r = director_->Choose("release/r-1.tar", "eu", "127.0.0.1:1", /*https_only=*/true);
  ASSERT_OK(r);
  EXPECT_TRUE(r->location.empty()) << r->location;
}

// Push notices: every mirror with a push URL gets the current signed timestamp; a failing one is
// tried three times, and a quarantined one is left out.
TEST_F(DirectorTest, PushNoticesReachEveryMirrorAndRetryFailures) {
  ScriptedServer a, b, failing, bad;
  failing.SetScript("api/v1/notify", Script::Status(503));
  int n = 0;
  const std::vector<std::pair<std::string, ScriptedServer*>> all = {
      {"a", &a}, {"b", &b}, {"failing", &failing}, {"bad", &bad}};
  for (const auto& [name, server] : all) {
    auto key = tuf::Ed25519Signer::Generate();
    json::Object o;
    o.Set("name", name);
    o.Set("public_url", server->url());
    o.Set("push_url", server->url("api/v1/notify"));
    o.Set("public_key", key->secret().public_key().Hex());
    ASSERT_OK(director_->Register(mirror_token_, json::Encode(o)));
    ++n;
  }
  ASSERT_EQ(n, 4);
  Sync(a);
  Sync(b);
  Sync(failing);
  Sync(bad);
  for (ScriptedServer* m : {&a, &b, &bad}) m->SetScript("api/v1/notify", Script::Status(202));
  bad.SetScript("targets/release/" + crypto::Sha256Hex(std::string(5000, 'r')) + ".r-1.tar",
                Script::Body(std::string(5000, 'x')));
  ASSERT_OK(director_->Probe(*http_));
  ASSERT_EQ(State("bad").substr(0, 11), "quarantined");
  a.ClearRequests();
  b.ClearRequests();
  failing.ClearRequests();
  bad.ClearRequests();
  director_->PushNotices();
  auto count = [](ScriptedServer& s) {
    auto r = s.Requests();
    return std::count(r.begin(), r.end(), std::string("api/v1/notify"));
  };
  EXPECT_EQ(count(a), 1);
  EXPECT_EQ(count(b), 1);
  EXPECT_EQ(count(failing), 3);
  EXPECT_EQ(count(bad), 0);
}

// An administrator disables a mirror that passes every probe (e.g. it logs its clients): it is
// out of mirrors.json and redirects, the prober leaves it alone, re-registering does not bring it
// back; enabled again, it returns only after a full re-check.
TEST_F(DirectorTest, DisabledMirrorsStayOutUntilEnabledAndRechecked) {
  ScriptedServer m;
  auto key = tuf::Ed25519Signer::Generate();
  Sync(m);
  ASSERT_OK(director_->Register(mirror_token_, Registration("m", m, "eu", *key)));
  ASSERT_OK(director_->Probe(*http_));
  ASSERT_EQ(State("m").substr(0, 7), "healthy");
  ASSERT_OK(svc_->catalog().SetMirrorDisabled("m", true, "disabled: logs clients"));
  EXPECT_ERRC(svc_->catalog().SetMirrorDisabled("nope", true, ""), Errc::kNotFound);
  m.ClearRequests();
  ASSERT_OK(director_->Probe(*http_));
  EXPECT_EQ(State("m"), "disabled (disabled: logs clients)");
  EXPECT_TRUE(m.Requests().empty());  // not probed
  ASSERT_OK(director_->Register(mirror_token_, Registration("m", m, "eu", *key)));
  ASSERT_OK(director_->Probe(*http_));
  EXPECT_EQ(State("m").substr(0, 8), "disabled");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // the redirector's registry view
  auto r = director_->Choose("release/r-1.tar", "eu", "127.0.0.1:1");
  ASSERT_OK(r);
  EXPECT_TRUE(r->location.empty()) << r->location;
  auto c = Client();
  auto info = c.GetTargetInfo("mirrors.json");
  ASSERT_OK(info);
  ASSERT_OK(c.DownloadTarget(*info, dir_.Join("mirrors.json")));
  EXPECT_EQ(ferry::testing::ReadFileOrDie(dir_.Join("mirrors.json")).find("\"m\""),
            std::string::npos);
  // Enabled: quarantined, so the next probe checks every file; then healthy.
  ASSERT_OK(svc_->catalog().SetMirrorDisabled("m", false, "re-enabled"));
  EXPECT_EQ(State("m").substr(0, 11), "quarantined");
  ASSERT_OK(director_->Probe(*http_));
  EXPECT_EQ(State("m").substr(0, 7), "healthy") << State("m");
}

TEST_F(DirectorTest, HeartbeatsMustBeSignedAndFresh) {
  ScriptedServer m;
  auto key = tuf::Ed25519Signer::Generate();
  ASSERT_OK(director_->Register(mirror_token_, Registration("hb", m, "eu", *key)));
  auto beat = [&](const tuf::Signer& signer, UnixTime sent) {
    json::Object s;
    s.Set("_type", "ferry-mirror-heartbeat");
    s.Set("mirror", "hb");
    s.Set("timestamp_version", 3);
    s.Set("snapshot_version", 2);
    s.Set("sent_at", FormatTufTime(sent));
    return tuf::SignEnvelope(json::Value(std::move(s)), {&signer});
  };
  ASSERT_OK(director_->Heartbeat("hb", beat(*key, now_)));
  auto other = tuf::Ed25519Signer::Generate();
  EXPECT_ERRC(director_->Heartbeat("hb", beat(*other, now_)), Errc::kUnauthenticated);
  EXPECT_ERRC(director_->Heartbeat("hb", beat(*key, now_ - 3600)), Errc::kUnauthenticated);
  EXPECT_ERRC(director_->Heartbeat("nobody", beat(*key, now_)), Errc::kNotFound);
  EXPECT_GT((*svc_->catalog().FindMirror("hb"))->last_heartbeat, 0);
}

TEST_F(DirectorTest, ReportsAreRateLimited) {
  ScriptedServer m;
  auto key = tuf::Ed25519Signer::Generate();
  ASSERT_OK(director_->Register(mirror_token_, Registration("r", m, "eu", *key)));
  const std::string report = "{\"mirror\": \"" + m.url() + "\", \"error\": \"hash_mismatch\"}";
  for (int i = 0; i < 10; ++i) ASSERT_OK(director_->Report("192.0.2.1:1000", report));
  EXPECT_ERRC(director_->Report("192.0.2.1:1001", report), Errc::kTooLarge);
  ASSERT_OK(director_->Report("192.0.2.2:1000", report));
  EXPECT_ERRC(director_->Report("192.0.2.3:1", "not json"), Errc::kParseError);
}

}  // namespace
}  // namespace ferry::origin::testing
