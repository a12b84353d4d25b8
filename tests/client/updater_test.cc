// The updater over an in-memory "network": request sequences, what the metadata directory holds,
// persistence, lazy delegation loading, downloads, failover, resume, limits.
#include "client/updater.h"

#include <filesystem>
#include <set>

#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "crypto/hash.h"
#include "tests/tuf/tuf_fixture.h"

namespace ferry::client {
namespace {

using tuf::testing::kNow;
using tuf::testing::kT0;

// Serves one repository's files under http://<name>/metadata/ and http://<name>/targets/.
class MemoryFetcher : public Fetcher {
 public:
  struct Behavior {
    int status = 200;
    std::optional<std::string> body;       // replaces the file's bytes
    std::optional<std::size_t> cut_after;  // deliver this many bytes, then a timeout
  };
  explicit MemoryFetcher(const std::map<std::string, std::string>* files) : files_(files) {}

  Result<FetchResponse> Get(const std::string& url, std::uint64_t max_length,
                            std::uint64_t range_start, const Sink& sink) override {
    requests.push_back(url);
    ranges.push_back(range_start);
    Behavior b;
    if (auto it = behaviors.find(url); it != behaviors.end()) b = it->second;
    std::string body;
    if (b.body) {
      body = *b.body;
    } else {
      std::size_t slash = url.find('/', std::string("http://").size());
      auto f = files_->find(url.substr(slash + 1));
      if (f == files_->end()) return FetchResponse{404, 0};
      body = f->second;
    }
    if (b.status != 200) return FetchResponse{b.status, 0};
    if (range_start > body.size()) return FetchResponse{416, 0};
    body = body.substr(range_start);
    std::size_t n = body.size();
    if (b.cut_after) n = std::min(n, *b.cut_after);
    if (n > max_length) n = max_length + 1;  // deliver one byte too many, then stop
    if (n > max_length) {
      FERRY_TRY(sink(AsBytes(std::string_view(body).substr(0, max_length))));
      return Error(Errc::kTooLarge, url + " is longer than " + std::to_string(max_length));
    }
    FERRY_TRY(sink(AsBytes(std::string_view(body).substr(0, n))));
    if (b.cut_after && *b.cut_after < body.size()) {
      return Error(Errc::kTimeout, url + ": timed out");
    }
    return FetchResponse{range_start > 0 ? 206 : 200, n};
  }

  // The path part after http://host/
  std::vector<std::string> Paths() const {
    std::vector<std::string> out;
    for (const auto& u : requests) out.push_back(u.substr(u.find('/', 7) + 1));
    return out;
  }

  std::vector<std::string> requests;
  std::vector<std::uint64_t> ranges;
  std::map<std::string, Behavior> behaviors;

 private:
  const std::map<std::string, std::string>* files_;
};

class UpdaterTest : public tuf::testing::TufTest {
 protected:
  void SetUp() override {
    TufTest::SetUp();
    meta_dir_ = dir_.Join("metadata");
    ASSERT_OK(MakeDirs(meta_dir_));
    ASSERT_OK(WriteFileAtomic(meta_dir_ + "/root.json", initial_root_));
    fetcher_ = std::make_unique<MemoryFetcher>(&repo_->files());
  }

  Source Src(const std::string& host) {
    return {host, "http://" + host + "/metadata/", "http://" + host + "/targets/"};
  }

  Updater NewUpdater(std::vector<Source> sources = {}, UnixTime now = kNow) {
    UpdaterOptions o;
    o.metadata_dir = meta_dir_;
    o.sources = sources.empty() ? std::vector<Source>{Src("origin")} : sources;
    o.partial_dir = dir_.Join("partial");
    o.on_source_failure = [this](const Source& s, const Error& e) {
      reported_.push_back(s.name + ": " + e.ToString());
    };
    return Updater(o, fetcher_.get(), now);
  }

  std::set<std::string> MetadataFiles() {
    std::set<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(meta_dir_)) {
      out.insert(e.path().filename().string());
    }
    return out;
  }
  std::string Local(const std::string& name) {
    return ferry::testing::ReadFileOrDie(meta_dir_ + "/" + name);
  }

