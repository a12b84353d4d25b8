// The repository writer: files on disk, names, order, rotation, and a full verification of what
// it wrote, read back from disk.
#include "tuf/repository.h"

#include <sys/stat.h>

#include <filesystem>

#include "base/fs.h"
#include "crypto/hash.h"
#include "tests/tuf/tuf_fixture.h"

namespace ferry::tuf::testing {
namespace {

class RepositoryTest : public TufTest {
 protected:
  void SetUp() override {
    options_.dir = dir_.path();
    TufTest::SetUp();
  }
  std::string Disk(const std::string& rel) { return ferry::testing::ReadFileOrDie(dir_.Join(rel)); }
  bool Exists(const std::string& rel) { return PathExists(dir_.Join(rel)); }
  ferry::testing::TempDir dir_;
};

TEST_F(RepositoryTest, WritesConsistentSnapshotLayout) {
  EXPECT_TRUE(Exists("metadata/1.root.json"));
  EXPECT_TRUE(Exists("metadata/root.json"));
  EXPECT_TRUE(Exists("metadata/1.targets.json"));
  EXPECT_TRUE(Exists("metadata/1.snapshot.json"));
  EXPECT_TRUE(Exists("metadata/timestamp.json"));
  EXPECT_FALSE(Exists("metadata/targets.json"));
  EXPECT_EQ(Disk("metadata/1.root.json"), Disk("metadata/root.json"));

  ASSERT_OK(repo_->AddTarget(kTargets, "release/app-1.0.tgz", "app v1"));
  auto* author = NewKey();
  DelegatedRole plugin;
  plugin.name = "plugins.git";
  plugin.paths = std::vector<std::string>{"plugins/git/*"};
  ASSERT_OK(repo_->AddDelegation(kTargets, plugin, {{author}, 1}));
  ASSERT_OK(repo_->AddTarget("plugins.git", "plugins/git/git-1.0.hpi", "hpi"));
  ASSERT_OK(repo_->Publish(kT0 + 10));

  const std::string h = crypto::Sha256Hex("app v1");
  EXPECT_EQ(Disk("targets/release/" + h + ".app-1.0.tgz"), "app v1");
  EXPECT_EQ(Disk("targets/plugins/git/" + crypto::Sha256Hex("hpi") + ".git-1.0.hpi"), "hpi");
  EXPECT_FALSE(Exists("targets/release/app-1.0.tgz"));
  EXPECT_TRUE(Exists("metadata/2.targets.json"));
  EXPECT_TRUE(Exists("metadata/1.targets.json"));  // old versions stay for readers in flight
  EXPECT_TRUE(Exists("metadata/1.plugins.git.json"));
  EXPECT_TRUE(Exists("metadata/2.snapshot.json"));
  // Nothing else: no temp files left behind.
  std::size_t files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir_.path())) {
    if (e.is_regular_file()) {
      ++files;
      EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
    }
  }
  EXPECT_EQ(files, 10u);
}

TEST_F(RepositoryTest, WhatItWritesVerifiesFromDisk) {
  ASSERT_OK(repo_->AddTarget(kTargets, "a.txt", "A"));
  auto* author = NewKey();
  DelegatedRole plugin;
  plugin.name = "plugins.x";
  plugin.paths = std::vector<std::string>{"plugins/x/*"};
  ASSERT_OK(repo_->AddDelegation(kTargets, plugin, {{author}, 1}));
  ASSERT_OK(repo_->AddTarget("plugins.x", "plugins/x/x-1.hpi", "X1"));
  ASSERT_OK(repo_->Publish(kT0 + 10));
  auto ts = TrustedSet::Create(Disk("metadata/1.root.json"), kNow);
  ASSERT_OK(ts);
  ASSERT_OK(ts->UpdateTimestamp(Disk("metadata/timestamp.json")));
  const auto sv = ts->timestamp()->body.snapshot_meta.version;
  ASSERT_OK(ts->UpdateSnapshot(Disk("metadata/" + MetadataFileName(kSnapshot, sv))));
  const auto tv = ts->snapshot()->body.meta.at("targets.json").version;
  ASSERT_OK(ts->UpdateTargets(Disk("metadata/" + MetadataFileName(kTargets, tv))));
  auto loader = [&](std::string_view role, std::string_view delegator) {
    auto v = ts->snapshot()->body.meta.at(std::string(role) + ".json").version;
    return ts->UpdateDelegatedTargets(Disk("metadata/" + MetadataFileName(role, v)), role, delegator);
  };
  auto t = FindTarget(*ts, "plugins/x/x-1.hpi", loader);
  ASSERT_OK(t);
  const std::string served =
      Disk("targets/" + HashPrefixedTargetPath(t->path, t->file.hashes[0].second));
  EXPECT_OK(VerifyHashes(t->file.hashes, served, t->path));
}

