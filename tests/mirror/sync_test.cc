// The mirror's sync against an in-memory upstream serving a repository made by tuf::Repository:
// what is published and in which order, what is reused, what a tampered upstream, a full quota
// or an interruption at each step leave behind, retention, and targets rebuilt from signed
// patches (PatchFetcher, the fetcher ferry-mirror uses).
#include "mirror/sync.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include <sys/stat.h>

#include "base/fs.h"
#include "crypto/hash.h"
#include "delta/delta.h"
#include "mirror/api.h"
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
    o.log = [this](const std::string& line) {
      std::lock_guard lock(log_mu_);
      log_.push_back(line);
    };
    if (tweak) tweak(o);
    // As ferry-mirror composes them: patches when listed, whole files otherwise.
    FullFileFetcher full(&upstream_, store_.get());
    PatchFetcher patches(&full, store_.get());
    Syncer syncer(o, &upstream_, store_.get(), &patches);
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

  // The online "deltas" role (as ferry-origin init delegates it) and its key.
  void AddDeltasRole() {
    tuf::DelegatedRole deltas;
    deltas.name = "deltas";
    deltas.paths = std::vector<std::string>{"deltas/*/*"};
    ASSERT_OK(repo_->AddDelegation(kTargets, deltas, {{NewKey()}, 1}));
  }

  static std::string PatchPath(const std::string& base, const std::string& target) {
    return "deltas/" + crypto::Sha256Hex(target) + "/" + crypto::Sha256Hex(base) + ".patch";
  }

  // Lists `patch` (default: a real patch from base to target) as the deltas role's target for
  // that pair, with the origin's custom data; returns its bytes.
  std::string AddPatch(const std::string& base, const std::string& target,
                       std::optional<std::string> patch = std::nullopt) {
    if (!patch) {
      auto made = delta::CreatePatch(AsBytes(base), AsBytes(target));
      EXPECT_TRUE(made.ok()) << made.error().ToString();
      patch = std::string(AsChars(*made));
    }
    json::Object ferry;
    ferry.Set("base_sha256", crypto::Sha256Hex(base));
    ferry.Set("target_sha256", crypto::Sha256Hex(target));
    json::Object custom;
    custom.Set("ferry", std::move(ferry));
    EXPECT_OK(repo_->AddTarget("deltas", PatchPath(base, target), *patch,
                               json::Value(std::move(custom))));
    return *patch;
  }

  // Source-like text (compresses well; patches between versions are small).
  static std::string Text(std::size_t n, std::uint32_t seed) {
    static const char* kWords[] = {"function ", "return ", "const ", "value", "(x) ",
                                   "{ ",        "}\n",     "if ",    "else ", "this.",
                                   "export ",   "import ", "= ",     "; "};
    std::string s;
    std::uint32_t x = seed;
    while (s.size() < n) {
      x = x * 1664525u + 1013904223u;
      s += kWords[(x >> 16) % 14];
    }
    s.resize(n);
    return s;
  }

  // `base` with a few edits: the next version of a file.
  static std::string Edit(std::string base, std::uint32_t seed) {
    for (std::size_t i = 5000 + seed; i + 20 < base.size(); i += 30011) {
      base.replace(i, 8, "v" + std::to_string(seed) + "-edit");
    }
    return base + "// appended in edit " + std::to_string(seed) + "\n";
  }

  std::vector<std::string> Log() {
    std::lock_guard lock(log_mu_);
    return log_;
  }

  ferry::testing::TempDir dir_;
  std::string data_;
  MirrorPaths paths_;
  testing::MemoryUpstream upstream_;
  std::mutex log_mu_;
  std::vector<std::string> log_;  // guarded by log_mu_
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

