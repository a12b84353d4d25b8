// The mirror's sync against an in-memory upstream serving a repository made by tuf::Repository:
// what is published and in which order, what is reused, what a tampered upstream, a full quota
// or an interruption at each step leave behind, and retention.
#include "mirror/sync.h"

#include <filesystem>
#include <set>

#include <sys/stat.h>

#include "base/fs.h"
#include "crypto/hash.h"
#include "mirror/verify.h"
#include "tests/mirror/mirror_test_util.h"
#include "tests/tuf/tuf_fixture.h"

namespace ferry::mirror {
namespace {

using tuf::kTargets;
using tuf::kTimestamp;

class SyncTest : public tuf::testing::TufTest {
 protected:
  void SetUp() override {
    // Real time: the blob store's Gc compares file times with the clock it is given.
    t0_ = NowUnix() - 3600;
    publish_time_ = t0_;
    now_ = NowUnix();
    TufTest::SetUp();
    data_ = dir_.Join("data");
    paths_ = MirrorPaths{data_};
    ASSERT_OK(repo_->AddTarget(kTargets, "release/app-1.0.tgz", std::string(20000, 'a')));
    Publish();
  }

  void Publish() {
    publish_time_ += 10;
    ASSERT_OK(repo_->Publish(publish_time_));
    upstream_.SetFiles(repo_->files());
  }

  void OpenStore(std::optional<std::uint64_t> quota = std::nullopt) {
    store_.reset();
    store::LocalBlobStoreOptions o;
    o.quota_bytes = quota;
    auto s = store::LocalBlobStore::Open(paths_.blobs(), o);
    ASSERT_OK(s);
    store_ = std::move(*s);
  }

  SyncReport Sync(const std::function<void(SyncOptions&)>& tweak = nullptr) {
    if (!store_) OpenStore();
    SyncOptions o;
    o.data_dir = data_;
    o.pinned_root = initial_root_;
    o.clock = [this] { return now_; };
    o.parallel_fetches = 2;
    if (tweak) tweak(o);
    FullFileFetcher fetcher(&upstream_, store_.get());
    Syncer syncer(o, &upstream_, store_.get(), &fetcher);
    return syncer.Run();
  }

  // The crawler over the served directory: complete and verified, at the given version.
  void ExpectConsistent(std::int64_t timestamp_version) {
    DirUpstream served(paths_.repo());
    auto report = CrawlRepository(served, initial_root_, now_);
    ASSERT_OK(report);
    EXPECT_TRUE(report->ok()) << ::testing::PrintToString(report->problems);
    EXPECT_EQ(report->timestamp_version, timestamp_version);
  }

  // Every served file is byte-identical to the upstream's file of that name.
  void ExpectBytesIdentical() {
    const auto& files = repo_->files();
    for (const auto& e : std::filesystem::recursive_directory_iterator(paths_.repo())) {
      if (!e.is_regular_file()) continue;
      const std::string rel = e.path().lexically_relative(paths_.repo()).string();
      auto it = files.find(rel);
      if (rel == "metadata/root.json")
        it = files.find("metadata/" + tuf::MetadataFileName("root", repo_->root().version));
      ASSERT_NE(it, files.end()) << "served but not upstream: " << rel;
      EXPECT_EQ(ferry::testing::ReadFileOrDie(e.path().string()), it->second) << rel;
    }
  }

  std::set<std::string> TempFiles() {
    std::set<std::string> out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(data_)) {
      const std::string name = e.path().filename().string();
      const std::string rel = e.path().lexically_relative(data_).string();
      if (rel.rfind("blobs/tmp/", 0) == 0 || name.find(".tmp.") != std::string::npos ||
          name.find(".ferry-tmp") != std::string::npos) {
        out.insert(rel);
      }
    }
    return out;
  }

  std::string Served(const std::string& rel) {
    auto b = ReadFile(paths_.repo() + "/" + rel);
    return b ? *b : "";
  }

  std::string TargetRel(const std::string& path, const std::string& content) {
    return "targets/" + tuf::HashPrefixedTargetPath(path, crypto::Sha256Hex(content));
  }