TEST_F(RepositoryTest, ChangedRolesOnlyGetNewVersions) {
  auto* author = NewKey();
  DelegatedRole plugin;
  plugin.name = "plugins.y";
  plugin.paths = std::vector<std::string>{"plugins/y/*"};
  ASSERT_OK(repo_->AddDelegation(kTargets, plugin, {{author}, 1}));
  ASSERT_OK(repo_->Publish(kT0 + 10));
  EXPECT_EQ(repo_->targets(kTargets)->version, 2);
  ASSERT_OK(repo_->AddTarget("plugins.y", "plugins/y/y-1.hpi", "Y"));
  ASSERT_OK(repo_->Publish(kT0 + 20));
  EXPECT_EQ(repo_->targets(kTargets)->version, 2);  // unchanged
  EXPECT_EQ(repo_->targets("plugins.y")->version, 2);
  EXPECT_EQ(repo_->snapshot().version, 3);
  EXPECT_EQ(repo_->timestamp().version, 3);
  ASSERT_OK(repo_->Publish(kT0 + 30));  // nothing changed: a new timestamp only
  EXPECT_EQ(repo_->snapshot().version, 3);
  EXPECT_EQ(repo_->timestamp().version, 4);
  EXPECT_EQ(repo_->snapshot().meta.at("plugins.y.json").version, 2);
  EXPECT_EQ(repo_->timestamp().snapshot_meta.version, 3);
  EXPECT_EQ(*repo_->timestamp().snapshot_meta.length,
            static_cast<std::int64_t>(repo_->MetadataBytes(kSnapshot).size()));
  // Expiry follows the publish time.
  EXPECT_EQ(repo_->timestamp().expires, kT0 + 30 + options_.timestamp_expiry_seconds);
}

TEST_F(RepositoryTest, RefusesUnsafeInput) {
  EXPECT_ERRC(repo_->AddTarget(kTargets, "../escape", "x"), Errc::kUnsafeName);
  EXPECT_ERRC(repo_->AddTarget(kTargets, "/abs", "x"), Errc::kUnsafeName);
  EXPECT_ERRC(repo_->AddTarget("nope", "a", "x"), Errc::kNotFound);
  EXPECT_FALSE(Exists("escape"));
  DelegatedRole bad;
  bad.name = "../evil";
  bad.paths = std::vector<std::string>{"*"};
  EXPECT_ERRC(repo_->AddDelegation(kTargets, bad, {{NewKey()}, 1}), Errc::kUnsafeName);
  DelegatedRole both;
  both.name = "both";
  both.paths = std::vector<std::string>{"*"};
  both.path_hash_prefixes = std::vector<std::string>{"a"};
  EXPECT_ERRC(repo_->AddDelegation(kTargets, both, {{NewKey()}, 1}), Errc::kInvalidArgument);
  EXPECT_ERRC(repo_->SetRoleKeys(kTimestamp, {{}, 1}), Errc::kInvalidArgument);
  EXPECT_ERRC(repo_->RemoveTarget(kTargets, "never-added"), Errc::kNotFound);
}