// A mirror holding v1 syncs v2 by applying the signed patch v1 -> v2: the full file is never
// requested, the rebuilt blob verifies, and the report, the log line, state.json and /metrics
// count the patched target and the bytes.
TEST_F(SyncTest, NewVersionIsRebuiltFromASignedPatch) {
  AddDeltasRole();
  const std::string v1 = Text(200000, 1);
  ASSERT_OK(repo_->AddTarget(kTargets, "release/tool-1.0.js", v1));
  Publish();
  ASSERT_OK(Sync().status);
  const std::string v2 = Edit(v1, 2);
  ASSERT_OK(repo_->AddTarget(kTargets, "release/tool-1.1.js", v2));
  const std::string patch = AddPatch(v1, v2);
  ASSERT_LT(patch.size(), v2.size() / 20);
  Publish();
  upstream_.ClearRequests();
  SyncReport r = Sync();
  ASSERT_OK(r.status);
  EXPECT_EQ(r.outcome, SyncReport::Outcome::kPublished);
  EXPECT_EQ(upstream_.CountPrefix(TargetRel("release/tool-1.1.js", v2)), 0u)
      << ::testing::PrintToString(upstream_.Requests());
  EXPECT_EQ(upstream_.CountPrefix(TargetRel(PatchPath(v1, v2), patch)), 1u);
  EXPECT_EQ(r.targets_fetched, 2u);  // the patch (served too) and the file rebuilt from it
  EXPECT_EQ(r.targets_patched, 1u);
  EXPECT_EQ(r.patch_bytes, patch.size());
  EXPECT_EQ(r.patch_saved_bytes, v2.size());
  EXPECT_EQ(r.target_bytes, patch.size());  // all that crossed the network for targets
  EXPECT_TRUE(r.warnings.empty()) << ::testing::PrintToString(r.warnings);
  EXPECT_NE(r.Summary().find("1 target rebuilt from patches ("), std::string::npos) << r.Summary();
  ASSERT_OK(store_->Verify(store::Digest::Of(v2)));
  EXPECT_EQ(Served(TargetRel("release/tool-1.1.js", v2)), v2);
  ExpectConsistent(repo_->timestamp().version);
  ExpectBytesIdentical();
  EXPECT_TRUE(TempFiles().empty()) << ::testing::PrintToString(TempFiles());

  auto state = LoadState(paths_.state());
  ASSERT_OK(state);
  EXPECT_EQ(state->patched_targets_total, 1u);
  EXPECT_EQ(state->patch_bytes_total, patch.size());
  EXPECT_EQ(state->patch_saved_bytes_total, v2.size());
  StatusReport status;
  status.state = *state;
  const std::string metrics = MetricsText(status, net::ServerMetrics{});
  EXPECT_NE(metrics.find("\nferry_mirror_sync_patched_targets_total 1\n"), std::string::npos)
      << metrics;
  EXPECT_NE(
      metrics.find("\nferry_mirror_sync_patch_bytes_total " + std::to_string(patch.size()) + "\n"),
      std::string::npos);
  EXPECT_NE(metrics.find("\nferry_mirror_sync_patch_saved_bytes_total " +
                         std::to_string(v2.size()) + "\n"),
            std::string::npos);
  EXPECT_NE(StatusHtml(status).find("rebuilt from patches"), std::string::npos);
}

