// The mirror network end to end, as real processes on 127.0.0.1: ferry-origin (init, release add,
// serve), ferry-mirror (serve, sync, verify, status) as tier-1 and tier-2 mirrors, `ferry` and
// `ferry-tuf` downloading from each mirror, and a scripted hostile or slow upstream.
//
// The crawler (`ferry-mirror verify`, or CrawlRepository in-process) checks every file referenced
// from a mirror's timestamp -> snapshot -> roles -> targets: present, verified from the pinned
// root, and hash-correct under every listed hash.
#include <atomic>
#include <filesystem>
#include <random>
#include <set>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/json.h"
#include "crypto/hash.h"
#include "mirror/upstream.h"
#include "mirror/verify.h"
#include "net/http_client.h"
#include "tests/integration/process.h"
#include "tests/integration/scripted_server.h"
#include "tests/net/net_test_util.h"
#include "tests/testutil/testutil.h"
#include "tuf/metadata.h"
#include "tuf/paths.h"

namespace ferry::testing {
namespace {

using ferry::net::testing::MakeSelfSignedCert;
using Clock = std::chrono::steady_clock;

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// One raw HTTP/1.1 request (exact bytes on the wire: no client-side normalisation); returns the
// status code or -1.
int RawStatus(int port, const std::string& target) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  const std::string req = "GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  (void)::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string resp;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
    resp.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  if (resp.size() < 12) return -1;
  return std::atoi(resp.substr(9, 3).c_str());
}

struct Http {
  int status = 0;
  std::string body;
};

Http Get(const std::string& url, net::Headers headers = {}) {
  auto client = net::HttpClient::Create();
  net::FetchRequest req;
  req.url = url;
  req.headers = std::move(headers);
  req.max_length = 64 << 20;
  req.timeouts.total_base = std::chrono::seconds(10);
  Http h;
  auto r = client->Fetch(req, [&](std::string_view c) {
    h.body.append(c);
    return OkStatus();
  });
  h.status = r ? r->status : -1;
  return h;
}

Http Post(const std::string& url, const std::string& body) {
  auto client = net::HttpClient::Create();
  net::FetchRequest req;
  req.url = url;
  req.method = "POST";
  req.body = body;
  req.headers.Set("Content-Type", "application/json");
  req.max_length = 1 << 20;
  Http h;
  auto r = client->Fetch(req, [&](std::string_view c) {
    h.body.append(c);
    return OkStatus();
  });
  h.status = r ? r->status : -1;
  return h;
}

bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

std::int64_t VersionOf(const std::string& timestamp_bytes) {
  auto md = tuf::ParseMetadata<tuf::Timestamp>(timestamp_bytes);
  return md ? md->body.version : 0;
}

struct MirrorProcess {
  std::string name, dir, conf, log;
  int port = 0;
  Process process;
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
  std::string data() const { return dir + "/data"; }
};

class MirrorNetworkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.Join("origin");
    RunResult r = RunProcess({BinPath("ferry-origin"), "init", "--data", data_, "--root-keys", "1",
                              "--root-threshold", "1"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_OK(WriteFileAtomic(dir_.Join("origin.conf"),
                              "data_dir = " + data_ + "\n[http]\nlisten = 127.0.0.1:0\n"));
    auto origin = StartOrigin(dir_.Join("origin.conf"), dir_.Join("origin.log"));
    ASSERT_TRUE(origin.has_value()) << ReadFileOrDie(dir_.Join("origin.log"));
    origin_ = std::move(*origin);
    root_ = data_ + "/repo/metadata/1.root.json";
    Release("app-1.0.tar", Content("app 1.0", 150000));
  }

  static std::string Content(const std::string& seed, std::size_t n) {
    std::string s;
    s.reserve(n);
    std::string block = crypto::Sha256Hex(seed);
    while (s.size() < n) {
      s += block;
      block = crypto::Sha256Hex(block);
    }
    s.resize(n);
    return s;
  }

  // ferry-origin release add (the offline targets key); returns the target path.
  std::string Release(const std::string& file, const std::string& content) {
    const std::string path = dir_.Join(file);
    EXPECT_OK(WriteFileAtomic(path, content));
    const std::string target = "release/" + file;
    RunResult r = RunProcess({BinPath("ferry-origin"), "release", "add", path, "--data", data_,
                              "--path", target, "--package", "app", "--version", file,
                              "--targets-key", data_ + "/offline-keys/targets.key"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    contents_[target] = content;
    return target;
  }

  // A plugin published by its author through `ferry publish` (the origin's upload API).
  void PublishPlugin(const std::string& version, const std::string& content) {
    const std::map<std::string, std::string> env = {{"FERRY_HOME", dir_.Join("author-home")}};
    if (!PathExists(dir_.Join("author.key"))) {
      RunResult r = RunProcess({BinPath("ferry"), "keygen", "-o", dir_.Join("author.key")}, env);
      ASSERT_EQ(r.exit_code, 0) << r.err;
      r = RunProcess({BinPath("ferry-origin"), "plugin", "add", "git", "--data", data_,
                      "--author-key", dir_.Join("author.key.pub"), "--targets-key",
                      data_ + "/offline-keys/targets.key"});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      r = RunProcess(
          {BinPath("ferry-origin"), "token", "issue", "--data", data_, "--scope", "plugin:git"});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      plugin_token_ = r.out.substr(0, r.out.find('\n'));
      r = RunProcess({BinPath("ferry"), "init", origin_.url(), "--root", root_}, env);
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    const std::string file = dir_.Join("git-" + version + ".hpi");
    ASSERT_OK(WriteFileAtomic(file, content));
    RunResult r = RunProcess({BinPath("ferry"), "publish", file, "--plugin", "git", "--version",
                              version, "--key", dir_.Join("author.key"), "--token", plugin_token_},
                             env);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    contents_["plugins/git/git-" + version + ".hpi"] = content;
  }

  std::string OriginTimestamp() { return ReadFileOrDie(data_ + "/repo/metadata/timestamp.json"); }
  std::int64_t OriginVersion() { return VersionOf(OriginTimestamp()); }

  // Writes a mirror config; `extra` is appended (more sections).
  MirrorProcess& NewMirror(const std::string& name, const std::string& upstream,
                           const std::string& extra = "", int port = 0) {
    auto m = std::make_unique<MirrorProcess>();
    m->name = name;
    m->dir = dir_.Join(name);
    m->conf = m->dir + "/mirror.conf";
    m->log = m->dir + "/mirror.log";
    EXPECT_OK(MakeDirs(m->dir));
    EXPECT_OK(WriteFileAtomic(
        m->conf, "data_dir = " + m->data() + "\n[upstream]\nurl = " + upstream +
                     "\nroot = " + root_ + "\n[http]\nlisten = 127.0.0.1:" + std::to_string(port) +
                     "\n[sync]\npoll_interval = 1h\nmin_interval = 0s\nstale_after = 1h\n" +
                     extra));
    mirrors_.push_back(std::move(m));
    return *mirrors_.back();
  }

  void Start(MirrorProcess& m, const std::map<std::string, std::string>& env = {}) {
    m.process = Process::Start({BinPath("ferry-mirror"), "serve", "--config", m.conf}, env, m.log);
    auto line = m.process.WaitForLine("listening on");
    ASSERT_TRUE(line.has_value()) << ReadFileOrDie(m.log);
    m.port = std::atoi(line->substr(line->rfind(':') + 1).c_str());
  }

  RunResult Sync(const MirrorProcess& m, const std::map<std::string, std::string>& env = {}) {
    return RunProcess({BinPath("ferry-mirror"), "sync", "--config", m.conf}, env);
  }

  // The crawler over HTTP, as a process.
  RunResult Verify(const MirrorProcess& m) {
    return RunProcess({BinPath("ferry-mirror"), "verify", "--url", m.url(), "--root", root_});
  }
  // The crawler over the data directory (the mirror need not run).
  RunResult VerifyOffline(const MirrorProcess& m) {
    return RunProcess({BinPath("ferry-mirror"), "verify", "--config", m.conf});
  }

  json::Value Status(const MirrorProcess& m) {
    Http h = Get(m.url() + "/status?format=json");
    auto doc = json::Parse(h.body);
    return doc ? *doc : json::Value();
  }
  std::int64_t HeldVersion(const MirrorProcess& m) {
    const json::Value status = Status(m);
    const json::Value* held = status.Find("held");
    const json::Value* v = held ? held->Find("timestamp_version") : nullptr;
    return v && v->is_int() ? v->as_int() : 0;
  }
  std::int64_t ServedVersion(const MirrorProcess& m) {
    auto bytes = ReadFile(m.data() + "/repo/metadata/timestamp.json");
    return bytes ? VersionOf(*bytes) : 0;
  }
  // At least version v (the origin may publish more meanwhile: mirrors.json).
  bool WaitForVersion(const MirrorProcess& m, std::int64_t v) {
    return WaitFor([&] { return HeldVersion(m) >= v; }, std::chrono::seconds(30));
  }

  // Every file of the state the mirror serves is the origin's file of that name, byte for byte
  // (the origin keeps every versioned file; timestamp.json is compared when the origin has not
  // moved on meanwhile: it re-publishes mirrors.json when mirrors register or change health).
  void ExpectByteIdentical(const MirrorProcess& m) {
    const std::string repo = data_ + "/repo";
    Http ts_http = Get(m.url() + "/metadata/timestamp.json");
    ASSERT_EQ(ts_http.status, 200);
    auto ts = tuf::ParseMetadata<tuf::Timestamp>(ts_http.body);
    ASSERT_OK(ts);
    if (OriginVersion() == ts->body.version) {
      EXPECT_TRUE(ts_http.body == OriginTimestamp()) << m.name;
    }
    std::size_t compared = 0;
    auto compare = [&](const std::string& rel) {
      Http h = Get(m.url() + "/" + rel);
      EXPECT_EQ(h.status, 200) << m.name << " " << rel;
      EXPECT_TRUE(h.body == ReadFileOrDie(repo + "/" + rel)) << m.name << " differs: " << rel;
      ++compared;
    };
    compare("metadata/root.json");
    compare("metadata/1.root.json");
    const std::string snap = tuf::MetadataFileName("snapshot", ts->body.snapshot_meta.version);
    compare("metadata/" + snap);
    auto sn = tuf::ParseMetadata<tuf::Snapshot>(ReadFileOrDie(repo + "/metadata/" + snap));
    ASSERT_OK(sn);
    for (const auto& [file, meta] : sn->body.meta) {
      const std::string role = file.substr(0, file.size() - 5);
      compare("metadata/" + tuf::MetadataFileName(role, meta.version));
    }
    for (const auto& [target, content] : contents_) {
      Http h = Get(m.url() + "/targets/" +
                   tuf::HashPrefixedTargetPath(target, crypto::Sha256Hex(content)));
      EXPECT_EQ(h.status, 200) << m.name << " " << target;
      EXPECT_TRUE(h.body == content) << m.name << " " << target;
    }
    EXPECT_GE(compared, 4u);
  }

  // `ferry` and `ferry-tuf` download every target from the mirror alone, and verify it.
  void ExpectClientsDownload(const MirrorProcess& m) {
    const std::string home = dir_.Join("home-" + m.name);
    std::filesystem::remove_all(home);
    const std::map<std::string, std::string> env = {{"FERRY_HOME", home}};
    RunResult r = RunProcess({BinPath("ferry"), "init", m.url(), "--root", root_}, env);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string meta = dir_.Join("tuf-" + m.name), out = dir_.Join("out-" + m.name);
    std::filesystem::remove_all(meta);
    std::filesystem::remove_all(out);
    r = RunProcess({BinPath("ferry-tuf"), "--metadata-dir", meta, "init", root_});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_OK(MakeDirs(out));
    for (const auto& [target, content] : contents_) {
      SCOPED_TRACE(m.name + " " + target);
      const std::string dest = out + "/" + target.substr(target.rfind('/') + 1);
      r = RunProcess({BinPath("ferry"), "get", target, "-o", dest}, env);
      ASSERT_EQ(r.exit_code, 0) << r.err;
      EXPECT_TRUE(ReadFileOrDie(dest) == content);
      r = RunProcess({BinPath("ferry-tuf"), "--metadata-url", m.url() + "/metadata/",
                      "--metadata-dir", meta, "--target-name", target, "--target-dir", out + "/tuf",
                      "--target-base-url", m.url() + "/targets/", "download"});
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
  }

  TempDir dir_;
  std::string data_, root_, plugin_token_;
  OriginProcess origin_;
  std::vector<std::unique_ptr<MirrorProcess>> mirrors_;
  std::map<std::string, std::string> contents_;  // target path -> bytes
};

// Two tier-1 mirrors and a tier-2 behind one of them converge on every publish (a release and a
// plugin), triggered by a push notice, by `ferry-mirror sync`, and by a forwarded notice; each
// serves the origin's files byte for byte, and ferry / ferry-tuf download and verify from each.
TEST_F(MirrorNetworkTest, TiersConvergeOnEveryPublishAndServeVerifiedFiles) {
  RunResult r =
      RunProcess({BinPath("ferry-origin"), "token", "issue", "--data", data_, "--scope", "mirror"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string token_file = dir_.Join("mirror-token");
  ASSERT_OK(WriteFileAtomic(token_file, r.out, {.mode = 0600}));
  const int a_port = FreePort(), c_port = FreePort();
  const std::string a_url = "http://127.0.0.1:" + std::to_string(a_port);
  const std::string c_url = "http://127.0.0.1:" + std::to_string(c_port);
  MirrorProcess& a =
      NewMirror("tier1-a", origin_.url(),
                "[mirror]\nname = tier1-a\nregion = eu\ncountry = DE\n"
                "[origin]\nurl = " +
                    origin_.url() + "\ntoken_file = " + token_file +
                    "\nheartbeat_interval = 2s\n[http]\npublic_url = " + a_url + "\n",
                a_port);
  MirrorProcess& b = NewMirror("tier1-b", origin_.url());
  MirrorProcess& c =
      NewMirror("tier2-c", a_url,
                "[upstream]\nsubscribe = true\n[http]\npublic_url = " + c_url + "\n", c_port);
  Start(a);
  Start(b);
  Start(c);
  const std::int64_t v1 = OriginVersion();
  for (MirrorProcess* m : {&a, &b, &c}) {
    ASSERT_TRUE(WaitForVersion(*m, v1)) << m->name << "\n" << ReadFileOrDie(m->log);
  }
  // C subscribed to A's notices; A registered with the origin and sends signed heartbeats.
  ASSERT_TRUE(WaitFor([&] { return Status(a).Find("network")->Find("subscribers")->as_int() == 1; },
                      std::chrono::seconds(20)))
      << ReadFileOrDie(c.log);
  ASSERT_TRUE(WaitFor(
      [&] {
        Http h = Get(origin_.url() + "/api/v1/mirrors");
        auto doc = json::Parse(h.body);
        if (!doc || !doc->is_array() || doc->as_array().empty()) return false;
        const json::Value& rec = doc->as_array()[0];
        return rec.Find("name")->as_string() == "tier1-a" &&
               !rec.Find("last_heartbeat")->as_string().empty();
      },
      std::chrono::seconds(20)))
      << ReadFileOrDie(a.log);
  EXPECT_EQ(Status(a).Find("network")->Find("registration")->as_string(), "registered");

  // Publish a release and a plugin.
  Release("app-2.0.tar", Content("app 2.0", 250000));
  PublishPlugin("1.0", Content("git plugin 1.0", 80000));
  const std::int64_t v2 = OriginVersion();
  ASSERT_GT(v2, v1);
  // A: the origin's signed timestamp as a push notice (202 whatever happens). C: the notice A
  // forwards after publishing. B: a one-off `ferry-mirror sync` while its daemon runs.
  EXPECT_EQ(Post(a.url() + "/api/v1/notify", OriginTimestamp()).status, 202);
  r = Sync(b);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("published timestamp v"), std::string::npos) << r.out;
  for (MirrorProcess* m : {&a, &b, &c}) {
    ASSERT_TRUE(WaitForVersion(*m, v2)) << m->name << "\n" << ReadFileOrDie(m->log);
  }
  for (MirrorProcess* m : {&a, &b, &c}) {
    SCOPED_TRACE(m->name);
    r = Verify(*m);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("OK: timestamp v"), std::string::npos) << r.out;
    ExpectByteIdentical(*m);
    ExpectClientsDownload(*m);
  }
  EXPECT_GE(Status(a).Find("network")->Find("notices_forwarded")->as_int(), 1);

  // Status page (HTML and JSON), health, metrics.
  Http html = Get(a.url() + "/");
  EXPECT_EQ(html.status, 200);
  EXPECT_NE(html.body.find("<html>"), std::string::npos);
  EXPECT_NE(html.body.find("tier1-a"), std::string::npos);
  Http js = Get(a.url() + "/status", {{"Accept", "application/json"}});
  auto doc = json::Parse(js.body);
  ASSERT_OK(doc);
  EXPECT_GE(doc->Find("lag")->Find("upstream_timestamp_version")->as_int(), v2);
  EXPECT_FALSE(doc->Find("lag")->Find("stale")->as_bool());
  EXPECT_GT(doc->Find("traffic")->Find("bytes_served")->as_int(), 0);
  EXPECT_EQ(Get(a.url() + "/healthz").status, 200);
  Http metrics = Get(a.url() + "/metrics");
  EXPECT_NE(metrics.body.find("ferry_mirror_timestamp_version " + std::to_string(HeldVersion(a))),
            std::string::npos);
  EXPECT_NE(metrics.body.find("ferry_mirror_syncs_total{result=\"published\"}"), std::string::npos);
  EXPECT_NE(metrics.body.find("ferry_http_requests_total"), std::string::npos);

  // Stale, forged and malformed notices are ignored (202 all the same, no sync).
  const std::string attempt_before = Status(b).Find("sync")->Find("last_attempt")->as_string();
  const std::int64_t ignored_before = Status(b).Find("network")->Find("notices_ignored")->as_int();
  auto forged_ts = json::Parse(OriginTimestamp());
  ASSERT_OK(forged_ts);
  json::Value forged_signed = *forged_ts->Find("signed");
  forged_signed.as_object().Set("version", std::int64_t{1000});
  auto rogue = tuf::Ed25519Signer::Generate();
  const std::string held_b = Get(b.url() + "/metadata/timestamp.json").body;
  const std::int64_t held_b_version = VersionOf(held_b);
  for (const std::string& notice : {held_b, tuf::SignEnvelope(forged_signed, {rogue.get()}),
                                    std::string("{}"), std::string("garbage")}) {
    EXPECT_EQ(Post(b.url() + "/api/v1/notify", notice).status, 202);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(Status(b).Find("network")->Find("notices_ignored")->as_int(), ignored_before + 4);
  EXPECT_EQ(Status(b).Find("sync")->Find("last_attempt")->as_string(), attempt_before);
  EXPECT_EQ(HeldVersion(b), held_b_version);

  // Encoded separators and dot segments never reach the files (nor the data directory).
  for (const char* target : {"/metadata/..%2Fstate.json", "/metadata/%2e%2e/mirror.key",
                             "/targets/%2E%2E/%2E%2E/data/mirror.key", "/metadata/./timestamp.json",
                             "/metadata/../state.json", "/targets/release%2F..%2F..%2Fstate.json",
                             "/metadata/%5c..%5cstate.json", "/metadata//timestamp.json"}) {
    const int status = RawStatus(a.port, target);
    EXPECT_TRUE(status == 400 || status == 404) << target << " -> " << status;
  }
  EXPECT_EQ(RawStatus(a.port, "/metadata/timestamp.json"), 200);
  EXPECT_EQ(RawStatus(a.port, "/metadata/timestam%70.json"), 200);  // decoded, same file
}

// kill -9 in stage 1 (a slow upstream holds one target) while a client polls the mirror every
// 100 ms: the client never meets a missing file, the restarted mirror resumes without fetching
// verified targets again, and kills at the other steps (FERRY_MIRROR_FAULT) leave a consistent
// state each time. A tampered or rolled-back upstream publishes nothing.
TEST_F(MirrorNetworkTest, KillAnywhereKeepsServingConsistentStateAndResumes) {
  ScriptedServer upstream;
  // The upstream serves a copy of the origin's repository (returns its timestamp version).
  std::string copied_ts;
  auto copy_origin = [&] {
    std::map<std::string, std::string> files;
    const std::string repo = data_ + "/repo";
    for (const auto& e : std::filesystem::recursive_directory_iterator(repo)) {
      if (e.is_regular_file())
        files[e.path().lexically_relative(repo).string()] = ReadFileOrDie(e.path().string());
    }
    copied_ts = files.at("metadata/timestamp.json");
    const std::int64_t v = VersionOf(copied_ts);
    upstream.SetFiles(std::move(files));
    return v;
  };
  const std::int64_t v1 = copy_origin();
  MirrorProcess& m = NewMirror("m", upstream.url(), "[sync]\nparallel_fetches = 2\n");
  Start(m);
  ASSERT_TRUE(WaitForVersion(m, v1)) << ReadFileOrDie(m.log);

  // A client refreshing and downloading everything from the mirror every 100 ms.
  std::atomic<bool> stop{false};
  std::atomic<int> polls{0};
  std::vector<std::string> failures;
  std::mutex failures_mu;
  std::thread poller([&] {
    mirror::HttpUpstreamOptions uo;
    uo.base_url = m.url();
    auto up = mirror::HttpUpstream::Create(uo);
    const std::string root = ReadFileOrDie(root_);
    while (!stop) {
      auto crawl = mirror::CrawlRepository(**up, root, NowUnix());
      ++polls;
      if (!crawl || !crawl->ok()) {
        std::lock_guard lock(failures_mu);
        failures.push_back(crawl ? crawl->problems.front() : crawl.error().ToString());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });

  const std::string a = Release("app-2a.tar", Content("2a", 120000));
  const std::string b = Release("app-2b.tar", Content("2b", 120000));
  const std::string c = Release("app-2c.tar", Content("2c", 120000));
  const std::int64_t v2 = copy_origin();
  auto hashed = [&](const std::string& t) {
    return "targets/" + tuf::HashPrefixedTargetPath(t, crypto::Sha256Hex(contents_[t]));
  };
  upstream.SetScript(hashed(b), Script::Stall(std::chrono::seconds(120)));
  upstream.ClearRequests();
  EXPECT_EQ(Post(m.url() + "/api/v1/notify", copied_ts).status, 202);
  auto requested = [&](const std::string& path) {
    for (const auto& r : upstream.Requests()) {
      if (r == path) return true;
    }
    return false;
  };
  ASSERT_TRUE(WaitFor([&] { return requested(hashed(b)) && requested(hashed(c)); },
                      std::chrono::seconds(20)))
      << ReadFileOrDie(m.log);
  // Let the other downloads land in the store, then poll through the stalled stage 1 a while.
  const std::string blob_c = m.data() + "/blobs/objects/" +
                             crypto::Sha256Hex(contents_[c]).substr(0, 2) + "/" +
                             crypto::Sha256Hex(contents_[c]).substr(2);
  ASSERT_TRUE(WaitFor([&] { return PathExists(blob_c); }, std::chrono::seconds(20)));
  const int polls_before = polls.load();
  ASSERT_TRUE(WaitFor([&] { return polls.load() >= polls_before + 5; }, std::chrono::seconds(20)));
  EXPECT_EQ(ServedVersion(m), v1);  // still in stage 1
  m.process.Signal(SIGKILL);
  m.process.Wait();
  stop = true;
  poller.join();
  EXPECT_GE(polls.load(), 5);
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed polls, first: " << failures.front();

  // Dead mirror: its data directory holds the old state, complete.
  RunResult r = VerifyOffline(m);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("OK: timestamp v" + std::to_string(v1)), std::string::npos) << r.out;
  // Restart (the upstream is healthy again): resumes, fetching only the target not yet stored.
  upstream.ClearScripts();
  upstream.ClearRequests();
  Start(m);
  ASSERT_TRUE(WaitForVersion(m, v2)) << ReadFileOrDie(m.log);
  EXPECT_TRUE(requested(hashed(b)));
  EXPECT_FALSE(requested(hashed(a)));
  EXPECT_FALSE(requested(hashed(c)));
  r = Verify(m);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  m.process.Signal(SIGTERM);
  EXPECT_EQ(m.process.Wait(), 0);

  // Killed at each later step of `ferry-mirror sync`: consistent every time, then complete.
  int n = 0;
  for (const char* step : {"fetch_target", "stage1_done", "link_target", "write_metadata",
                           "write_timestamp", "published"}) {
    SCOPED_TRACE(step);
    Release("app-3-" + std::to_string(n++) + ".tar", Content(step, 50000));
    const std::int64_t before = ServedVersion(m), after = copy_origin();
    r = Sync(m, {{"FERRY_MIRROR_FAULT", step}});
    EXPECT_EQ(r.signal, SIGKILL) << r.out << r.err;
    r = VerifyOffline(m);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    const std::int64_t expected = std::string(step) == "published" ? after : before;
    EXPECT_NE(r.out.find("OK: timestamp v" + std::to_string(expected)), std::string::npos) << r.out;
    r = Sync(m);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    r = VerifyOffline(m);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("OK: timestamp v" + std::to_string(after)), std::string::npos) << r.out;
  }

  // A tampered upstream: a target with other bytes of the same length; then a rolled-back
  // timestamp. Nothing is published; the mirror keeps serving what it had.
  const std::string held = ReadFileOrDie(m.data() + "/repo/metadata/timestamp.json");
  const std::string t = Release("app-4.0.tar", Content("4.0", 60000));
  copy_origin();
  std::string evil = contents_[t];
  evil[30000] ^= 1;
  upstream.SetScript(hashed(t), Script::Body(evil));
  r = Sync(m);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("hash_mismatch"), std::string::npos) << r.err;
  EXPECT_EQ(ReadFileOrDie(m.data() + "/repo/metadata/timestamp.json"), held);
  EXPECT_FALSE(PathExists(m.data() + "/repo/" + hashed(t)));
  upstream.ClearScripts();
  ASSERT_EQ(Sync(m).exit_code, 0);
  const std::string newest = ReadFileOrDie(m.data() + "/repo/metadata/timestamp.json");
  upstream.SetScript("metadata/timestamp.json", Script::Body(held));
  r = Sync(m);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("rollback"), std::string::npos) << r.err;
  EXPECT_EQ(ReadFileOrDie(m.data() + "/repo/metadata/timestamp.json"), newest);
  r = VerifyOffline(m);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

// kill -9 at random moments of `ferry-mirror sync`, 20 times (slowed by a bandwidth cap so the
// kills land in every phase): after each, the data directory serves a complete, verified state
// (the old or the new one), and a final sync completes.
TEST_F(MirrorNetworkTest, RandomKillsDuringSyncNeverLeaveAnInconsistentState) {
  MirrorProcess& m = NewMirror("m", origin_.url(),
                               "[limits]\ndownload_rate = 128KiB\n[sync]\nparallel_fetches = 2\n");
  RunResult r = Sync(m);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::mt19937 rng(20261125);
  // Runs until 20 kills have landed while a sync ran (a sync that finished before its kill
  // does not count), at most 30 runs.
  int killed = 0;
  constexpr int kKills = 20;
  for (int i = 0; i < 30 && killed < kKills; ++i) {
    SCOPED_TRACE("iteration " + std::to_string(i));
    // 400 KB of new files: at 128 KiB/s (one second of burst) a sync needs over 2 s, more than
    // the longest wait below, whatever an earlier killed sync left in the store.
    for (int k = 0; k < 2; ++k) {
      Release("r" + std::to_string(i) + "-" + std::to_string(k) + ".tar",
              Content("r" + std::to_string(i * 10 + k), 200000));
    }
    const std::int64_t before = ServedVersion(m);
    Process sync = Process::Start({BinPath("ferry-mirror"), "sync", "--config", m.conf}, {}, m.log);
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(50, 1200)(rng)));
    sync.Signal(SIGKILL);
    killed += sync.Wait() == -1 ? 1 : 0;
    r = VerifyOffline(m);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    const std::int64_t now_served = ServedVersion(m);
    EXPECT_TRUE(now_served == before || now_served == OriginVersion()) << now_served;
  }
  EXPECT_EQ(killed, kKills);
  // The last sync without the cap (the kills left a backlog behind).
  std::string conf = ReadFileOrDie(m.conf);
  conf.replace(conf.find("download_rate = 128KiB"), 22, "download_rate = 0");
  ASSERT_OK(WriteFileAtomic(m.conf, conf));
  r = Sync(m);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = VerifyOffline(m);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(ServedVersion(m), OriginVersion());
}

// reliability.md §2.18: a mirror that has not synced for longer than sync.stale_after says so
// itself (/healthz 503 with the reason, `ferry-mirror status` exit 3, ferry_mirror_stale 1), so
// the origin's prober and any load balancer keep users away; the next sync makes it healthy.
TEST_F(MirrorNetworkTest, MirrorThatStopsSyncingReportsItselfStale) {
  MirrorProcess& m = NewMirror("m", origin_.url());
  std::string conf = ReadFileOrDie(m.conf);
  conf.replace(conf.find("stale_after = 1h"), 16, "stale_after = 3s");
  ASSERT_OK(WriteFileAtomic(m.conf, conf));
  Start(m);
  ASSERT_TRUE(WaitForVersion(m, OriginVersion())) << ReadFileOrDie(m.log);
  // No notices and a 1 h poll: nothing syncs, and after 3 s the mirror calls itself stale.
  ASSERT_TRUE(
      WaitFor([&] { return Get(m.url() + "/healthz").status == 503; }, std::chrono::seconds(15)));
  const Http health = Get(m.url() + "/healthz");
  EXPECT_NE(health.body.find("last successful sync"), std::string::npos) << health.body;
  EXPECT_NE(Get(m.url() + "/metrics").body.find("ferry_mirror_stale 1"), std::string::npos);
  EXPECT_EQ(Status(m).Find("lag")->Find("stale")->as_bool(), true);
  RunResult st = RunProcess({BinPath("ferry-mirror"), "status", "--config", m.conf});
  EXPECT_EQ(st.exit_code, 3) << st.out << st.err;
  EXPECT_NE(st.out.find("STALE: last successful sync"), std::string::npos) << st.out;
  // Still serving its last complete state meanwhile.
  EXPECT_EQ(Get(m.url() + "/metadata/timestamp.json").status, 200);
  // A new version and its notice: the sync succeeds and the mirror is healthy again.
  Release("fresh.tar", Content("fresh", 1000));
  EXPECT_EQ(Post(m.url() + "/api/v1/notify", OriginTimestamp()).status, 202);
  ASSERT_TRUE(WaitForVersion(m, OriginVersion())) << ReadFileOrDie(m.log);
  EXPECT_EQ(Get(m.url() + "/healthz").status, 200);
  EXPECT_NE(Get(m.url() + "/metrics").body.find("ferry_mirror_stale 0"), std::string::npos);
}

// The disk quota: the sync fails cleanly with a clear log line, temp files are gone, the old
// state is still served and the process keeps running; with more room the next sync succeeds.
TEST_F(MirrorNetworkTest, DiskQuotaFailsCleanlyAndTheMirrorKeepsServing) {
  MirrorProcess& m = NewMirror("m", origin_.url(), "[limits]\ndisk_quota = 250000\n");
  Start(m);
  const std::int64_t v1 = OriginVersion();
  ASSERT_TRUE(WaitForVersion(m, v1)) << ReadFileOrDie(m.log);
  Release("big.tar", Content("big", 200000));
  const std::int64_t v2 = OriginVersion();
  EXPECT_EQ(Post(m.url() + "/api/v1/notify", OriginTimestamp()).status, 202);
  ASSERT_TRUE(
      WaitFor([&] { return Status(m).Find("sync")->Find("last_result")->as_string() == "failed"; },
              std::chrono::seconds(20)))
      << ReadFileOrDie(m.log);
  const std::string log = ReadFileOrDie(m.log);
  EXPECT_NE(log.find("sync failed: too_large: stage 1: disk quota reached"), std::string::npos)
      << log;
  EXPECT_NE(Status(m).Find("sync")->Find("last_error")->as_string().find("disk quota reached"),
            std::string::npos);
  EXPECT_EQ(HeldVersion(m), v1);
  EXPECT_EQ(Get(m.url() + "/healthz").status, 200);  // still serving a fresh-enough state
  RunResult r = Verify(m);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("OK: timestamp v" + std::to_string(v1)), std::string::npos) << r.out;
  std::size_t temps = 0;
  for (const auto& e : std::filesystem::directory_iterator(m.data() + "/blobs/tmp"))
    temps += e.is_regular_file();
  EXPECT_EQ(temps, 0u);
  // Still running: another notice, another clean failure.
  EXPECT_EQ(Post(m.url() + "/api/v1/notify", OriginTimestamp()).status, 202);
  EXPECT_TRUE(WaitFor([&] { return Status(m).Find("sync")->Find("syncs_failed")->as_int() >= 2; },
                      std::chrono::seconds(20)));
  // More room (restart with a larger quota): the next sync succeeds.
  m.process.Signal(SIGTERM);
  EXPECT_EQ(m.process.Wait(), 0);
  std::string conf = ReadFileOrDie(m.conf);
  conf.replace(conf.find("disk_quota = 250000"), 19, "disk_quota = 10MiB");
  ASSERT_OK(WriteFileAtomic(m.conf, conf));
  Start(m);
  ASSERT_TRUE(WaitForVersion(m, v2)) << ReadFileOrDie(m.log);
  r = Verify(m);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

// The two-stage order seen from outside: a client refreshing and downloading everything from the
// mirror every 100 ms while the mirror syncs (slowly: under a bandwidth cap) never meets a
// missing or wrong file, and sees the old state, then the new one.
TEST_F(MirrorNetworkTest, ClientPollingDuringASyncNeverMeetsAMissingFile) {
  MirrorProcess& m = NewMirror("m", origin_.url(), "[limits]\ndownload_rate = 64KiB\n");
  Start(m);
  ASSERT_TRUE(WaitFor([&] { return ServedVersion(m) > 0; }, std::chrono::seconds(30)))
      << ReadFileOrDie(m.log);
  const std::int64_t v1 = ServedVersion(m);
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<std::string> failures;
  std::set<std::int64_t> versions_seen;
  int polls = 0;
  std::thread poller([&] {
    mirror::HttpUpstreamOptions uo;
    uo.base_url = m.url();
    auto up = mirror::HttpUpstream::Create(uo);
    const std::string root = ReadFileOrDie(root_);
    while (!stop) {
      auto crawl = mirror::CrawlRepository(**up, root, NowUnix());
      std::lock_guard lock(mu);
      ++polls;
      if (!crawl || !crawl->ok()) {
        failures.push_back(crawl ? crawl->problems.front() : crawl.error().ToString());
      } else {
        versions_seen.insert(crawl->timestamp_version);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  Release("app-2.0.tar", Content("2.0", 100000));
  Release("app-2.1.tar", Content("2.1", 100000));
  const auto start = Clock::now();
  EXPECT_EQ(Post(m.url() + "/api/v1/notify", OriginTimestamp()).status, 202);
  ASSERT_TRUE(WaitFor([&] { return ServedVersion(m) > v1; }, std::chrono::seconds(60)))
      << ReadFileOrDie(m.log);
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  stop = true;
  poller.join();
  // 200 kB at 64 KiB/s after a one-second burst: the cap held the sync for seconds.
  EXPECT_GE(secs, 1.5);
  std::lock_guard lock(mu);
  EXPECT_GE(polls, 10);
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed polls, first: " << failures.front();
  EXPECT_TRUE(versions_seen.count(v1)) << "never saw the old state";
  EXPECT_TRUE(versions_seen.count(ServedVersion(m))) << "never saw the new state";
  RunResult r = Verify(m);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

// The second version of a plugin reaches a mirror holding the first as the origin's signed
// patch: the mirror rebuilds it instead of downloading it (its log line, /metrics and status page
// say so), serves it and the patch, and ferry / ferry-tuf download and verify everything.
TEST_F(MirrorNetworkTest, SecondVersionSyncsAsASignedPatch) {
  // Source-like text: compressible, and a small edit away from the next version.
  std::string v1;
  static const char* kWords[] = {"function ", "return ", "const ", "value", "(x) ",
                                 "{ ",        "}\n",     "if ",    "else ", "this.",
                                 "export ",   "import ", "= ",     "; "};
  for (std::uint32_t x = 1; v1.size() < 400000;) {
    x = x * 1664525u + 1013904223u;
    v1 += kWords[(x >> 16) % 14];
  }
  std::string v2 = v1;
  for (std::size_t i = 1000; i + 16 < v2.size(); i += 50000) v2.replace(i, 6, "edited");
  v2 += "// 1.1\n";
  PublishPlugin("1.0", v1);
  MirrorProcess& m = NewMirror("m", origin_.url());
  Start(m);
  ASSERT_TRUE(WaitForVersion(m, OriginVersion())) << ReadFileOrDie(m.log);

  PublishPlugin("1.1", v2);
  // The origin builds and signs the patch off the request path, then publishes it.
  ASSERT_TRUE(WaitFor(
      [&] {
        return ReadFileOrDie(dir_.Join("origin.log")).find("published 1 patches") !=
               std::string::npos;
      },
      std::chrono::seconds(60)))
      << ReadFileOrDie(dir_.Join("origin.log"));
  const std::int64_t v = OriginVersion();
  EXPECT_EQ(Post(m.url() + "/api/v1/notify", OriginTimestamp()).status, 202);
  ASSERT_TRUE(WaitForVersion(m, v)) << ReadFileOrDie(m.log);
  ASSERT_TRUE(WaitFor(
      [&] { return ReadFileOrDie(m.log).find("rebuilt from patches") != std::string::npos; },
      std::chrono::seconds(10)))
      << ReadFileOrDie(m.log);
  EXPECT_NE(ReadFileOrDie(m.log).find("1 target rebuilt from patches ("), std::string::npos);

  Http metrics = Get(m.url() + "/metrics");
  EXPECT_NE(metrics.body.find("\nferry_mirror_sync_patched_targets_total 1\n"), std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("\nferry_mirror_sync_patch_saved_bytes_total " +
                              std::to_string(v2.size()) + "\n"),
            std::string::npos)
      << metrics.body;
  const json::Value status = Status(m);
  const std::int64_t patch_bytes = status.Find("sync")->Find("patch_bytes_total")->as_int();
  EXPECT_GT(patch_bytes, 0);
  EXPECT_LT(patch_bytes, static_cast<std::int64_t>(v2.size() / 20));
  // The last sync moved the metadata and the patch: far less than the file.
  EXPECT_LT(status.Find("sync")->Find("last_sync_bytes")->as_int(),
            static_cast<std::int64_t>(v2.size() / 4));
  EXPECT_NE(Get(m.url() + "/").body.find("rebuilt from patches"), std::string::npos);

  RunResult r = Verify(m);  // every target, the patch included, against the signed metadata
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  ExpectByteIdentical(m);
  ExpectClientsDownload(m);
}

// The HTTPS listener with an existing certificate, and its reload on SIGHUP: new connections get
// the new certificate, and a client trusting only the old one is refused.
TEST_F(MirrorNetworkTest, TlsListenerReloadsItsCertificateOnSighup) {
  const std::string cert = dir_.Join("tls-cert.pem"), key = dir_.Join("tls-key.pem");
  const std::string old_ca = dir_.Join("old-ca.pem");
  ASSERT_TRUE(MakeSelfSignedCert(cert, key, "mirror A"));
  ASSERT_OK(WriteFileAtomic(old_ca, ReadFileOrDie(cert)));
  const int tls_port = FreePort();
  MirrorProcess& m = NewMirror("m", origin_.url(),
                               "[https]\nlisten = 127.0.0.1:" + std::to_string(tls_port) +
                                   "\ntls_cert = " + cert + "\ntls_key = " + key + "\n");
  Start(m);
  ASSERT_TRUE(WaitFor([&] { return ServedVersion(m) > 0; }, std::chrono::seconds(20)))
      << ReadFileOrDie(m.log);
  const std::string https = "https://127.0.0.1:" + std::to_string(tls_port);
  auto fetch = [&](const std::string& ca) -> Result<std::string> {
    net::HttpClientOptions o;
    o.ca_file = ca;
    o.use_system_ca = false;
    o.keep_alive = false;
    FERRY_ASSIGN_OR_RETURN(net::HttpClient client, net::HttpClient::Create(o));
    return client.FetchToString(https + "/metadata/timestamp.json", 1 << 20);
  };
  auto body = fetch(old_ca);
  ASSERT_OK(body);
  EXPECT_EQ(*body, ReadFileOrDie(m.data() + "/repo/metadata/timestamp.json"));
  ASSERT_TRUE(MakeSelfSignedCert(cert, key, "mirror B"));
  m.process.Signal(SIGHUP);
  ASSERT_TRUE(WaitFor([&] { return fetch(cert).ok(); }, std::chrono::seconds(10)))
      << ReadFileOrDie(m.log);
  EXPECT_FALSE(fetch(old_ca).ok());
  // A reload that fails keeps the current certificate.
  ASSERT_OK(WriteFileAtomic(key, "not a key"));
  m.process.Signal(SIGHUP);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_OK(fetch(cert));
}

}  // namespace
}  // namespace ferry::testing