  ferry::testing::TempDir dir_;
  std::string meta_dir_;
  std::unique_ptr<MemoryFetcher> fetcher_;
  std::vector<std::string> reported_;
};

TEST_F(UpdaterTest, FreshRefreshMakesExactlyTheNeededRequests) {
  Updater u = NewUpdater();
  ASSERT_OK(u.Refresh());
  EXPECT_EQ(fetcher_->Paths(),
            (std::vector<std::string>{"metadata/2.root.json", "metadata/timestamp.json",
                                      "metadata/1.snapshot.json", "metadata/1.targets.json"}));
  EXPECT_EQ(MetadataFiles(), (std::set<std::string>{"root.json", "timestamp.json", "snapshot.json",
                                                    "targets.json"}));
  // Exactly the bytes received.
  EXPECT_EQ(Local("timestamp.json"), repo_->MetadataBytes(tuf::kTimestamp));
  EXPECT_EQ(Local("snapshot.json"), repo_->MetadataBytes(tuf::kSnapshot));
  EXPECT_EQ(Local("targets.json"), repo_->MetadataBytes(tuf::kTargets));
}

TEST_F(UpdaterTest, SecondRefreshUsesLocalMetadata) {
  ASSERT_OK(NewUpdater().Refresh());
  fetcher_->requests.clear();
  Updater again = NewUpdater();
  ASSERT_OK(again.Refresh());
  EXPECT_EQ(fetcher_->Paths(),
            (std::vector<std::string>{"metadata/2.root.json", "metadata/timestamp.json"}));
}

TEST_F(UpdaterTest, ServedBytesAreKeptVerbatim) {
  // A pretty-printed / space-appended timestamp verifies (signatures cover canonical JSON) and is
  // stored exactly as received.
  ASSERT_OK(repo_->Publish(kT0 + 10));
  fetcher_->behaviors["http://origin/metadata/timestamp.json"].body =
      repo_->MetadataBytes(tuf::kTimestamp) + " ";
  ASSERT_OK(NewUpdater().Refresh());
  EXPECT_EQ(Local("timestamp.json"), repo_->MetadataBytes(tuf::kTimestamp) + " ");
}

TEST_F(UpdaterTest, EachRoleIsPersistedAsSoonAsVerified) {
  ASSERT_OK(NewUpdater().Refresh());
  ASSERT_OK(repo_->Touch(tuf::kSnapshot));
  ASSERT_OK(repo_->Publish(kT0 + 10));  // timestamp v2, snapshot v2
  fetcher_->behaviors["http://origin/metadata/2.snapshot.json"].status = 404;
  EXPECT_FALSE(NewUpdater().Refresh().ok());
  EXPECT_EQ(Local("timestamp.json"), repo_->MetadataBytes(tuf::kTimestamp));  // v2 kept
  EXPECT_NE(Local("snapshot.json"), repo_->MetadataBytes(tuf::kSnapshot));    // still v1
}

TEST_F(UpdaterTest, RootRotationIsPersisted) {
  auto* new_root = NewKey();
  ASSERT_OK(repo_->SetRoleKeys(tuf::kRoot, {{new_root}, 1}));
  ASSERT_OK(repo_->Publish(kT0 + 10));
  ASSERT_OK(NewUpdater().Refresh());
  EXPECT_EQ(Local("root.json"), repo_->MetadataBytes(tuf::kRoot));
  EXPECT_EQ(fetcher_->Paths().front(), "metadata/2.root.json");
  EXPECT_EQ(fetcher_->Paths()[1], "metadata/3.root.json");
}

TEST_F(UpdaterTest, DelegatedRolesLoadLazilyAndPersistEncoded) {
  auto* author = NewKey();
  tuf::DelegatedRole a;
  a.name = "plugins.a";
  a.paths = std::vector<std::string>{"plugins/a/*"};
  tuf::DelegatedRole b;
  b.name = "plugins.b";
  b.paths = std::vector<std::string>{"plugins/b/*"};
  ASSERT_OK(repo_->AddDelegation(tuf::kTargets, a, {{author}, 1}));
  ASSERT_OK(repo_->AddDelegation(tuf::kTargets, b, {{author}, 1}));
  ASSERT_OK(repo_->AddTarget("plugins.b", "plugins/b/b-1.hpi", "B"));
  ASSERT_OK(repo_->Publish(kT0 + 10));
  Updater u = NewUpdater();
  ASSERT_OK(u.Refresh());
  fetcher_->requests.clear();
  auto info = u.GetTargetInfo("plugins/b/b-1.hpi");
  ASSERT_OK(info);
  EXPECT_EQ(fetcher_->Paths(), (std::vector<std::string>{"metadata/1.plugins.b.json"}));
  EXPECT_TRUE(MetadataFiles().count("plugins.b.json"));
  EXPECT_FALSE(MetadataFiles().count("plugins.a.json"));
}

TEST_F(UpdaterTest, UnusualRoleNamesAreEncoded) {
  // A delegation named "../delegatedrole" (hand-made; Ferry's writer refuses such names).
  auto* author = NewKey();
  std::string evil_name = "../delegatedrole";
  std::string targets = Resign(repo_->MetadataBytes(tuf::kTargets),
                               [&](json::Object& s) {
                                 s.Set("version", 2);
                                 json::Object d;
                                 json::Object keys;
                                 keys.Set(author->keyid(), author->public_key().json());
                                 d.Set("keys", std::move(keys));
                                 json::Object r;
                                 r.Set("name", evil_name);
                                 r.Set("keyids", json::Array{json::Value(author->keyid())});
                                 r.Set("threshold", 1);
                                 r.Set("terminating", false);
                                 r.Set("paths", json::Array{json::Value("*")});
                                 d.Set("roles", json::Array{json::Value(std::move(r))});
                                 s.Set("delegations", std::move(d));
                               },
                               {targets_key_});
  std::string role = Resign(repo_->MetadataBytes(tuf::kTargets), [](json::Object&) {}, {author});
  std::string snap = Resign(repo_->MetadataBytes(tuf::kSnapshot),
                            [&](json::Object& s) {
                              s.Set("version", 2);
                              auto& meta = s.Find("meta")->as_object();
                              meta.Find("targets.json")->as_object().Set("version", 2);
                              json::Object m;
                              m.Set("version", 1);
                              meta.Set(evil_name + ".json", std::move(m));
                            },
                            {snapshot_key_});
  std::string ts = TimestampNamingSnapshot(2);
  auto& bh = fetcher_->behaviors;
  bh["http://origin/metadata/timestamp.json"].body = ts;
  bh["http://origin/metadata/2.snapshot.json"].body = snap;
  bh["http://origin/metadata/2.targets.json"].body = targets;
  bh["http://origin/metadata/1...%2Fdelegatedrole.json"].body = role;
  Updater u = NewUpdater();
  EXPECT_ERRC(u.GetTargetInfo("nothing"), Errc::kTargetNotFound);
  EXPECT_EQ(fetcher_->Paths().back(), "metadata/1...%2Fdelegatedrole.json");
  EXPECT_EQ(MetadataFiles(), (std::set<std::string>{"root.json", "timestamp.json", "snapshot.json",
                                                    "targets.json", "..%2Fdelegatedrole.json"}));
  EXPECT_FALSE(PathExists(dir_.Join("delegatedrole.json")));
}

TEST_F(UpdaterTest, DownloadVerifiesAndInstalls) {
  ASSERT_OK(repo_->AddTarget(tuf::kTargets, "rel/app.tgz", std::string(100000, 'a')));
  ASSERT_OK(repo_->Publish(kT0 + 10));
  Updater u = NewUpdater();
  auto info = u.GetTargetInfo("rel/app.tgz");
  ASSERT_OK(info);
  const std::string dest = dir_.Join("app.tgz");
  std::uint64_t last = 0;
  ASSERT_OK(u.DownloadTarget(*info, dest, [&](std::uint64_t done, std::uint64_t total) {
    EXPECT_EQ(total, 100000u);
    last = done;
  }));
  EXPECT_EQ(last, 100000u);
  EXPECT_EQ(ferry::testing::ReadFileOrDie(dest), std::string(100000, 'a'));
  EXPECT_EQ(fetcher_->Paths().back(),
            "targets/rel/" + crypto::Sha256Hex(std::string(100000, 'a')) + ".app.tgz");
  EXPECT_TRUE(u.IsCached(*info, dest));
  EXPECT_TRUE(std::filesystem::is_empty(dir_.Join("partial")));
}

TEST_F(UpdaterTest, TamperedTargetLeavesNothing) {
  ASSERT_OK(repo_->AddTarget(tuf::kTargets, "f.bin", "good bytes"));
  ASSERT_OK(repo_->Publish(kT0 + 10));
  Updater u = NewUpdater();
  auto info = u.GetTargetInfo("f.bin");
  ASSERT_OK(info);
  fetcher_->behaviors["http://origin/targets/" + crypto::Sha256Hex("good bytes") + ".f.bin"].body =
      "evil bytes";
  const std::string dest = dir_.Join("f.bin");
  EXPECT_ERRC(u.DownloadTarget(*info, dest), Errc::kHashMismatch);
  EXPECT_FALSE(PathExists(dest));
  EXPECT_TRUE(std::filesystem::is_empty(dir_.Join("partial")));
  EXPECT_FALSE(u.IsCached(*info, dest));
}

TEST_F(UpdaterTest, EndlessTargetIsCutAtTheSignedLength) {
  ASSERT_OK(repo_->AddTarget(tuf::kTargets, "f.bin", "0123456789"));
  ASSERT_OK(repo_->Publish(kT0 + 10));
  Updater u = NewUpdater();
  auto info = u.GetTargetInfo("f.bin");
  fetcher_->behaviors["http://origin/targets/" + crypto::Sha256Hex("0123456789") + ".f.bin"].body =
      std::string(1 << 20, 'x');
  EXPECT_ERRC(u.DownloadTarget(*info, dir_.Join("f.bin")), Errc::kTooLarge);
  EXPECT_TRUE(std::filesystem::is_empty(dir_.Join("partial")));
}

TEST_F(UpdaterTest, EndlessMetadataIsCut) {
  ASSERT_OK(repo_->Publish(kT0 + 10));
  fetcher_->behaviors["http://origin/metadata/timestamp.json"].body = std::string(100000, ' ');
  EXPECT_ERRC(NewUpdater().Refresh(), Errc::kTooLarge);
}

TEST_F(UpdaterTest, FailoverToTheNextSource) {
  const std::string ts_v1 = repo_->MetadataBytes(tuf::kTimestamp);
  ASSERT_OK(repo_->AddTarget(tuf::kTargets, "f.bin", "good"));
  ASSERT_OK(repo_->AddTarget(tuf::kTargets, "g.bin", "also good"));
  ASSERT_OK(repo_->Publish(kT0 + 10));
  auto& bh = fetcher_->behaviors;
  // Mirror "bad": an old timestamp (rollback) and an altered target; "down": 503 everywhere.
  bh["http://bad/metadata/timestamp.json"].body = ts_v1;
  Updater first = NewUpdater({Src("origin")});
  ASSERT_OK(first.Refresh());
  ASSERT_OK(repo_->Publish(kT0 + 20));
  const std::string f_url = "/targets/" + crypto::Sha256Hex("good") + ".f.bin";
  const std::string g_url = "/targets/" + crypto::Sha256Hex("also good") + ".g.bin";
  bh["http://bad" + f_url].body = "evil";
  for (const char* f : {"timestamp.json", "3.snapshot.json", "2.targets.json"}) {
    bh[std::string("http://down/metadata/") + f].status = 503;
  }
  bh["http://down" + f_url].status = 503;
  bh["http://down" + g_url].status = 503;
  Updater u = NewUpdater({Src("bad"), Src("down"), Src("origin")});
  auto info = u.GetTargetInfo("f.bin");
  ASSERT_OK(info);
  ASSERT_GE(reported_.size(), 2u);
  EXPECT_NE(reported_[0].find("bad: rollback"), std::string::npos) << reported_[0];
  EXPECT_NE(reported_[1].find("down: io_error: HTTP 503"), std::string::npos) << reported_[1];
  // Both failed once: for the rest of the session they come after the origin.
  std::vector<std::string> order;
  for (const auto& src : u.sources()) order.push_back(src.name);
  EXPECT_EQ(order, (std::vector<std::string>{"origin", "bad", "down"}));
  fetcher_->requests.clear();
  ASSERT_OK(u.DownloadTarget(*info, dir_.Join("f.bin")));
  EXPECT_EQ(ferry::testing::ReadFileOrDie(dir_.Join("f.bin")), "good");
  EXPECT_EQ(fetcher_->requests, std::vector<std::string>{"http://origin" + f_url});

  // A session where "bad" serves good metadata but an altered file: caught by the hash, the
  // next source serves it, and the next file goes to a good source first.
  bh.erase("http://bad/metadata/timestamp.json");
  reported_.clear();
  Updater u2 = NewUpdater({Src("bad"), Src("down"), Src("origin")});
  auto f = u2.GetTargetInfo("f.bin");
  ASSERT_OK(f);
  std::filesystem::remove(dir_.Join("f.bin"));
  ASSERT_OK(u2.DownloadTarget(*f, dir_.Join("f.bin")));
  EXPECT_EQ(ferry::testing::ReadFileOrDie(dir_.Join("f.bin")), "good");
  bool saw_hash = false;
  for (const auto& r : reported_) saw_hash |= r.find("bad: hash_mismatch") != std::string::npos;
  EXPECT_TRUE(saw_hash);
  auto g = u2.GetTargetInfo("g.bin");
  ASSERT_OK(g);
  fetcher_->requests.clear();
  ASSERT_OK(u2.DownloadTarget(*g, dir_.Join("g.bin")));
  EXPECT_EQ(fetcher_->requests, std::vector<std::string>{"http://origin" + g_url});
}

TEST_F(UpdaterTest, AllSourcesFailedListsEach) {
  ASSERT_OK(repo_->AddTarget(tuf::kTargets, "f.bin", "good"));
  ASSERT_OK(repo_->Publish(kT0 + 10));
  Updater u = NewUpdater({Src("a"), Src("b")});
  auto info = u.GetTargetInfo("f.bin");
  ASSERT_OK(info);
  const std::string url = "/targets/" + crypto::Sha256Hex("good") + ".f.bin";
  fetcher_->behaviors["http://a" + url].body = "evil";
  fetcher_->behaviors["http://b" + url].status = 500;
  auto st = u.DownloadTarget(*info, dir_.Join("f.bin"));
  EXPECT_ERRC(st, Errc::kAllSourcesFailed);
  EXPECT_NE(st.error().message().find("a: hash_mismatch"), std::string::npos)
      << st.error().message();
  EXPECT_NE(st.error().message().find("b: io_error: HTTP 500"), std::string::npos);
}

TEST_F(UpdaterTest, InterruptedDownloadResumes) {
  const std::string content(300000, 'r');
  ASSERT_OK(repo_->AddTarget(tuf::kTargets, "big.bin", content));
  ASSERT_OK(repo_->Publish(kT0 + 10));
  Updater u = NewUpdater();
  auto info = u.GetTargetInfo("big.bin");
  ASSERT_OK(info);
  const std::string url = "http://origin/targets/" + crypto::Sha256Hex(content) + ".big.bin";
  fetcher_->behaviors[url].cut_after = 120000;
  EXPECT_ERRC(u.DownloadTarget(*info, dir_.Join("big.bin")), Errc::kTimeout);
  EXPECT_FALSE(PathExists(dir_.Join("big.bin")));
  fetcher_->behaviors.erase(url);
  ASSERT_OK(u.DownloadTarget(*info, dir_.Join("big.bin")));
  EXPECT_EQ(fetcher_->ranges.back(), 120000u);
  EXPECT_EQ(ferry::testing::ReadFileOrDie(dir_.Join("big.bin")), content);
}

TEST_F(UpdaterTest, CorruptPartialIsDiscardedAndRefetched) {
  const std::string content(5000, 'c');
  ASSERT_OK(repo_->AddTarget(tuf::kTargets, "c.bin", content));
  ASSERT_OK(repo_->Publish(kT0 + 10));
  Updater u = NewUpdater({Src("a"), Src("b")});
  auto info = u.GetTargetInfo("c.bin");
  ASSERT_OK(info);
  ASSERT_OK(MakeDirs(dir_.Join("partial")));
  ASSERT_OK(WriteFileAtomic(dir_.Join("partial/" + crypto::Sha256Hex(content) + ".partial"),
                            std::string(1000, 'X')));
  // a: resumed, bad hash (the partial's fault); a again from byte 0: good. Nobody is blamed.
  ASSERT_OK(u.DownloadTarget(*info, dir_.Join("c.bin")));
  EXPECT_EQ(ferry::testing::ReadFileOrDie(dir_.Join("c.bin")), content);
  ASSERT_GE(fetcher_->ranges.size(), 2u);
  EXPECT_EQ(fetcher_->ranges[fetcher_->ranges.size() - 2], 1000u);
  EXPECT_EQ(fetcher_->ranges.back(), 0u);
  EXPECT_TRUE(reported_.empty()) << reported_.front();
  EXPECT_EQ(u.last_target_source().name, "a");
}

// The partial file on another file system than the destination (here /dev/shm): the verified
// bytes are copied (streamed, hashed again) into a temp file beside the destination, renamed into
// place, and the partial is removed.
TEST_F(UpdaterTest, DownloadAcrossFileSystemsIsCopiedAndVerified) {
  struct stat shm, tmp;
  if (::stat("/dev/shm", &shm) != 0 || ::stat(dir_.path().c_str(), &tmp) != 0 ||
      shm.st_dev == tmp.st_dev) {
    GTEST_SKIP() << "needs /dev/shm on another file system than " << dir_.path();
  }
  const std::string partial_dir = "/dev/shm/ferry-test-partial-" + std::to_string(::getpid());
  const std::string content(3 << 20, 'x');
  ASSERT_OK(repo_->AddTarget(tuf::kTargets, "big.bin", content));
  ASSERT_OK(repo_->Publish(kT0 + 10));
  UpdaterOptions o;
  o.metadata_dir = meta_dir_;
  o.sources = {Src("origin")};
  o.partial_dir = partial_dir;
  Updater u(o, fetcher_.get(), kNow);
  auto info = u.GetTargetInfo("big.bin");
  ASSERT_OK(info);
  ASSERT_OK(u.DownloadTarget(*info, dir_.Join("big.bin")));
  EXPECT_TRUE(ferry::testing::ReadFileOrDie(dir_.Join("big.bin")) == content);
  std::size_t left = 0;
  for (const auto& e : std::filesystem::directory_iterator(partial_dir))
    left += e.is_regular_file();
  EXPECT_EQ(left, 0u);
  for (const auto& e : std::filesystem::directory_iterator(dir_.path())) {
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
  }
  std::filesystem::remove_all(partial_dir);
}

TEST_F(UpdaterTest, FreezeIsReported) {
  ASSERT_OK(NewUpdater().Refresh());
  Updater later = NewUpdater({}, kT0 + 3 * 86400);
  EXPECT_ERRC(later.Refresh(), Errc::kExpired);
}

TEST_F(UpdaterTest, FastForwardRecoveryAcrossRuns) {
  // The client persisted an attacker's timestamp v99999 (timestamp key compromised).
  std::string attack = Resign(repo_->MetadataBytes(tuf::kTimestamp),
                              [](json::Object& s) { s.Set("version", 99999); }, {timestamp_key_});
  fetcher_->behaviors["http://origin/metadata/timestamp.json"].body = attack;
  ASSERT_OK(NewUpdater().Refresh());
  EXPECT_EQ(Local("timestamp.json"), attack);
  fetcher_->behaviors.clear();
  // The repository rotates the timestamp key and restarts at v2.
  ASSERT_OK(repo_->SetRoleKeys(tuf::kTimestamp, {{NewKey()}, 1}));
  ASSERT_OK(repo_->Publish(kT0 + 10));
  ASSERT_OK(NewUpdater().Refresh());
  EXPECT_EQ(Local("timestamp.json"), repo_->MetadataBytes(tuf::kTimestamp));
}

TEST_F(UpdaterTest, NotInitialised) {
  std::filesystem::remove(meta_dir_ + "/root.json");
  auto st = NewUpdater().Refresh();
  EXPECT_ERRC(st, Errc::kNotFound);
  EXPECT_NE(st.error().message().find("initialise"), std::string::npos);
}

}  // namespace
}  // namespace ferry::client