TEST_F(RepositoryTest, NonConsistentLayout) {
  ferry::testing::TempDir other;
  RepositoryOptions o;
  o.dir = other.path();
  o.consistent_snapshot = false;
  o.sha512_targets = true;
  auto repo = Repository::Create(o, {{root_key_}, 1}, {{targets_key_}, 1}, {{snapshot_key_}, 1},
                                 {{timestamp_key_}, 1}, kT0);
  ASSERT_OK(repo);
  ASSERT_OK(repo->AddTarget(kTargets, "d/f.bin", "F"));
  ASSERT_OK(repo->Publish(kT0 + 1));
  EXPECT_TRUE(PathExists(other.Join("metadata/targets.json")));
  EXPECT_TRUE(PathExists(other.Join("metadata/snapshot.json")));
  EXPECT_TRUE(PathExists(other.Join("metadata/1.root.json")));
  EXPECT_TRUE(PathExists(other.Join("targets/d/f.bin")));
  EXPECT_EQ(repo->targets(kTargets)->targets.at("d/f.bin").hashes.size(), 2u);
  EXPECT_FALSE(repo->root().consistent_snapshot);
}

TEST_F(RepositoryTest, RemoveTarget) {
  ASSERT_OK(repo_->AddTarget(kTargets, "gone.txt", "bye"));
  ASSERT_OK(repo_->Publish(kT0 + 1));
  ASSERT_OK(repo_->RemoveTarget(kTargets, "gone.txt"));
  ASSERT_OK(repo_->Publish(kT0 + 2));
  EXPECT_EQ(repo_->targets(kTargets)->targets.count("gone.txt"), 0u);
  EXPECT_EQ(repo_->targets(kTargets)->version, 3);
}

}  // namespace
}  // namespace ferry::tuf::testing