// A fresh mirror syncing three versions and the origin's patches (v1 -> v2, and v1 -> v3 and
// v2 -> v3): v1 is downloaded whole, v2 is rebuilt from it once it is stored, and v3 from the
// smaller of its two patches; each patch and base is fetched before the file built on it.
TEST_F(SyncTest, FreshMirrorChainsPatchesOnBasesStoredEarlierInTheSameSync) {
  AddDeltasRole();
  const std::string v1 = Text(150000, 1);
  const std::string v2 = Text(60000, 9) + Edit(v1, 2);             // much new text
  const std::string v3 = Edit(v2, 3);                              // a small change
  ASSERT_OK(repo_->AddTarget(kTargets, "release/tool-3.js", v3));  // newest listed first
  ASSERT_OK(repo_->AddTarget(kTargets, "release/tool-2.js", v2));
  ASSERT_OK(repo_->AddTarget(kTargets, "release/tool-1.js", v1));
  const std::string p12 = AddPatch(v1, v2);
  const std::string p13 = AddPatch(v1, v3);
  const std::string p23 = AddPatch(v2, v3);
  ASSERT_LT(p23.size(), p13.size());
  Publish();
  for (int parallel : {1, 4}) {
    SCOPED_TRACE("parallel_fetches " + std::to_string(parallel));
    std::filesystem::remove_all(data_);
    store_.reset();
    upstream_.ClearRequests();
    std::mutex mu;
    std::vector<std::string> started;
    SyncReport r = Sync([&](SyncOptions& o) {
      o.parallel_fetches = parallel;
      o.fault_hook = [&](SyncStep step, std::string_view detail) -> Status {
        std::lock_guard lock(mu);
        if (step == SyncStep::kFetchTarget) started.emplace_back(detail);
        return OkStatus();
      };
    });
    ASSERT_OK(r.status);
    EXPECT_EQ(r.targets_patched, 2u);
    EXPECT_EQ(r.patch_bytes, p12.size() + p23.size());
    EXPECT_EQ(r.patch_saved_bytes, v2.size() + v3.size());
    EXPECT_EQ(upstream_.CountPrefix(TargetRel("release/tool-1.js", v1)), 1u);
    EXPECT_EQ(upstream_.CountPrefix(TargetRel("release/tool-2.js", v2)), 0u);
    EXPECT_EQ(upstream_.CountPrefix(TargetRel("release/tool-3.js", v3)), 0u);
    auto pos = [&](const std::string& path) {
      return std::find(started.begin(), started.end(), path) - started.begin();
    };
    EXPECT_LT(pos(PatchPath(v1, v2)), pos("release/tool-2.js"));
    EXPECT_LT(pos("release/tool-1.js"), pos("release/tool-2.js"));
    EXPECT_LT(pos(PatchPath(v2, v3)), pos("release/tool-3.js"));
    EXPECT_LT(pos("release/tool-2.js"), pos("release/tool-3.js"));
    ExpectConsistent(repo_->timestamp().version);
    ExpectBytesIdentical();
  }
}

// A patch listed against a base the mirror does not hold (and the plan does not list) is not
// used: the file is downloaded whole, the patch is still served, and nothing is reported wrong.
TEST_F(SyncTest, PatchWhoseBaseTheMirrorLacksIsNotUsed) {
  AddDeltasRole();
  const std::string v1 = Text(100000, 1), v2 = Edit(v1, 2);
  ASSERT_OK(repo_->AddTarget(kTargets, "release/tool-1.1.js", v2));
  const std::string patch = AddPatch(v1, v2);  // v1 is not listed (it was removed earlier)
  Publish();
  SyncReport r = Sync();
  ASSERT_OK(r.status);
  EXPECT_EQ(r.targets_patched, 0u);
  EXPECT_EQ(r.patch_bytes, 0u);
  EXPECT_EQ(upstream_.CountPrefix(TargetRel("release/tool-1.1.js", v2)), 1u);
  EXPECT_EQ(Served(TargetRel(PatchPath(v1, v2), patch)), patch);
  EXPECT_TRUE(r.warnings.empty()) << ::testing::PrintToString(r.warnings);
  EXPECT_EQ(r.Summary().find("patches"), std::string::npos) << r.Summary();
  ExpectConsistent(repo_->timestamp().version);
  ExpectBytesIdentical();
}

// Signed patches that do not rebuild their file (a patch between two other files, bytes that are
// no patch at all, a patch for the right file from another base): each verifies as a target and
// is served, and the file falls back to a full download; the sync completes and serves exactly
// the upstream's bytes.
TEST_F(SyncTest, SignedButWrongPatchFallsBackToAFullDownload) {
  AddDeltasRole();
  const std::string v1 = Text(100000, 1);
  ASSERT_OK(repo_->AddTarget(kTargets, "release/tool-1.0.js", v1));
  Publish();
  ASSERT_OK(Sync().status);
  const std::string other = Text(100000, 77);
  auto made = [](const std::string& a, const std::string& b) {
    auto p = delta::CreatePatch(AsBytes(a), AsBytes(b));
    EXPECT_TRUE(p.ok());
    return std::string(AsChars(*p));
  };
  struct Case {
    std::string name;
    std::function<std::string(const std::string& next)> patch;
  };
  std::uint32_t seed = 10;
  for (const Case& c : {
           Case{"another file's patch", [&](const std::string&) { return made(v1, other); }},
           Case{"not a patch", [](const std::string&) { return std::string(3000, 'p'); }},
           Case{"another base", [&](const std::string& next) { return made(Edit(v1, 99), next); }},
       }) {
    SCOPED_TRACE(c.name);
    const std::string next = Edit(v1, ++seed);
    const std::string path = "release/tool-" + std::to_string(seed) + ".js";
    ASSERT_OK(repo_->AddTarget(kTargets, path, next));
    AddPatch(v1, next, c.patch(next));
    Publish();
    upstream_.ClearRequests();
    SyncReport r = Sync();
    ASSERT_OK(r.status);
    EXPECT_EQ(r.targets_patched, 0u);
    EXPECT_EQ(upstream_.CountPrefix(TargetRel(path, next)), 1u);
    ASSERT_EQ(r.warnings.size(), 1u);
    EXPECT_NE(r.warnings[0].find(PatchPath(v1, next) + " not used ("), std::string::npos)
        << r.warnings[0];
    EXPECT_NE(r.warnings[0].find("downloaded the whole file"), std::string::npos);
    const auto log = Log();
    EXPECT_TRUE(std::any_of(log.begin(), log.end(), [&](const std::string& l) {
      return l == "warning: " + r.warnings[0];
    }));
    ASSERT_OK(store_->Verify(store::Digest::Of(next)));
    EXPECT_EQ(Served(TargetRel(path, next)), next);
    ExpectConsistent(repo_->timestamp().version);
    ExpectBytesIdentical();
    EXPECT_TRUE(TempFiles().empty()) << ::testing::PrintToString(TempFiles());
  }
}

