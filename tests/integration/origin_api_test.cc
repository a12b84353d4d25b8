// The origin's upload API over real HTTP against a live ferry-origin: authentication and
// scopes, size limits before the body is read, the traversal corpus, auth-bypass variants, and
// concurrent publishing by several authors' CLIs.
#include <filesystem>
#include <set>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/fs.h"
#include "net/http_client.h"
#include "tests/integration/process.h"
#include "tests/testutil/testutil.h"

namespace ferry::testing {
namespace {

class OriginApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.Join("data");
    RunResult r = RunProcess({BinPath("ferry-origin"), "init", "--data", data_, "--root-keys", "1",
                              "--root-threshold", "1"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string conf = dir_.Join("origin.conf");
    ASSERT_OK(WriteFileAtomic(
        conf,
        "data_dir = " + data_ + "\n[http]\nlisten = 127.0.0.1:0\n[publish]\nmax_upload = 1MiB\n"));
    auto origin = StartOrigin(conf, dir_.Join("origin.log"));
    ASSERT_TRUE(origin.has_value()) << ReadFileOrDie(dir_.Join("origin.log"));
    origin_ = std::move(*origin);
    const std::map<std::string, std::string> env = {{"FERRY_HOME", dir_.Join("home")}};
    r = RunProcess({BinPath("ferry"), "keygen", "-o", dir_.Join("author.key")}, env);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const char* plugin : {"git", "svn"}) {
      r = RunProcess({BinPath("ferry-origin"), "plugin", "add", plugin, "--data", data_,
                      "--author-key", dir_.Join("author.key.pub"), "--targets-key",
                      data_ + "/offline-keys/targets.key"});
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    git_token_ = Issue("plugin:git");
    svn_token_ = Issue("plugin:svn");
    auto http = net::HttpClient::Create();
    ASSERT_OK(http);
    http_ = std::make_unique<net::HttpClient>(std::move(*http));
  }

  std::string Issue(const std::string& scope) {
    RunResult r =
        RunProcess({BinPath("ferry-origin"), "token", "issue", "--data", data_, "--scope", scope});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out.substr(0, r.out.find('\n'));
  }

  struct Answer {
    int status = 0;
    std::string body;
  };
  Answer Put(const std::string& path, const std::string& token, std::uint64_t length,
             bool chunked = false, bool expect_continue = true) {
    net::FetchRequest req;
    req.url = origin_.url() + path;
    req.method = "PUT";
    if (!token.empty()) req.headers.Set("Authorization", "Bearer " + token);
    if (expect_continue) req.headers.Set("Expect", "100-continue");
    std::uint64_t sent = 0;
    req.body_source = [&, length](std::span<char> buf) -> Result<std::size_t> {
      std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), length - sent));
      std::fill(buf.begin(), buf.begin() + static_cast<long>(n), 'u');
      sent += n;
      return n;
    };
    if (!chunked) req.body_length = length;
    req.max_length = 65536;
    Answer a;
    auto r = http_->Fetch(req, [&](std::string_view c) {
      a.body.append(c);
      return OkStatus();
    });
    if (r) a.status = r->status;
    return a;
  }

  // A raw request line, for targets no client library would send.
  int RawStatus(const std::string& target, const std::string& extra_headers = "") {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(origin_.port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd);
      return -1;
    }
    std::string req = "PUT " + target + " HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n" +
                      extra_headers + "Connection: close\r\n\r\nx";
    (void)::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    std::string resp;
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      resp.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return resp.size() > 12 ? std::atoi(resp.c_str() + 9) : -1;
  }

  std::set<std::string> FilesUnder(const std::string& dir) {
    std::set<std::string> out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
      out.insert(e.path().lexically_relative(dir).string());
    }
    return out;
  }

  TempDir dir_;
  std::string data_, git_token_, svn_token_;
  OriginProcess origin_;
  std::unique_ptr<net::HttpClient> http_;
};

TEST_F(OriginApiTest, AuthenticationAndScopes) {
  EXPECT_EQ(Put("/api/v1/plugins/git/files/a.hpi", "", 10).status, 401);
  EXPECT_EQ(Put("/api/v1/plugins/git/files/a.hpi", "fy_" + std::string(48, '0'), 10).status, 401);
  EXPECT_EQ(Put("/api/v1/plugins/git/files/a.hpi", svn_token_, 10).status, 403);
  Answer ok = Put("/api/v1/plugins/git/files/a.hpi", git_token_, 10);
  EXPECT_EQ(ok.status, 201) << ok.body;
  EXPECT_NE(ok.body.find("\"sha256\""), std::string::npos);
  // Revoked: 401 from then on.
  RunResult list = RunProcess({BinPath("ferry-origin"), "token", "list", "--data", data_});
  ASSERT_EQ(list.exit_code, 0);
  RunResult rv = RunProcess({BinPath("ferry-origin"), "token", "revoke", "1", "--data", data_});
  ASSERT_EQ(rv.exit_code, 0) << rv.err;
  EXPECT_EQ(Put("/api/v1/plugins/git/files/b.hpi", git_token_, 10).status, 401);
  // X-Forwarded-For or a localhost origin grants nothing.
  EXPECT_EQ(RawStatus("/api/v1/plugins/svn/files/c.hpi", "X-Forwarded-For: 127.0.0.1\r\n"), 401);
}

