// The origin as mirror director, live: a mirror registers over HTTP, the origin probes it and
// lists it in the signed mirrors.json, `ferry get` downloads from it, /download redirects to it;
// when the mirror starts serving altered bytes the client fails over to the origin, reports the
// mirror, and the origin quarantines it.
#include <filesystem>
#include <thread>

#include "base/fs.h"
#include "base/json.h"
#include "crypto/hash.h"
#include "net/http_client.h"
#include "tests/integration/process.h"
#include "tests/integration/scripted_server.h"
#include "tests/testutil/testutil.h"
#include "tuf/keys.h"

namespace ferry::testing {
namespace {

class MirrorNetworkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.Join("data");
    RunResult r = RunProcess({BinPath("ferry-origin"), "init", "--data", data_, "--root-keys", "1",
                              "--root-threshold", "1"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string conf = dir_.Join("origin.conf");
    ASSERT_OK(WriteFileAtomic(
        conf,
        "data_dir = " + data_ + "\n[http]\nlisten = 127.0.0.1:0\n[mirrors]\nprobe_every = 2s\n"));
    auto origin = StartOrigin(conf, dir_.Join("origin.log"));
    ASSERT_TRUE(origin.has_value()) << ReadFileOrDie(dir_.Join("origin.log"));
    origin_ = std::move(*origin);
    ASSERT_OK(WriteFileAtomic(dir_.Join("app.tar"), content_));
    r = RunProcess({BinPath("ferry-origin"), "release", "add", dir_.Join("app.tar"), "--data",
                    data_, "--path", "release/app-1.0.tar", "--package", "app", "--version", "1.0",
                    "--targets-key", data_ + "/offline-keys/targets.key"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto http = net::HttpClient::Create();
    ASSERT_OK(http);
    http_ = std::make_unique<net::HttpClient>(std::move(*http));
  }

  // The mirror holds a byte-exact copy of the origin's repository directory.
  void SyncMirror() {
    std::map<std::string, std::string> files;
    const std::string repo = data_ + "/repo";
    for (const auto& e : std::filesystem::recursive_directory_iterator(repo)) {
      if (e.is_regular_file()) {
        files[e.path().lexically_relative(repo).string()] = ReadFileOrDie(e.path().string());
      }
    }
    mirror_.SetFiles(files);
  }

  void RegisterMirror() {
    RunResult r = RunProcess(
        {BinPath("ferry-origin"), "token", "issue", "--data", data_, "--scope", "mirror"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto key = tuf::Ed25519Signer::Generate();
    json::Object o;
    o.Set("name", "eu1");
    o.Set("public_url", mirror_.url());
    o.Set("region", "eu");
    o.Set("public_key", key->secret().public_key().Hex());
    net::FetchRequest req;
    req.url = origin_.url() + "/api/v1/mirrors";
    req.method = "POST";
    req.headers.Set("Authorization", "Bearer " + r.out.substr(0, r.out.find('\n')));
    req.body = json::Encode(o);
    req.max_length = 4096;
    auto res = http_->Fetch(req, nullptr);
    ASSERT_OK(res);
    ASSERT_EQ(res->status, 200);
  }

  // Polls GET /api/v1/mirrors until the mirror reaches `state`.
  bool WaitForState(const std::string& state,
                    std::chrono::seconds limit = std::chrono::seconds(30)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      auto body = http_->FetchToString(origin_.url() + "/api/v1/mirrors", 65536);
      if (body && body->find("\"state\": \"" + state + "\"") != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
  }

  bool MirrorListPublished() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(data_ + "/repo/targets")) {
        if (e.path().filename().string().find("mirrors.json") != std::string::npos &&
            ReadFileOrDie(e.path().string()).find("\"" + MirrorBase() + "\"") !=
                std::string::npos) {
          return true;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
  }

  std::string MirrorBase() {
    std::string u = mirror_.url();
    u.pop_back();
    return u;
  }

  TempDir dir_;
  std::string data_;
  OriginProcess origin_;
  ScriptedServer mirror_;
  std::unique_ptr<net::HttpClient> http_;
  const std::string content_ = std::string(150000, 'm');
};

TEST_F(MirrorNetworkTest, ClientUsesTheSignedMirrorListAndFailsOver) {
  SyncMirror();
  RegisterMirror();
  ASSERT_TRUE(WaitForState("healthy")) << ReadFileOrDie(dir_.Join("origin.log"));
  ASSERT_TRUE(MirrorListPublished()) << ReadFileOrDie(dir_.Join("origin.log"));
  SyncMirror();  // the mirror catches up with the publish of mirrors.json
  const std::map<std::string, std::string> env = {{"FERRY_HOME", dir_.Join("home")}};
  RunResult r = RunProcess(
      {BinPath("ferry"), "init", origin_.url(), "--root", data_ + "/repo/metadata/1.root.json"},
      env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  mirror_.ClearRequests();
  r = RunProcess({BinPath("ferry"), "get", "app", "-o", dir_.Join("a.tar")}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string hashed = "targets/release/" + crypto::Sha256Hex(content_) + ".app-1.0.tar";
  auto requests = mirror_.Requests();
  EXPECT_NE(std::find(requests.begin(), requests.end(), hashed), requests.end())
      << "the download did not come from the listed mirror";
  // The next run takes its metadata from the mirror too (the list the last run verified).
  mirror_.ClearRequests();
  r = RunProcess({BinPath("ferry"), "refresh"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  requests = mirror_.Requests();
  EXPECT_NE(std::find(requests.begin(), requests.end(), "metadata/timestamp.json"), requests.end())
      << "the refresh did not ask the listed mirror";

  // The redirector sends downloads to the mirror, addressed by hash.
  net::FetchRequest req;
  req.url = origin_.url() + "/download/release/app-1.0.tar";
  req.follow_redirects = false;
  req.max_length = 1 << 20;
  auto res = http_->Fetch(req, nullptr);
  ASSERT_OK(res);
  EXPECT_EQ(res->status, 302);
  EXPECT_EQ(std::string(res->headers.GetOr("Location", "")), mirror_.url(hashed));
  EXPECT_EQ(std::string(res->headers.GetOr("Repr-Digest", "")).rfind("sha-256=:", 0), 0u);

  // The mirror turns bad: the client fails over to the origin, reports it, it is quarantined.
  mirror_.SetScript(hashed, Script::Body(std::string(150000, 'X')));
  std::filesystem::remove(dir_.Join("a.tar"));
  r = RunProcess({BinPath("ferry"), "get", "app", "-o", dir_.Join("a.tar")}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFileOrDie(dir_.Join("a.tar")), content_);
  EXPECT_NE(r.err.find("hash_mismatch"), std::string::npos) << r.err;
  EXPECT_TRUE(WaitForState("quarantined")) << ReadFileOrDie(dir_.Join("origin.log"));
  // Quarantined: no more redirects there; the origin serves the file itself.
  res = http_->Fetch(req, nullptr);
  ASSERT_OK(res);
  EXPECT_EQ(res->status, 200);
}

}  // namespace
}  // namespace ferry::testing