// The upstream serves other bytes for the patch than the deltas role signed. The patch never
// reaches the store; for the fetcher that means a full download of the file. For the sync it is
// a tampered target like any other (the mirror must serve the patch too): nothing is published,
// and once the upstream serves the signed patch the next sync rebuilds the file from it.
TEST_F(SyncTest, CorruptPatchIsNeverStoredAndCostsAFullDownload) {
  AddDeltasRole();
  const std::string v1 = Text(100000, 1), v2 = Edit(v1, 2);
  ASSERT_OK(repo_->AddTarget(kTargets, "release/tool-1.0.js", v1));
  Publish();
  ASSERT_OK(Sync().status);
  ASSERT_OK(repo_->AddTarget(kTargets, "release/tool-1.1.js", v2));
  const std::string patch = AddPatch(v1, v2);
  Publish();
  std::string evil = patch;
  evil[evil.size() / 2] ^= 1;  // same length, other bytes
  upstream_.Override(TargetRel(PatchPath(v1, v2), patch), evil);

  // The fetcher alone, as stage 1 would call it for v2 if the patch were not stored first.
  TargetEntry v1e{"release/tool-1.0.js", v1.size(), {{"sha256", crypto::Sha256Hex(v1)}}, ""};
  TargetEntry v2e{"release/tool-1.1.js", v2.size(), {{"sha256", crypto::Sha256Hex(v2)}}, ""};
  TargetEntry pe{PatchPath(v1, v2), patch.size(), {{"sha256", crypto::Sha256Hex(patch)}}, ""};
  {
    FullFileFetcher full(&upstream_, store_.get());
    PatchFetcher fetcher(&full, store_.get());
    const auto needs = fetcher.Prepare({v1e, v2e, pe}, {true, false, false});
    ASSERT_EQ(needs.size(), 3u);
    EXPECT_EQ(needs[1], std::vector<std::size_t>{2});  // the patch first; the base is held
    upstream_.ClearRequests();
    auto got = fetcher.Fetch(v2e);
    ASSERT_OK(got);
    EXPECT_FALSE(got->patched);
    EXPECT_NE(got->note.find(pe.path + " not used (hash_mismatch"), std::string::npos) << got->note;
    EXPECT_EQ(upstream_.Requests(), (std::vector<std::string>{pe.UrlPath(), v2e.UrlPath()}));
    EXPECT_EQ(got->bytes_transferred, v2.size());
    ASSERT_OK(store_->Verify(store::Digest::Of(v2)));
    EXPECT_FALSE(*store_->Has(store::Digest::Of(evil)));
    EXPECT_FALSE(*store_->Has(store::Digest::Of(patch)));
    ASSERT_OK(store_->Remove(store::Digest::Of(v2)));  // back to the mirror's state
  }

  const std::string held = Served("metadata/timestamp.json");
  SyncReport r = Sync();
  EXPECT_ERRC(r.status, Errc::kHashMismatch);
  EXPECT_NE(r.status.error().message().find(pe.path), std::string::npos)
      << r.status.error().ToString();
  EXPECT_EQ(Served("metadata/timestamp.json"), held);
  EXPECT_FALSE(*store_->Has(store::Digest::Of(evil)));
  EXPECT_TRUE(TempFiles().empty()) << ::testing::PrintToString(TempFiles());
  ExpectConsistent(repo_->timestamp().version - 1);

  upstream_.ClearOverrides();
  upstream_.ClearRequests();
  r = Sync();
  ASSERT_OK(r.status);
  EXPECT_EQ(r.targets_patched, 1u);
  EXPECT_EQ(upstream_.CountPrefix(v2e.UrlPath()), 0u);
  ExpectConsistent(repo_->timestamp().version);
  ExpectBytesIdentical();
}