TEST_F(OriginApiTest, SizeLimitsBeforeTheBody) {
  // Declared too large: 413 before the body (the client waits for 100 Continue and never sends it).
  Answer big = Put("/api/v1/plugins/git/files/big.hpi", git_token_, 2 << 20);
  EXPECT_EQ(big.status, 413) << big.body;
  // Chunked, crossing the limit while streaming: 413 too.
  Answer chunked = Put("/api/v1/plugins/git/files/big2.hpi", git_token_, 3 << 20, /*chunked=*/true);
  EXPECT_EQ(chunked.status, 413) << chunked.body;
  // Nothing left behind in the store.
  for (const auto& f : FilesUnder(data_ + "/blobs/tmp")) ADD_FAILURE() << "left over: " << f;
  EXPECT_EQ(Put("/api/v1/plugins/git/files/fits.hpi", git_token_, 1 << 20).status, 201);
}

TEST_F(OriginApiTest, TraversalCorpusIsRefused) {
  const std::set<std::string> before = FilesUnder(dir_.path());
  const std::string h = "Authorization: Bearer " + git_token_ + "\r\n";
  for (const std::string& name : std::vector<std::string>{
           "..%2Fx", "%2e%2e", "..", "%2E%2E%2Fx", "%2F%2F..", "a%00b", "%c0%af", "..%5Cx",
           "C:", "%2Fetc%2Fpasswd", ".hidden", "trailing%20", "a%20b", std::string(4096, 'a'),
           "caf%C3%A9", "x/../../escape"}) {
    SCOPED_TRACE(name);
    int status = RawStatus("/api/v1/plugins/git/files/" + name, h);
    EXPECT_TRUE(status == 400 || status == 404 || status == 431) << status;
  }
  // Path variants reach the same auth decision, never another route or a bypass.
  for (const std::string& target : std::vector<std::string>{
           "/api/v1/plugins/git/files/a.hpi/", "//api/v1/plugins/git/files/a.hpi",
           "/api/v1/plugins/git%2Ffiles%2Fa.hpi", "/API/v1/plugins/git/files/a.hpi"}) {
    SCOPED_TRACE(target);
    int status = RawStatus(target);
    EXPECT_TRUE(status == 400 || status == 404 || status == 401) << status;
  }
  // No file appeared outside the data directory's store and catalog.
  for (const auto& f : FilesUnder(dir_.path())) {
    if (before.count(f)) continue;
    EXPECT_TRUE(f.rfind("data/blobs", 0) == 0 || f.rfind("data/catalog.db", 0) == 0 ||
                f == "origin.log")
        << "unexpected file " << f;
  }
}

TEST_F(OriginApiTest, ConcurrentAuthorsPublish) {
  const std::string admin = Issue("admin");
  std::vector<std::thread> threads;
  std::vector<RunResult> results(6);
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      const std::string plugin = i % 2 ? "git" : "svn";
      const std::string file = dir_.Join(plugin + "-" + std::to_string(i) + ".hpi");
      (void)WriteFileAtomic(file, std::string(1000 + static_cast<std::size_t>(i), 'p'));
      const std::map<std::string, std::string> env = {
          {"FERRY_HOME", dir_.Join("home" + std::to_string(i))}};
      RunProcess(
          {BinPath("ferry"), "init", origin_.url(), "--root", data_ + "/repo/metadata/1.root.json"},
          env);
      results[static_cast<std::size_t>(i)] =
          RunProcess({BinPath("ferry"), "publish", file, "--plugin", plugin, "--version",
                      std::to_string(i), "--key", dir_.Join("author.key"), "--token", admin},
                     env);
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::map<std::string, std::string> env = {{"FERRY_HOME", dir_.Join("reader")}};
  RunProcess(
      {BinPath("ferry"), "init", origin_.url(), "--root", data_ + "/repo/metadata/1.root.json"},
      env);
  RunResult git = RunProcess({BinPath("ferry"), "list", "git"}, env);
  RunResult svn = RunProcess({BinPath("ferry"), "list", "svn"}, env);
  EXPECT_EQ(std::count(git.out.begin(), git.out.end(), '\n'), 3) << git.out << git.err;
  EXPECT_EQ(std::count(svn.out.begin(), svn.out.end(), '\n'), 3) << svn.out << svn.err;
  // `ferry verify FILE` alone finds which signed file it is (here in a plugin's delegated role)...
  RunResult v = RunProcess({BinPath("ferry"), "verify", dir_.Join("git-3.hpi")}, env);
  EXPECT_EQ(v.exit_code, 0) << v.err;
  EXPECT_NE(v.out.find("OK, it is plugins/git/git-3.hpi"), std::string::npos) << v.out;
  // ...and refuses bytes the repository never signed.
  ASSERT_OK(WriteFileAtomic(dir_.Join("forged.hpi"), std::string(1003, 'q')));
  v = RunProcess({BinPath("ferry"), "verify", dir_.Join("forged.hpi")}, env);
  EXPECT_NE(v.exit_code, 0);
  EXPECT_NE(v.err.find("is no file the repository signed"), std::string::npos) << v.err;
  // An author renews the plugin's signed metadata without a new build.
  RunResult renew = RunProcess({BinPath("ferry"), "renew", "--plugin", "git", "--key",
                                dir_.Join("author.key"), "--token", admin, "--valid", "400d"},
                               env);
  EXPECT_EQ(renew.exit_code, 0) << renew.err;
  EXPECT_NE(renew.out.find("renewed plugins.git: version 4"), std::string::npos) << renew.out;
  git = RunProcess({BinPath("ferry"), "list", "git"}, env);
  EXPECT_EQ(std::count(git.out.begin(), git.out.end(), '\n'), 3) << git.out << git.err;
}

}  // namespace
}  // namespace ferry::testing