namespace ferry::tuf::testing {
namespace {

class RepositoryLifecycleTest : public RepositoryTest {
 protected:
  void AddPlugin(Ed25519Signer* author) {
    DelegatedRole plugin;
    plugin.name = "plugins.git";
    plugin.paths = std::vector<std::string>{"plugins/git/*"};
    ASSERT_OK(repo_->AddDelegation(kTargets, plugin, {{author}, 1}));
    ASSERT_OK(repo_->Publish(kT0 + 1));
  }
  // The author's side: the next version of the plugin role with one more target, signed locally.
  std::string AuthorSigns(Ed25519Signer* author, const std::string& path, const std::string& content,
                          std::int64_t version, UnixTime expires = kT0 + 90 * 86400) {
    Targets t = *repo_->targets("plugins.git");
    t.version = version;
    t.expires = expires;
    TargetFile f;
    f.length = static_cast<std::int64_t>(content.size());
    f.hashes = {{"sha256", crypto::Sha256Hex(content)}};
    t.targets[path] = f;
    return SignEnvelope(ToJson(t), {author});
  }
};

TEST_F(RepositoryLifecycleTest, ReopenFromCurrentBytesAndContinue) {
  auto* author = NewKey();
  AddPlugin(author);
  std::map<std::string, std::string> current;
  for (const char* role : {"root", "targets", "snapshot", "timestamp", "plugins.git"}) {
    current[role] = repo_->MetadataBytes(role);
  }
  auto reopened = Repository::Open(options_, current);
  ASSERT_OK(reopened);
  EXPECT_EQ(reopened->DelegatorOf("plugins.git"), "targets");
  EXPECT_EQ(reopened->timestamp().version, repo_->timestamp().version);
  // Without keys, nothing can be published...
  EXPECT_ERRC(reopened->Publish(kT0 + 2), Errc::kInvalidArgument);
  // ...with the online keys, a re-sign of snapshot and timestamp works.
  ASSERT_OK(reopened->SetSigners(kSnapshot, {{snapshot_key_}, 1}));
  ASSERT_OK(reopened->SetSigners(kTimestamp, {{timestamp_key_}, 1}));
  EXPECT_ERRC(reopened->SetSigners(kTimestamp, {{snapshot_key_}, 1}), Errc::kInvalidArgument);
  auto staged = reopened->Stage(kT0 + 2);
  ASSERT_OK(staged);
  ASSERT_EQ(staged->size(), 1u);  // nothing changed: only the timestamp is re-signed
  EXPECT_EQ(staged->back().path, "metadata/timestamp.json");
  EXPECT_EQ(staged->back().role, "timestamp");
  ASSERT_OK(reopened->Write(*staged));
  ASSERT_OK(reopened->Touch(kSnapshot));  // a snapshot nearing expiry is re-signed on request
  staged = reopened->Stage(kT0 + 3);
  ASSERT_OK(staged);
  ASSERT_EQ(staged->size(), 2u);
  EXPECT_EQ(staged->front().role, "snapshot");
  ASSERT_OK(reopened->Write(*staged));
  // A client accepts the result.
  overrides_["timestamp.json"] = reopened->MetadataBytes(kTimestamp);
  overrides_[MetadataFileName(kSnapshot, reopened->snapshot().version)] = reopened->MetadataBytes(kSnapshot);
  auto ts = NewClient();
  ASSERT_OK(Refresh(&*ts));
  EXPECT_EQ(ts->timestamp()->body.version, reopened->timestamp().version);
  // The server never holds the targets key: changing targets needs it.
  ASSERT_OK(reopened->AddTargetInfo(kTargets, "release/x.tar", TargetFile{1, {{"sha256", std::string(64, 'a')}}, {}}));
  EXPECT_ERRC(reopened->Stage(kT0 + 3), Errc::kInvalidArgument);
}

TEST_F(RepositoryLifecycleTest, AuthorSignedRoleIsPublishedVerbatim) {
  auto* author = NewKey();
  AddPlugin(author);
  const std::string signed_role = AuthorSigns(author, "plugins/git/git-1.0.hpi", "hpi", 2);
  ASSERT_OK(repo_->PutSignedTargets("plugins.git", signed_role, kT0 + 5));
  ASSERT_OK(repo_->Publish(kT0 + 5));
  EXPECT_EQ(repo_->MetadataBytes("plugins.git"), signed_role);
  EXPECT_EQ(Disk("metadata/2.plugins.git.json"), signed_role);
  EXPECT_EQ(repo_->snapshot().meta.at("plugins.git.json").version, 2);
  // And a client finds it.
  auto ts = NewClient();
  ASSERT_OK(Refresh(&*ts));
  auto t = FindTarget(*ts, "plugins/git/git-1.0.hpi", Loader(&*ts));
  ASSERT_OK(t);
  EXPECT_EQ(t->role, "plugins.git");
}

TEST_F(RepositoryLifecycleTest, AuthorSignedRoleIsChecked) {
  auto* author = NewKey();
  auto* stranger = NewKey();
  AddPlugin(author);
  EXPECT_ERRC(repo_->PutSignedTargets("plugins.git", AuthorSigns(stranger, "plugins/git/a.hpi", "a", 2), kT0 + 5),
              Errc::kThresholdNotMet);
  EXPECT_ERRC(repo_->PutSignedTargets("plugins.git", AuthorSigns(author, "plugins/git/a.hpi", "a", 1), kT0 + 5),
              Errc::kRollback);
  EXPECT_ERRC(repo_->PutSignedTargets("plugins.git", AuthorSigns(author, "plugins/other/a.hpi", "a", 2), kT0 + 5),
              Errc::kInvalidArgument);
  EXPECT_ERRC(repo_->PutSignedTargets("plugins.git", AuthorSigns(author, "plugins/git/../a", "a", 2), kT0 + 5),
              Errc::kUnsafeName);
  EXPECT_ERRC(repo_->PutSignedTargets("plugins.git", AuthorSigns(author, "plugins/git/a.hpi", "a", 2, kT0), kT0 + 5),
              Errc::kExpired);
  EXPECT_ERRC(repo_->PutSignedTargets("plugins.nope", AuthorSigns(author, "plugins/git/a.hpi", "a", 2), kT0 + 5),
              Errc::kNotFound);
  EXPECT_ERRC(repo_->PutSignedTargets("plugins.git", "{}", kT0 + 5), Errc::kBadMetadata);
  EXPECT_EQ(repo_->targets("plugins.git")->version, 1);
}

}  // namespace
}  // namespace ferry::tuf::testing