  ferry::testing::TempDir dir_;
  std::string data_;
  MirrorPaths paths_;
  testing::MemoryUpstream upstream_;
  std::unique_ptr<store::LocalBlobStore> store_;
  UnixTime publish_time_ = 0;
  UnixTime now_ = 0;
};

TEST_F(SyncTest, FirstSyncServesTheWholeRepositoryByteIdentical) {
  auto* author = NewKey();
  tuf::DelegatedRole plugin;
  plugin.name = "plugins.git";
  plugin.paths = std::vector<std::string>{"plugins/git/*"};
  ASSERT_OK(repo_->AddDelegation(kTargets, plugin, {{author}, 1}));
  ASSERT_OK(repo_->AddTarget("plugins.git", "plugins/git/git-1.0.hpi", "hpi 1.0"));
  Publish();
  SyncReport r = Sync();
  ASSERT_OK(r.status);
  EXPECT_EQ(r.outcome, SyncReport::Outcome::kPublished);
  EXPECT_EQ(r.timestamp_version, repo_->timestamp().version);
  EXPECT_EQ(r.targets_total, 2u);
  EXPECT_EQ(r.targets_fetched, 2u);
  EXPECT_EQ(r.roles_total, 2u);  // targets and plugins.git: every role, not lazily
  EXPECT_EQ(Served("metadata/timestamp.json"), repo_->MetadataBytes(kTimestamp));
  EXPECT_EQ(Served("metadata/root.json"), initial_root_);
  EXPECT_EQ(Served(TargetRel("plugins/git/git-1.0.hpi", "hpi 1.0")), "hpi 1.0");
  ExpectConsistent(repo_->timestamp().version);
  ExpectBytesIdentical();
  EXPECT_TRUE(TempFiles().empty()) << ::testing::PrintToString(TempFiles());
  // Targets are hard links to the verified blobs, not copies.
  struct stat served, blob;
  ASSERT_EQ(::stat((paths_.repo() + "/" + TargetRel("plugins/git/git-1.0.hpi", "hpi 1.0")).c_str(),
                   &served),
            0);
  ASSERT_EQ(::stat(store_->BlobPath(store::Digest::Of(std::string("hpi 1.0"))).c_str(), &blob), 0);
  EXPECT_EQ(served.st_ino, blob.st_ino);
  auto state = LoadState(paths_.state());
  ASSERT_OK(state);
  EXPECT_EQ(state->last_result, "published");
  EXPECT_EQ(state->upstream_timestamp_version, repo_->timestamp().version);
}

TEST_F(SyncTest, SecondSyncIsUpToDateAndFetchesOnlyTheTimestamp) {
  ASSERT_OK(Sync().status);
  upstream_.ClearRequests();
  SyncReport r = Sync();
  ASSERT_OK(r.status);
  EXPECT_EQ(r.outcome, SyncReport::Outcome::kUpToDate);
  // Root walk (2.root.json: 404) and the timestamp; everything else is local.
  EXPECT_EQ(upstream_.Requests(),
            (std::vector<std::string>{"metadata/2.root.json", "metadata/timestamp.json"}));
}

TEST_F(SyncTest, NewVersionFetchesOnlyWhatChanged) {
  ASSERT_OK(Sync().status);
  ASSERT_OK(repo_->AddTarget(kTargets, "release/app-2.0.tgz", std::string(30000, 'b')));
  Publish();
  upstream_.ClearRequests();
  SyncReport r = Sync();
  ASSERT_OK(r.status);
  EXPECT_EQ(r.outcome, SyncReport::Outcome::kPublished);
  EXPECT_EQ(r.targets_fetched, 1u);
  EXPECT_EQ(r.targets_reused, 1u);
  EXPECT_EQ(upstream_.CountPrefix("targets/"), 1u);
  EXPECT_EQ(r.target_bytes, 30000u);
  ExpectConsistent(repo_->timestamp().version);
  ExpectBytesIdentical();
}

TEST_F(SyncTest, EveryListedHashGetsItsOwnName) {
  // A repository listing sha256 and sha512 (e.g. written by another TUF implementation).
  options_.sha512_targets = true;
  TufTest::SetUp();
  ASSERT_OK(repo_->AddTarget(kTargets, "release/app-1.0.tgz", "with two hashes"));
  Publish();
  ASSERT_OK(Sync().status);
  const std::string content = "with two hashes";
  EXPECT_EQ(Served("targets/release/" + crypto::Sha256Hex(content) + ".app-1.0.tgz"), content);
  EXPECT_EQ(Served("targets/release/" + crypto::Sha512Hex(content) + ".app-1.0.tgz"), content);
  ExpectConsistent(repo_->timestamp().version);
}

TEST_F(SyncTest, TamperedTargetAbortsAndPublishesNothing) {
  ASSERT_OK(Sync().status);
  const std::string old_ts = Served("metadata/timestamp.json");
  const std::string content(25000, 'c');
  ASSERT_OK(repo_->AddTarget(kTargets, "release/app-3.0.tgz", content));
  Publish();
  std::string evil = content;
  evil[100] = 'X';  // same length, other bytes
  upstream_.Override(TargetRel("release/app-3.0.tgz", content), evil);
  SyncReport r = Sync();
  EXPECT_ERRC(r.status, Errc::kHashMismatch);
  EXPECT_EQ(r.outcome, SyncReport::Outcome::kFailed);
  EXPECT_EQ(Served("metadata/timestamp.json"), old_ts);
  EXPECT_FALSE(PathExists(paths_.repo() + "/" + TargetRel("release/app-3.0.tgz", content)));
  EXPECT_FALSE(PathExists(paths_.metadata() + "/" +
                          tuf::MetadataFileName("snapshot", repo_->snapshot().version)));
  EXPECT_TRUE(TempFiles().empty()) << ::testing::PrintToString(TempFiles());
  ExpectConsistent(repo_->timestamp().version - 1);
  auto state = LoadState(paths_.state());
  ASSERT_OK(state);
  EXPECT_EQ(state->last_result, "failed");
  EXPECT_NE(state->last_error.find("hash_mismatch"), std::string::npos) << state->last_error;
  // Longer than signed: refused without storing more than the signed length.
  upstream_.Override(TargetRel("release/app-3.0.tgz", content), content + "more");
  EXPECT_ERRC(Sync().status, Errc::kTooLarge);
  upstream_.ClearOverrides();
  ASSERT_OK(Sync().status);
  ExpectConsistent(repo_->timestamp().version);
}

TEST_F(SyncTest, RolledBackOrForgedTimestampIsRefused) {
  const std::string v1 = repo_->MetadataBytes(kTimestamp);
  ASSERT_OK(repo_->Touch(kTargets));
  Publish();
  ASSERT_OK(Sync().status);
  const std::string held = Served("metadata/timestamp.json");
  upstream_.Override("metadata/timestamp.json", v1);
  SyncReport r = Sync();
  EXPECT_ERRC(r.status, Errc::kRollback);
  EXPECT_EQ(Served("metadata/timestamp.json"), held);
  // Signed by a key the root does not list.
  auto* rogue = NewKey();
  upstream_.Override("metadata/timestamp.json",
                     Resign(repo_->MetadataBytes(kTimestamp),
                            [](json::Object& o) { o.Set("version", std::int64_t{99}); }, {rogue}));
  EXPECT_ERRC(Sync().status, Errc::kThresholdNotMet);
  EXPECT_EQ(Served("metadata/timestamp.json"), held);
  // A snapshot that does not match the timestamp's hash.
  upstream_.ClearOverrides();
  ASSERT_OK(repo_->Touch(kTargets));
  Publish();
  upstream_.Override(
      "metadata/" + tuf::MetadataFileName("snapshot", repo_->snapshot().version),
      repo_->files().at("metadata/" +
                        tuf::MetadataFileName("snapshot", repo_->snapshot().version - 1)));
  EXPECT_FALSE(Sync().status.ok());
  EXPECT_EQ(Served("metadata/timestamp.json"), held);
}

TEST_F(SyncTest, DiskQuotaFailsCleanlyAndOldStateStaysServed) {
  OpenStore(/*quota=*/50000);
  ASSERT_OK(Sync().status);
  const std::string old_ts = Served("metadata/timestamp.json");
  ASSERT_OK(repo_->AddTarget(kTargets, "release/big.tgz", std::string(40000, 'd')));
  Publish();
  SyncReport r = Sync();
  ASSERT_FALSE(r.status.ok());
  EXPECT_EQ(r.status.error().code(), Errc::kTooLarge);
  EXPECT_NE(r.status.error().message().find("disk quota reached"), std::string::npos)
      << r.status.error().ToString();
  EXPECT_EQ(Served("metadata/timestamp.json"), old_ts);
  EXPECT_TRUE(TempFiles().empty()) << ::testing::PrintToString(TempFiles());
  ExpectConsistent(repo_->timestamp().version - 1);
  // More room: the next sync succeeds.
  OpenStore(/*quota=*/200000);
  ASSERT_OK(Sync().status);
  ExpectConsistent(repo_->timestamp().version);
}

// Interrupt the sync at every step (each occurrence): the previous state stays served and
// consistent, and the next sync completes without downloading a verified target twice.
TEST_F(SyncTest, InterruptedAtEveryStepKeepsOldStateAndResumes) {
  ASSERT_OK(Sync().status);
  auto* author = NewKey();
  tuf::DelegatedRole plugin;
  plugin.name = "plugins.git";
  plugin.paths = std::vector<std::string>{"plugins/git/*"};
  ASSERT_OK(repo_->AddDelegation(kTargets, plugin, {{author}, 1}));
  for (int i = 0; i < 4; ++i) {
    ASSERT_OK(repo_->AddTarget("plugins.git", "plugins/git/git-" + std::to_string(i) + ".hpi",
                               std::string(5000 + i, static_cast<char>('k' + i))));
  }
  // Root v2 as well (re-signed with the same keys: a key rotation has an unavoidable window
  // between N.root.json and timestamp.json, see KeyRotationWindowIsRepairedByTheNextSync).
  ASSERT_OK(repo_->Touch(tuf::kRoot));
  const std::map<std::string, std::string> old_files = repo_->files();
  Publish();
  const std::int64_t old_version = repo_->timestamp().version - 1;
  const std::int64_t new_version = repo_->timestamp().version;
  struct Point {
    SyncStep step;
    int occurrence;
  };
  std::vector<Point> points;
  for (SyncStep s : {SyncStep::kPlanned, SyncStep::kStage1Done, SyncStep::kWriteTimestamp}) {
    points.push_back({s, 1});
  }
  for (int k : {1, 3}) points.push_back({SyncStep::kFetchTarget, k});
  for (int k : {1, 5}) points.push_back({SyncStep::kLinkTarget, k});
  for (int k : {1, 3, 5}) points.push_back({SyncStep::kWriteMetadata, k});
  // Each point starts from the old state: a fresh mirror synced to it.
  for (const Point& p : points) {
    SCOPED_TRACE(std::string(SyncStepName(p.step)) + " #" + std::to_string(p.occurrence));
    std::filesystem::remove_all(data_);
    store_.reset();
    upstream_.SetFiles(old_files);
    ASSERT_OK(Sync().status);
    ExpectConsistent(old_version);
    upstream_.SetFiles(repo_->files());
    int seen = 0;
    SyncReport r = Sync([&](SyncOptions& o) {
      o.parallel_fetches = 1;  // so "the k-th fetch" is well defined
      o.fault_hook = [&](SyncStep step, std::string_view) -> Status {
        if (step == p.step && ++seen == p.occurrence) return Error(Errc::kIoError, "interrupted");
        return OkStatus();
      };
    });
    EXPECT_FALSE(r.status.ok());
    ExpectConsistent(old_version);
    upstream_.ClearRequests();
    SyncReport resumed = Sync();
    ASSERT_OK(resumed.status);
    ExpectConsistent(new_version);
    ExpectBytesIdentical();
    // Targets verified before the interruption were not downloaded again.
    std::size_t fetched_before = 0;
    if (p.step == SyncStep::kFetchTarget)
      fetched_before = static_cast<std::size_t>(p.occurrence - 1);
    if (p.step != SyncStep::kPlanned && p.step != SyncStep::kFetchTarget) fetched_before = 4;
    EXPECT_EQ(upstream_.CountPrefix("targets/"), 4u - std::min<std::size_t>(4, fetched_before));
  }
}

TEST_F(SyncTest, RootRotationAndHistoryAreMirrored) {
  ASSERT_OK(repo_->SetRoleKeys(kTimestamp, {{NewKey()}, 1}));
  Publish();
  ASSERT_OK(repo_->SetRoleKeys(kTimestamp, {{NewKey()}, 1}));
  Publish();
  ASSERT_EQ(repo_->root().version, 3);
  // Pinned to root v2: v1 is fetched too (verified forward to the pinned root), v3 by the walk.
  const std::string v2 = repo_->files().at("metadata/2.root.json");
  SyncReport r = Sync([&](SyncOptions& o) { o.pinned_root = v2; });
  ASSERT_OK(r.status);
  EXPECT_EQ(r.root_version, 3);
  EXPECT_EQ(Served("metadata/1.root.json"), initial_root_);
  EXPECT_EQ(Served("metadata/2.root.json"), v2);
  EXPECT_EQ(Served("metadata/3.root.json"), repo_->files().at("metadata/3.root.json"));
  EXPECT_EQ(Served("metadata/root.json"), repo_->files().at("metadata/3.root.json"));
  ExpectConsistent(repo_->timestamp().version);
  // A forged history (1.root.json that does not lead to the pinned root) is refused.
  std::filesystem::remove_all(data_);
  store_.reset();
  auto* rogue = NewKey();
  upstream_.Override("metadata/1.root.json", Resign(initial_root_, [](json::Object&) {}, {rogue}));
  EXPECT_FALSE(Sync([&](SyncOptions& o) { o.pinned_root = v2; }).status.ok());
  EXPECT_FALSE(PathExists(paths_.metadata() + "/timestamp.json"));
}

// A timestamp key rotation: clients walk to root v2 first, so between 2.root.json and the new
// timestamp.json (microseconds, or until the next sync after a crash there) the old timestamp no
// longer verifies under the newest root. Any order has such a window (root after timestamp: the
// new timestamp fails under root v1); the mirror writes the roots last before the timestamp and
// the next sync completes the switch.
TEST_F(SyncTest, KeyRotationWindowIsRepairedByTheNextSync) {
  ASSERT_OK(Sync().status);
  ASSERT_OK(repo_->SetRoleKeys(kTimestamp, {{NewKey()}, 1}));
  Publish();
  SyncReport r = Sync([](SyncOptions& o) {
    o.fault_hook = [](SyncStep step, std::string_view) -> Status {
      return step == SyncStep::kWriteTimestamp ? Status(Error(Errc::kIoError, "crash"))
                                               : OkStatus();
    };
  });
  EXPECT_FALSE(r.status.ok());
  EXPECT_TRUE(PathExists(paths_.metadata() + "/2.root.json"));
  DirUpstream served(paths_.repo());
  EXPECT_ERRC(CrawlRepository(served, initial_root_, now_), Errc::kThresholdNotMet);
  ASSERT_OK(Sync().status);
  ExpectConsistent(repo_->timestamp().version);
}

TEST_F(SyncTest, RetentionPrunesSupersededFilesAndBlobs) {
  const std::string old_content(20000, 'a');
  ASSERT_OK(Sync().status);
  ASSERT_OK(repo_->RemoveTarget(kTargets, "release/app-1.0.tgz"));
  ASSERT_OK(repo_->AddTarget(kTargets, "release/app-2.0.tgz", "two"));
  Publish();
  // Long retention: the old target and metadata stay for clients in flight.
  ASSERT_OK(Sync([](SyncOptions& o) { o.gc_every_seconds = 0; }).status);
  EXPECT_TRUE(PathExists(paths_.repo() + "/" + TargetRel("release/app-1.0.tgz", old_content)));
  EXPECT_TRUE(PathExists(paths_.metadata() + "/2.snapshot.json"));
  // Past retention: gone, blob too (grace 0); roots stay forever.
  ASSERT_OK(repo_->Touch(kTargets));
  Publish();
  now_ += 10;
  SyncReport r = Sync([](SyncOptions& o) {
    o.gc_every_seconds = 0;
    o.retention_seconds = 5;
    o.gc_grace_seconds = 0;
  });
  ASSERT_OK(r.status);
  EXPECT_TRUE(r.pruned);
  EXPECT_FALSE(PathExists(paths_.repo() + "/" + TargetRel("release/app-1.0.tgz", old_content)));
  EXPECT_FALSE(PathExists(paths_.metadata() + "/2.snapshot.json"));
  EXPECT_TRUE(PathExists(paths_.metadata() + "/3.snapshot.json"));  // superseded just now
  EXPECT_TRUE(PathExists(paths_.metadata() + "/1.root.json"));
  auto has = store_->Has(store::Digest::Of(old_content));
  ASSERT_OK(has);
  EXPECT_FALSE(*has);
  ExpectConsistent(repo_->timestamp().version);
}

TEST_F(SyncTest, SecondSyncOnTheSameDirectoryIsRefusedWhileOneRuns) {
  SyncReport inner;
  SyncReport outer = Sync([&](SyncOptions& o) {
    o.fault_hook = [&](SyncStep step, std::string_view) -> Status {
      if (step == SyncStep::kPlanned) inner = Sync();
      return OkStatus();
    };
  });
  ASSERT_OK(outer.status);
  EXPECT_ERRC(inner.status, Errc::kConflict);
}

TEST(ServableTargetPath, RefusesWhatCouldEscapeOrNotFit) {
  EXPECT_TRUE(IsServableTargetPath("release/app-1.0.tgz"));
  EXPECT_TRUE(IsServableTargetPath("a"));
  for (const char* bad : {"", "/a", "a/", "a//b", "../a", "a/../b", "./a", "a/.", "a\\b", "a\nb"}) {
    EXPECT_FALSE(IsServableTargetPath(bad)) << bad;
  }
  EXPECT_FALSE(IsServableTargetPath(std::string(127, 'n')));  // 128 hex + '.' + 127 > 255
  EXPECT_TRUE(IsServableTargetPath(std::string(126, 'n')));
}

}  // namespace
}  // namespace ferry::mirror
