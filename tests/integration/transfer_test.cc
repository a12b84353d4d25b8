// Compressed transfers between real processes on 127.0.0.1: ferry-origin keeps a zstd copy of a
// published file that zstd shrinks and sends it to requests that accept zstd; ferry-mirror asks
// for it, decodes it as it arrives and verifies the decoded bytes against the signed hashes. A
// corrupt copy at the origin costs one more (plain) download, never a wrong file.
#include "delta/transfer.h"

#include <chrono>
#include <string>
#include <thread>

#include "base/fs.h"
#include "crypto/hash.h"
#include "net/http_client.h"
#include "tests/integration/process.h"
#include "tests/testutil/testutil.h"

namespace ferry::testing {
namespace {

// Text-like content: compresses well, like most release artifacts' uncompressed forms.
std::string Compressible(std::size_t n) {
  std::string s;
  std::uint32_t x = 7;
  static const char* kWords[] = {"function ", "return ", "const ", "value", "(x) ",
                                 "{ ",        "}\n",     "if ",    "else ", "this.",
                                 "export ",   "import ", "= ",     "; "};
  while (s.size() < n) {
    x = x * 1664525u + 1013904223u;
    s += kWords[(x >> 16) % 14];
  }
  s.resize(n);
  return s;
}

std::uint64_t BytesSent(net::HttpClient& http, const std::string& url) {
  auto m = http.FetchToString(url + "/metrics", 1 << 20);
  if (!m) return 0;
  const std::string key = "ferry_http_bytes_sent_total ";
  const std::size_t p = m->find("\n" + key);
  return p == std::string::npos ? 0 : std::stoull(m->substr(p + 1 + key.size()));
}

class TransferTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.Join("origin");
    RunResult r = RunProcess({BinPath("ferry-origin"), "init", "--data", data_, "--root-keys", "1",
                              "--root-threshold", "1"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    content_ = Compressible(600000);
    sha_ = crypto::Sha256Hex(content_);
    ASSERT_OK(WriteFileAtomic(dir_.Join("app.js"), content_));
    r = RunProcess({BinPath("ferry-origin"), "release", "add", dir_.Join("app.js"), "--data", data_,
                    "--path", "release/app-1.0.js", "--package", "app", "--version", "1.0",
                    "--targets-key", data_ + "/offline-keys/targets.key"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_OK(WriteFileAtomic(dir_.Join("origin.conf"),
                              "data_dir = " + data_ + "\n[http]\nlisten = 127.0.0.1:0\n"));
    auto origin = StartOrigin(dir_.Join("origin.conf"), dir_.Join("origin.log"));
    ASSERT_TRUE(origin.has_value()) << ReadFileOrDie(dir_.Join("origin.log"));
    origin_ = std::move(*origin);
    // The origin writes the copy off the request path, right after it starts.
    zst_ = data_ + "/compressed/" + sha_ + ".zst";
    for (int i = 0; i < 300 && !PathExists(zst_); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(PathExists(zst_)) << ReadFileOrDie(dir_.Join("origin.log"));
  }

  // `ferry-mirror sync` into a fresh data directory; returns the bytes the origin sent for it.
  std::uint64_t SyncFreshMirror(const std::string& name, net::HttpClient& http) {
    const std::string conf = dir_.Join(name + ".conf");
    EXPECT_OK(WriteFileAtomic(conf, "data_dir = " + dir_.Join(name) + "\n[upstream]\nurl = " +
                                        origin_.url() + "\nroot = " + data_ +
                                        "/repo/metadata/1.root.json\n[http]\nlisten = "
                                        "127.0.0.1:0\n[sync]\npoll_interval = 1h\n"));
    const std::uint64_t before = BytesSent(http, origin_.url());
    RunResult r = RunProcess({BinPath("ferry-mirror"), "sync", "--config", conf});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    const std::uint64_t sent = BytesSent(http, origin_.url()) - before;
    const std::string served = dir_.Join(name) + "/repo/targets/release/" + sha_ + ".app-1.0.js";
    EXPECT_TRUE(PathExists(served));
    if (PathExists(served)) {
      EXPECT_TRUE(ReadFileOrDie(served) == content_);
    }
    r = RunProcess({BinPath("ferry-mirror"), "verify", "--config", conf});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    return sent;
  }

  TempDir dir_;
  std::string data_, content_, sha_, zst_;
  OriginProcess origin_;
};

TEST_F(TransferTest, OriginSendsTheZstdCopyOnlyToThoseWhoAskForIt) {
  const std::string frame = ReadFileOrDie(zst_);
  EXPECT_LT(frame.size(), content_.size() / 2);
  auto http = net::HttpClient::Create();
  ASSERT_OK(http);
  const std::string url = origin_.url() + "/targets/release/" + sha_ + ".app-1.0.js";
  for (bool accept : {true, false}) {
    net::FetchRequest req;
    req.url = url;
    if (accept) req.headers.Set("Accept-Encoding", "gzip, zstd");
    std::string body;
    auto r = http->Fetch(req, [&](std::string_view c) {
      body.append(c);
      return OkStatus();
    });
    ASSERT_OK(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->headers.GetOr("Vary", ""), "Accept-Encoding");
    EXPECT_EQ(r->headers.GetOr("Content-Encoding", ""), accept ? "zstd" : "");
    EXPECT_TRUE(body == (accept ? frame : content_)) << accept;
  }
}

TEST_F(TransferTest, MirrorSyncsThroughTheCompressedCopy) {
  auto http = net::HttpClient::Create();
  ASSERT_OK(http);
  const std::uint64_t sent = SyncFreshMirror("m1", *http);
  const std::uint64_t frame = ReadFileOrDie(zst_).size();
  // The frame, the metadata and the /metrics answers: well below the file itself.
  EXPECT_GE(sent, frame);
  EXPECT_LT(sent, frame + 60000) << "the file itself is " << content_.size();
}

TEST_F(TransferTest, CorruptCopyAtTheOriginCostsAPlainDownloadNotAWrongFile) {
  // A valid zstd frame of other bytes of the same length, then garbage.
  auto other =
      delta::CompressForTransfer(AsBytes(Compressible(content_.size()).replace(0, 5, "XXXXX")), 3);
  ASSERT_OK(other);
  ASSERT_OK(WriteFileAtomic(zst_, AsChars(*other)));
  auto http = net::HttpClient::Create();
  ASSERT_OK(http);
  std::uint64_t sent = SyncFreshMirror("m2", *http);
  EXPECT_GE(sent, content_.size());
  ASSERT_OK(WriteFileAtomic(zst_, "this is not a zstd frame"));
  sent = SyncFreshMirror("m3", *http);
  EXPECT_GE(sent, content_.size());
}

}  // namespace
}  // namespace ferry::testing
