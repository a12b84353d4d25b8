// HTTP hardening and resource exhaustion against the real servers, as processes on 127.0.0.1:
// a live ferry-origin and a ferry-mirror synced from it get the request-smuggling corpus, heads
// over the limit, slowloris clients, and the traversal corpus; a mirror whose data directory sits
// on a tiny tmpfs meets a really full disk. (tests/net/server_test.cc covers the same cases on
// the server core in-process, with shorter timeouts; this proves the executables are built on it
// with the hardening on.)
#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/fs.h"
#include "crypto/hash.h"
#include "tests/integration/process.h"
#include "tests/testutil/testutil.h"

namespace ferry::testing {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// A plain TCP connection for hand-made requests.
class Conn {
 public:
  explicit Conn(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~Conn() {
    if (fd_ >= 0) ::close(fd_);
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  bool ok() const { return fd_ >= 0; }
  bool Send(std::string_view data) {
    return ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
  }
  // Reads until the peer closes or `timeout` passes; *closed says which.
  std::string ReadUntilClose(std::chrono::milliseconds timeout, bool* closed) {
    std::string out;
    *closed = false;
    const auto deadline = Clock::now() + timeout;
    char buf[8192];
    while (Clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (::poll(&p, 1, static_cast<int>(std::max<long long>(1, left))) <= 0) continue;
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        *closed = true;
        break;
      }
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }

 private:
  int fd_ = -1;
};

int FirstStatus(const std::string& r) {
  if (r.size() < 12 || r.compare(0, 5, "HTTP/") != 0) return -1;
  return std::atoi(r.substr(9, 3).c_str());
}

int CountStatusLines(const std::string& r) {
  int n = 0;
  for (std::size_t p = 0; (p = r.find("HTTP/1.", p)) != std::string::npos; ++p) {
    if (p == 0 || r.compare(p - 2, 2, "\r\n") == 0) ++n;
  }
  return n;
}

std::string Get(const std::string& path, const std::string& extra = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + "\r\n";
}

// One request on its own connection; the answer up to the close (or 5 s).
std::string RoundTrip(int port, const std::string& request, bool* closed) {
  Conn c(port);
  if (!c.ok() || !c.Send(request)) return "";
  return c.ReadUntilClose(5s, closed);
}

// A 1 MiB tmpfs mounted for the life of the object. Needs root; mounted() says if it worked.
class TinyTmpfs {
 public:
  TinyTmpfs(const std::string& path, const std::string& size) : path_(path) {
    if (!MakeDirs(path_)) return;
    const std::string opts = "size=" + size + ",mode=0700";
    mounted_ = ::mount("tmpfs", path_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, opts.c_str()) == 0;
  }
  ~TinyTmpfs() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  TinyTmpfs(const TinyTmpfs&) = delete;
  TinyTmpfs& operator=(const TinyTmpfs&) = delete;
  bool mounted() const { return mounted_; }

 private:
  std::string path_;
  bool mounted_ = false;
};

class HardeningTest : public ::testing::Test {
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
    Release("app-1.0.tar", std::string(100000, 'a'));
  }

  void Release(const std::string& name, const std::string& content) {
    const std::string path = dir_.Join(name);
    ASSERT_OK(WriteFileAtomic(path, content));
    RunResult r = RunProcess({BinPath("ferry-origin"), "release", "add", path, "--data", data_,
                              "--path", "release/" + name, "--package", "app", "--version", name,
                              "--targets-key", data_ + "/offline-keys/targets.key"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // Writes a mirror config with its data directory at `data`.
  std::string MirrorConfig(const std::string& data) {
    const std::string conf = dir_.Join("mirror.conf");
    EXPECT_OK(WriteFileAtomic(conf, "data_dir = " + data + "\n[upstream]\nurl = " + origin_.url() +
                                        "\nroot = " + data_ + "/repo/metadata/1.root.json" +
                                        "\n[http]\nlisten = 127.0.0.1:0\n[sync]\n"
                                        "poll_interval = 1h\nmin_interval = 0s\n"));
    return conf;
  }

  // Syncs a mirror once and starts serving it; returns its port (0 on failure).
  int StartMirror() {
    const std::string conf = MirrorConfig(dir_.Join("mirror"));
    RunResult r = RunProcess({BinPath("ferry-mirror"), "sync", "--config", conf});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    mirror_ = Process::Start({BinPath("ferry-mirror"), "serve", "--config", conf}, {},
                             dir_.Join("mirror.log"));
    auto line = mirror_.WaitForLine("listening on");
    EXPECT_TRUE(line.has_value()) << ReadFileOrDie(dir_.Join("mirror.log"));
    return line ? std::atoi(line->substr(line->rfind(':') + 1).c_str()) : 0;
  }

  // Both servers, by name.
  std::vector<std::pair<std::string, int>> Servers() {
    const int mirror_port = StartMirror();
    return {{"origin", origin_.port}, {"mirror", mirror_port}};
  }

  TempDir dir_;
  std::string data_;
  OriginProcess origin_;
  Process mirror_;
};

// Each request of the corpus gets exactly one 400 and a close, and the request smuggled behind
// it is never answered; afterwards the server answers normally.
TEST_F(HardeningTest, SmugglingCorpusGetsOne400AndACloseFromOriginAndMirror) {
  const std::string smuggled = Get("/healthz");
  const std::vector<std::pair<const char*, std::string>> cases = {
      {"CL+TE",
       "POST /api/v1/notify HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n"
       "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nX" +
           smuggled},
      {"TE+CL",
       "POST /api/v1/notify HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
       "Content-Length: 6\r\n\r\n0\r\n\r\nX" +
           smuggled},
      {"duplicate CL",
       "POST /api/v1/notify HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n"
       "Content-Length: 44\r\n\r\n" +
           smuggled},
      {"TE chunked, gzip",
       "POST /api/v1/notify HTTP/1.1\r\nHost: t\r\n"
       "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n" +
           smuggled},
      {"TE space colon",
       "POST /api/v1/notify HTTP/1.1\r\nHost: t\r\n"
       "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n" +
           smuggled},
      {"obs-fold",
       "GET /healthz HTTP/1.1\r\nHost: t\r\nX-A: 1\r\n Transfer-Encoding: chunked\r\n\r\n" +
           smuggled},
      {"bare LF", "GET /healthz HTTP/1.1\nHost: t\n\n" + smuggled},
      {"NUL in a header",
       std::string("GET /healthz HTTP/1.1\r\nHost: t\r\nX: a") + '\0' + "b\r\n\r\n" + smuggled},
      {"no Host", "GET /healthz HTTP/1.1\r\n\r\n" + smuggled},
      {"TLS hello on plain HTTP",
       std::string("\x16\x03\x01\x02\x00\x01", 6) + "\r\n\r\n" + smuggled},
  };
  for (const auto& [server, port] : Servers()) {
    ASSERT_NE(port, 0);
    for (const auto& [name, request] : cases) {
      bool closed = false;
      const std::string r = RoundTrip(port, request, &closed);
      EXPECT_EQ(FirstStatus(r), 400) << server << ", " << name << ": " << r;
      EXPECT_EQ(CountStatusLines(r), 1) << server << ", " << name << ": " << r;
      EXPECT_TRUE(closed) << server << ", " << name;
    }
    bool closed = false;
    EXPECT_EQ(FirstStatus(RoundTrip(port, Get("/healthz", "Connection: close\r\n"), &closed)), 200)
        << server;
  }
}

TEST_F(HardeningTest, OversizedHeadsGet431FromOriginAndMirror) {
  const auto servers = Servers();
  for (const auto& [server, port] : servers) {
    bool closed = false;
    const std::string r =
        RoundTrip(port, Get("/healthz", "X-Big: " + std::string(20000, 'a') + "\r\n"), &closed);
    EXPECT_EQ(FirstStatus(r), 431) << server << ": " << r;
    EXPECT_TRUE(closed) << server;
  }
  // The anonymous POST routes take 4 KiB heads; the same 5 KB head is fine on a GET.
  const std::string pad = "X-Pad: " + std::string(5000, 'p') + "\r\n";
  const int mirror_port = servers[1].second;
  for (const auto& [port, path] :
       std::vector<std::pair<int, std::string>>{{origin_.port, "/api/v1/reports"},
                                                {mirror_port, "/api/v1/notify"},
                                                {mirror_port, "/api/v1/subscribe"}}) {
    bool closed = false;
    std::string r = RoundTrip(
        port, "POST " + path + " HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n" + pad + "\r\n{}",
        &closed);
    EXPECT_EQ(FirstStatus(r), 431) << path << ": " << r;
    r = RoundTrip(port, Get("/healthz", pad + "Connection: close\r\n"), &closed);
    EXPECT_EQ(FirstStatus(r), 200) << path << ": " << r;
  }
}

// A client sending one byte every 500 ms never completes its head: each server closes the
// connection without an answer after its 10 s header timeout, and serves others meanwhile.
TEST_F(HardeningTest, SlowlorisIsCutOffByOriginAndMirror) {
  const auto servers = Servers();
  std::vector<std::thread> threads;
  std::vector<std::string> failures(servers.size());
  for (std::size_t i = 0; i < servers.size(); ++i) {
    threads.emplace_back([&, i] {
      const int port = servers[i].second;
      Conn slow(port);
      const std::string req = Get("/healthz") + std::string(1000, 'x');
      const auto t0 = Clock::now();
      std::atomic<bool> stop{false};
      std::thread trickle([&] {
        for (char c : req) {
          if (stop || !slow.Send(std::string_view(&c, 1))) return;
          std::this_thread::sleep_for(500ms);
        }
      });
      bool closed = false;
      const std::string r = slow.ReadUntilClose(15s, &closed);
      const auto elapsed = Clock::now() - t0;
      stop = true;
      trickle.join();
      if (!closed) failures[i] = "not closed within 15 s";
      if (!r.empty()) failures[i] += "; answered: " + r.substr(0, 40);
      if (elapsed < 9s) failures[i] += "; closed too early";
    });
  }
  // Meanwhile both keep answering at once.
  std::this_thread::sleep_for(2s);
  for (const auto& [server, port] : servers) {
    const auto t = Clock::now();
    bool closed = false;
    EXPECT_EQ(FirstStatus(RoundTrip(port, Get("/healthz", "Connection: close\r\n"), &closed)), 200)
        << server;
    EXPECT_LT(Clock::now() - t, 2s) << server;
  }
  for (auto& t : threads) t.join();
  for (std::size_t i = 0; i < servers.size(); ++i) {
    EXPECT_EQ(failures[i], "") << servers[i].first;
  }
}

// Encoded separators, dot segments, backslashes, NUL and overlong UTF-8 in request paths never
// reach a file, let alone one outside the served tree.
TEST_F(HardeningTest, TraversalCorpusNeverServesAFile) {
  const std::vector<std::string> corpus = {
      "/metadata/../origin.conf",    "/metadata/..%2f..%2forigin.conf",
      "/metadata/%2e%2e/%2e%2e/x",   "/targets/..%5c..%5cstate.json",
      "/metadata/%00timestamp.json", "/targets/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
      "/metadata//1.root.json",      "/targets/release/../../../etc/passwd",
      "/%2e%2e/%2e%2e/etc/passwd",   "/metadata/" + std::string(4096, 'a') + ".json",
  };
  for (const auto& [server, port] : Servers()) {
    for (const std::string& path : corpus) {
      bool closed = false;
      const std::string r = RoundTrip(port, Get(path, "Connection: close\r\n"), &closed);
      const int status = FirstStatus(r);
      EXPECT_TRUE(status == 400 || status == 404 || status == 431)
          << server << " " << path.substr(0, 80) << " -> " << status;
    }
  }
}

// A mirror whose data directory fills up: the sync fails with a clear error, nothing half-written
// stays behind, the last complete state is still served and verifies, and once there is room
// again the next sync completes.
TEST_F(HardeningTest, DiskFullOnAMirrorFailsCleanlyAndKeepsServing) {
  const std::string mnt = dir_.Join("small");
  TinyTmpfs fs(mnt, "1m");
  if (!fs.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
  const std::string conf = MirrorConfig(mnt + "/data");
  RunResult r = RunProcess({BinPath("ferry-mirror"), "sync", "--config", conf});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string served_before = ReadFileOrDie(mnt + "/data/repo/metadata/timestamp.json");

  // Random bytes do not fit: the store's quota is not set, the disk itself runs out.
  std::string big(1500000, '\0');
  for (std::size_t i = 0; i < big.size(); i += 32) {
    const std::string h = crypto::Sha256Hex(std::to_string(i));
    big.replace(i, std::min<std::size_t>(32, big.size() - i), h.substr(0, 32));
  }
  Release("big.tar", big);
  r = RunProcess({BinPath("ferry-mirror"), "sync", "--config", conf});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE((r.out + r.err).find("No space left on device"), std::string::npos) << r.out << r.err;
  EXPECT_EQ(ReadFileOrDie(mnt + "/data/repo/metadata/timestamp.json"), served_before);
  r = RunProcess({BinPath("ferry-mirror"), "verify", "--config", conf});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const auto& e : std::filesystem::recursive_directory_iterator(mnt + "/data")) {
    const std::string rel = e.path().lexically_relative(mnt + "/data").string();
    EXPECT_FALSE(e.is_regular_file() &&
                 (rel.starts_with("blobs/tmp/") || rel.find(".tmp") != std::string::npos))
        << "left behind: " << rel;
  }

  // The mirror serves the old state meanwhile.
  Process serving = Process::Start({BinPath("ferry-mirror"), "serve", "--config", conf}, {},
                                   dir_.Join("small-mirror.log"));
  auto line = serving.WaitForLine("listening on");
  ASSERT_TRUE(line.has_value()) << ReadFileOrDie(dir_.Join("small-mirror.log"));
  const int port = std::atoi(line->substr(line->rfind(':') + 1).c_str());
  bool closed = false;
  const std::string resp =
      RoundTrip(port, Get("/metadata/timestamp.json", "Connection: close\r\n"), &closed);
  EXPECT_EQ(FirstStatus(resp), 200);
  EXPECT_NE(resp.find(served_before), std::string::npos);
  serving.Signal(SIGTERM);
  EXPECT_EQ(serving.Wait(), 0);

  // More room: the same data directory completes the sync.
  ASSERT_EQ(::mount("tmpfs", mnt.c_str(), "tmpfs", MS_REMOUNT | MS_NOSUID | MS_NODEV,
                    "size=8m,mode=0700"),
            0);
  r = RunProcess({BinPath("ferry-mirror"), "sync", "--config", conf});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFileOrDie(mnt + "/data/repo/metadata/timestamp.json"),
            ReadFileOrDie(data_ + "/repo/metadata/timestamp.json"));
}

// A malformed value in the origin's config file is a clear error naming the key, before
// anything starts (it was std::bad_variant_access, an abort, for [http], [mirrors], [deltas]).
TEST(OriginConfig, MalformedValuesAreClearErrorsNotCrashes) {
  TempDir dir;
  const std::string data = dir.Join("data");
  RunResult r = RunProcess({BinPath("ferry-origin"), "init", "--data", data, "--root-keys", "1",
                            "--root-threshold", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[http]\nio_threads = lots\n", "http.io_threads"},
      {"[http]\nio_threads = 0\n", "http.io_threads"},
      {"[mirrors]\nprobe_every = soon\n", "mirrors.probe_every"},
      {"[mirrors]\nprobe_samples = -1\n", "mirrors.probe_samples"},
      {"[deltas]\nenabled = maybe\n", "deltas.enabled"},
      {"[deltas]\nkeep_versions = x\n", "deltas.keep_versions"},
      {"[publish]\ngc_every = 0\n", "gc_every"},
      {"[http]\ntls_cert = /nonexistent.pem\n", "tls_key"},
  };
  for (const auto& [section, key] : cases) {
    const std::string conf = dir.Join("origin.conf");
    ASSERT_OK(
        WriteFileAtomic(conf, "data_dir = " + data + "\n[http]\nlisten = 127.0.0.1:0\n" + section));
    r = RunProcess({BinPath("ferry-origin"), "serve", "--config", conf}, {},
                   std::chrono::seconds(20));
    EXPECT_EQ(r.exit_code, 1) << section << r.out << r.err;
    EXPECT_NE(r.err.find(key), std::string::npos) << section << r.err;
  }
}

}  // namespace
}  // namespace ferry::testing