// Stage 1 interrupted after the patch is stored: the next sync rebuilds the file from the stored
// patch without downloading either again. A patched file that does not fit the quota fails the
// sync as "disk quota reached" without a full download being tried.
TEST_F(SyncTest, PatchedSyncResumesAndRespectsTheQuota) {
  AddDeltasRole();
  const std::string v1 = Text(100000, 1), v2 = Edit(v1, 2);
  ASSERT_OK(repo_->AddTarget(kTargets, "release/tool-1.0.js", v1));
  Publish();
  ASSERT_OK(Sync().status);
  ASSERT_OK(repo_->AddTarget(kTargets, "release/tool-1.1.js", v2));
  const std::string patch = AddPatch(v1, v2);
  Publish();
  const std::string held = Served("metadata/timestamp.json");
  int fetches = 0;
  SyncReport r = Sync([&](SyncOptions& o) {
    o.parallel_fetches = 1;
    o.fault_hook = [&](SyncStep step, std::string_view) -> Status {
      if (step == SyncStep::kFetchTarget && ++fetches == 2) return Error(Errc::kIoError, "killed");
      return OkStatus();
    };
  });
  EXPECT_FALSE(r.status.ok());
  EXPECT_TRUE(*store_->Has(store::Digest::Of(patch)));
  EXPECT_FALSE(*store_->Has(store::Digest::Of(v2)));
  EXPECT_EQ(Served("metadata/timestamp.json"), held);

  // The quota: room for the patch, not for the rebuilt file.
  OpenStore(store_->UsedBytes() + v2.size() / 2);
  upstream_.ClearRequests();
  r = Sync();
  EXPECT_ERRC(r.status, Errc::kTooLarge);
  EXPECT_NE(r.status.error().message().find("disk quota reached"), std::string::npos)
      << r.status.error().ToString();
  EXPECT_EQ(upstream_.CountPrefix("targets/"), 0u)
      << ::testing::PrintToString(upstream_.Requests());
  EXPECT_EQ(Served("metadata/timestamp.json"), held);
  EXPECT_TRUE(TempFiles().empty()) << ::testing::PrintToString(TempFiles());

  OpenStore();
  upstream_.ClearRequests();
  r = Sync();
  ASSERT_OK(r.status);
  EXPECT_EQ(r.targets_patched, 1u);
  EXPECT_EQ(r.targets_reused, 3u);  // app-1.0, tool-1.0 and the patch
  EXPECT_EQ(upstream_.CountPrefix("targets/"), 0u)
      << ::testing::PrintToString(upstream_.Requests());
  ExpectConsistent(repo_->timestamp().version);
  ExpectBytesIdentical();
}

TEST(PatchPath, NamesTheTwoDigests) {
  const std::string t(64, 'a'), b(64, 'b');
  auto name = PatchFetcher::ParsePatchPath("deltas/" + t + "/" + b + ".patch");
  ASSERT_TRUE(name.has_value());
  EXPECT_EQ(name->target.hex(), t);
  EXPECT_EQ(name->base.hex(), b);
  for (const std::string& bad :
       {"deltas/" + t + "/" + b + ".patc", "delta/" + t + "/" + b + ".patch",
        "deltas/" + t + "/" + b + ".patch/x", "deltas/" + t + b + ".patch",
        "deltas/" + std::string(64, 'A') + "/" + b + ".patch", "deltas/" + t + "/" + b}) {
    EXPECT_FALSE(PatchFetcher::ParsePatchPath(bad).has_value()) << bad;
  }
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
