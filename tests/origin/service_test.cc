// The origin's core without HTTP: init, plugins, tokens, uploads, author-signed publishing,
// conflicts, re-signing on a fake clock, recovery, GC, and a client reading the result.
#include "origin/service.h"

#include <filesystem>
#include <set>
#include <thread>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client/author.h"
#include "crypto/hash.h"
#include "crypto/keyfile.h"
#include "tests/origin/origin_fixture.h"

namespace ferry::origin::testing {
namespace {

TEST_F(OriginTest, InitWritesAVerifiableRepository) {
  const std::string repo = RepoDir(options_.data_dir);
  for (const char* f :
       {"metadata/1.root.json", "metadata/root.json", "metadata/timestamp.json",
        "metadata/2.snapshot.json", "metadata/2.targets.json", "metadata/1.mirrors.json"}) {
    EXPECT_TRUE(PathExists(JoinPath(repo, f))) << f;
  }
  // Online keys 0600, offline keys where asked.
  struct stat st;
  ASSERT_EQ(::stat(JoinPath(OnlineKeysDir(options_.data_dir), "timestamp.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(init_.offline_key_files.size(), 3u);
  auto c = Client();
  ASSERT_OK(c.Refresh());
  EXPECT_EQ(c.trusted()->root().body.roles.at("root").threshold, 2);
  // A second init refuses to overwrite.
  InitOptions again;
  again.service = options_;
  again.offline_keys_dir = dir_.Join("offline2");
  EXPECT_ERRC(InitOrigin(again), Errc::kAlreadyExists);
}

TEST_F(OriginTest, AuthorPublishesAndClientDownloads) {
  AddPluginGit();
  const TokenRecord token = Token("plugin:git");
  const std::string hpi(50000, 'h');
  auto up = UploadBytes(token, "git", "git-1.0.hpi", hpi);
  ASSERT_OK(up);
  EXPECT_EQ(up->path, "plugins/git/git-1.0.hpi");
  EXPECT_EQ(up->sha256, crypto::Sha256Hex(hpi));
  auto role = AuthorRole("git", "git-1.0.hpi", hpi, "1.0");
  ASSERT_OK(role);
  auto pub = svc_->SubmitPluginRole(token, "git", *role);
  ASSERT_OK(pub);
  EXPECT_EQ(pub->role_version, 1);
  EXPECT_EQ(pub->new_targets, std::vector<std::string>{"plugins/git/git-1.0.hpi"});
  // The target is served under its consistent-snapshot name, as a hard link to the blob.
  const std::string served = JoinPath(
      RepoDir(options_.data_dir), "targets/plugins/git/" + crypto::Sha256Hex(hpi) + ".git-1.0.hpi");
  EXPECT_EQ(ferry::testing::ReadFileOrDie(served), hpi);
  auto c = Client();
  auto info = c.GetTargetInfo("plugins/git/git-1.0.hpi");
  ASSERT_OK(info);
  EXPECT_EQ(info->role, "plugins.git");
  EXPECT_EQ(info->file.custom->Find("ferry")->Find("version")->as_string(), "1.0");
  ASSERT_OK(c.DownloadTarget(*info, dir_.Join("git.hpi")));
  EXPECT_EQ(ferry::testing::ReadFileOrDie(dir_.Join("git.hpi")), hpi);
  // A second version.
  const std::string hpi2(60000, 'i');
  ASSERT_OK(UploadBytes(token, "git", "git-1.1.hpi", hpi2));
  auto role2 = AuthorRole("git", "git-1.1.hpi", hpi2, "1.1");
  ASSERT_OK(role2);
  auto pub2 = svc_->SubmitPluginRole(token, "git", *role2);
  ASSERT_OK(pub2);
  EXPECT_EQ(pub2->role_version, 2);
  auto c2 = Client("client2");
  ASSERT_OK(c2.GetTargetInfo("plugins/git/git-1.1.hpi"));
  ASSERT_OK(c2.GetTargetInfo("plugins/git/git-1.0.hpi"));
  EXPECT_EQ(svc_->Report().artifacts, 2u);
}

TEST_F(OriginTest, UploadAuthorizationAndNames) {
  AddPluginGit();
  ASSERT_OK(svc_->catalog().AddPlugin({"other", "plugins.other", now_}));
  const TokenRecord other = Token("plugin:other");
  EXPECT_ERRC(svc_->BeginUpload(other, "git", "a.hpi", 1), Errc::kForbidden);
  const TokenRecord mirror = Token("mirror");
  EXPECT_ERRC(svc_->BeginUpload(mirror, "git", "a.hpi", 1), Errc::kForbidden);
  const TokenRecord admin = Token("admin");
  EXPECT_ERRC(svc_->BeginUpload(admin, "nope", "a.hpi", 1), Errc::kNotFound);
  for (const char* bad : {"../x", "a/b", ".hidden", "a b", "", "x\\y", "%2e%2e"}) {
    SCOPED_TRACE(bad);
    auto r = svc_->BeginUpload(admin, "git", bad, 1);
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(r.error().code() == Errc::kUnsafeName) << r.error().ToString();
  }
  EXPECT_ERRC(svc_->BeginUpload(admin, "../git", "a.hpi", 1), Errc::kInvalidArgument);
  EXPECT_ERRC(svc_->BeginUpload(admin, "git", "a.hpi", options_.max_upload_bytes + 1),
              Errc::kTooLarge);
  // Nothing was created outside the store.
  EXPECT_FALSE(PathExists(dir_.Join("x")));
  EXPECT_FALSE(PathExists(JoinPath(RepoDir(options_.data_dir), "targets/plugins")));
}

TEST_F(OriginTest, TokensExpireAndRevoke) {
  auto t = IssueToken(svc_->catalog(), "plugin:git", "ci", now_ + 100, now_);
  ASSERT_OK(t);
  ASSERT_OK(Authenticate(svc_->catalog(), "Bearer " + *t, now_));
  EXPECT_ERRC(Authenticate(svc_->catalog(), "Bearer " + *t, now_ + 100), Errc::kUnauthenticated);
  auto rec = Authenticate(svc_->catalog(), "Bearer " + *t, now_);
  ASSERT_OK(svc_->catalog().RevokeToken(rec->id, now_));
  auto revoked = Authenticate(svc_->catalog(), "Bearer " + *t, now_);
  EXPECT_ERRC(revoked, Errc::kUnauthenticated);
  EXPECT_NE(revoked.error().message().find("revoked"), std::string::npos);
  EXPECT_ERRC(Authenticate(svc_->catalog(), "", now_), Errc::kUnauthenticated);
  EXPECT_ERRC(Authenticate(svc_->catalog(), "Basic abc", now_), Errc::kUnauthenticated);
  EXPECT_ERRC(Authenticate(svc_->catalog(), "Bearer fy_" + std::string(48, '0'), now_),
              Errc::kUnauthenticated);
  EXPECT_ERRC(IssueToken(svc_->catalog(), "plugin:../x", "", std::nullopt, now_),
              Errc::kInvalidArgument);
  EXPECT_ERRC(IssueToken(svc_->catalog(), "root", "", std::nullopt, now_), Errc::kInvalidArgument);
  // Only hashes are stored.
  auto all = ReadFile(CatalogPath(options_.data_dir), {.max_size = 1ull << 30});
  EXPECT_EQ(all->find(*t), std::string::npos);
}

TEST_F(OriginTest, SubmissionsAreChecked) {
  AddPluginGit();
  const TokenRecord token = Token("plugin:git");
  const std::string hpi = "plugin bytes";
  // No upload yet.
  auto no_upload = AuthorRole("git", "g.hpi", hpi, "1.0");
  ASSERT_OK(no_upload);
  EXPECT_ERRC(svc_->SubmitPluginRole(token, "git", *no_upload), Errc::kInvalidArgument);
  ASSERT_OK(UploadBytes(token, "git", "g.hpi", hpi));
  // Signed by a key that is not an author: the minisig fails first.
  auto stranger = tuf::Ed25519Signer::Generate();
  auto by_stranger = AuthorRole("git", "g.hpi", hpi, "1.0", stranger.get());
  EXPECT_ERRC(svc_->SubmitPluginRole(token, "git", *by_stranger), Errc::kBadSignature);
  // Role covering other bytes than uploaded.
  auto wrong_bytes = AuthorRole("git", "g.hpi", "other bytes", "1.0");
  EXPECT_ERRC(svc_->SubmitPluginRole(token, "git", *wrong_bytes), Errc::kInvalidArgument);
  // Garbage.
  EXPECT_ERRC(svc_->SubmitPluginRole(token, "git", "{}"), Errc::kBadMetadata);
  // A second hash the origin cannot vouch for (here a wrong sha512): refused, not published
  // unchecked.
  {
    auto good = AuthorRole("git", "g.hpi", hpi, "1.0");
    ASSERT_OK(good);
    auto md = tuf::ParseMetadata<tuf::Targets>(*good);
    ASSERT_OK(md);
    md->body.targets.at("plugins/git/g.hpi").hashes.emplace_back("sha512", std::string(128, '0'));
    const std::string two_hashes = tuf::SignEnvelope(tuf::ToJson(md->body), {author_.get()});
    auto st = svc_->SubmitPluginRole(token, "git", two_hashes);
    EXPECT_ERRC(st, Errc::kInvalidArgument);
    if (!st.ok()) {
      EXPECT_NE(st.error().message().find("exactly one hash, sha256"), std::string::npos);
    }
  }
  // A good one, then the same version again under another file: 409.
  ASSERT_OK(svc_->SubmitPluginRole(token, "git", *AuthorRole("git", "g.hpi", hpi, "1.0")));
  ASSERT_OK(UploadBytes(token, "git", "g2.hpi", "again"));
  auto same_version = AuthorRole("git", "g2.hpi", "again", "1.0");
  EXPECT_ERRC(svc_->SubmitPluginRole(token, "git", *same_version), Errc::kConflict);
  // Same path, other bytes: the upload itself is refused.
  EXPECT_ERRC(UploadBytes(token, "git", "g.hpi", "replacement"), Errc::kConflict);
  // Same path, same bytes: fine (idempotent), flagged.
  auto again = UploadBytes(token, "git", "g.hpi", hpi);
  ASSERT_OK(again);
  EXPECT_TRUE(again->already_published);
  // Replaying the already published role version adds nothing.
  EXPECT_ERRC(svc_->SubmitPluginRole(token, "git", *AuthorRole("git", "g.hpi", hpi, "1.0")),
              Errc::kAlreadyExists);
  EXPECT_EQ(svc_->Report().artifacts, 1u);
}

// reliability.md §4.28: a role version that drops a published file is refused (files are never
// unpublished by their authors), and so is one that changes a published file's bytes.
TEST_F(OriginTest, SubmissionsNeverDropOrChangePublishedFiles) {
  AddPluginGit();
  const TokenRecord token = Token("plugin:git");
  ASSERT_OK(UploadBytes(token, "git", "g.hpi", "one"));
  ASSERT_OK(svc_->SubmitPluginRole(token, "git", *AuthorRole("git", "g.hpi", "one", "1")));
  ASSERT_OK(UploadBytes(token, "git", "g2.hpi", "two"));
  auto next = AuthorRole("git", "g2.hpi", "two", "2");
  ASSERT_OK(next);
  auto md = tuf::ParseMetadata<tuf::Targets>(*next);
  ASSERT_OK(md);
  tuf::Targets dropped = md->body;
  dropped.targets.erase("plugins/git/g.hpi");
  auto st = svc_->SubmitPluginRole(token, "git",
                                   tuf::SignEnvelope(tuf::ToJson(dropped), {author_.get()}));
  EXPECT_ERRC(st, Errc::kInvalidArgument);
  if (!st.ok()) {
    EXPECT_NE(st.error().message().find("drops plugins/git/g.hpi"), std::string::npos);
  }
  tuf::Targets changed = md->body;
  changed.targets.at("plugins/git/g.hpi").length += 1;
  EXPECT_ERRC(svc_->SubmitPluginRole(token, "git",
                                     tuf::SignEnvelope(tuf::ToJson(changed), {author_.get()})),
              Errc::kConflict);
  ASSERT_OK(svc_->SubmitPluginRole(token, "git", *next));  // the honest version is fine
}

// reliability.md §3.26: the serving origin needs no offline key. With the offline keys gone from
// the machine, it opens, accepts uploads, publishes and re-signs.
TEST_F(OriginTest, ServesAndPublishesWithoutOfflineKeys) {
  AddPluginGit();  // needs the targets key: an administrator's step, done before
  svc_.reset();
  std::filesystem::rename(dir_.Join("offline"), dir_.Join("moved-off-the-server"));
  auto svc = OriginService::Open(options_);
  ASSERT_OK(svc);
  svc_ = std::move(*svc);
  const TokenRecord token = Token("plugin:git");
  ASSERT_OK(UploadBytes(token, "git", "g.hpi", "bytes"));
  ASSERT_OK(svc_->SubmitPluginRole(token, "git", *AuthorRole("git", "g.hpi", "bytes", "1")));
  now_ += 7 * 3600;
  ASSERT_OK(svc_->ResignIfDue());
  auto c = Client();
  ASSERT_OK(c.Refresh());
  ASSERT_OK(c.GetTargetInfo("plugins/git/g.hpi"));
}

TEST_F(OriginTest, ConcurrentUploadsOneRowPerVersion) {
  AddPluginGit();
  ASSERT_OK(AddPlugin(*svc_, "svn", {{"bob", author_->public_key()}}, *targets_key_));
  const TokenRecord token = Token("admin");
  // 8 threads: each uploads and publishes git 2.0 (the same bytes in every thread) and its own
  // svn version, rebuilding on the current role when another thread published first.
  auto publish = [&](int i, const std::string& plugin, const std::string& file,
                     const std::string& bytes, const std::string& version) -> Status {
    if (auto up = UploadBytes(token, plugin, file, bytes); !up) return up.error();
    const std::string local = dir_.Join("t" + std::to_string(i) + "-" + file);
    FERRY_TRY(WriteFileAtomic(local, bytes));
    for (int attempt = 0; attempt < 50; ++attempt) {
      std::optional<tuf::Targets> cur;
      const std::string current_file = CurrentRoleFile("plugins." + plugin);
      if (current_file != "none") {
        auto md = ReadFile(JoinPath(RepoDir(options_.data_dir), "metadata/" + current_file));
        if (md) cur = tuf::ParseMetadata<tuf::Targets>(*md)->body;
      }
      if (cur && cur->targets.count("plugins/" + plugin + "/" + file)) return OkStatus();
      FERRY_ASSIGN_OR_RETURN(
          std::string role,
          client::SignNextRoleVersion("plugins." + plugin, cur ? &*cur : nullptr,
                                      {"plugins/" + plugin + "/" + file, local, plugin, version},
                                      *author_, now_));
      auto pub = svc_->SubmitPluginRole(token, plugin, role);
      if (pub.ok()) return OkStatus();
      // Raced with another publisher: rebuild on the newer version.
      if (pub.error().code() != Errc::kRollback && pub.error().code() != Errc::kConflict &&
          pub.error().code() != Errc::kAlreadyExists) {
        return pub.error();
      }
    }
    return Error(Errc::kTimeout, "too many retries");
  };
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      if (auto st = publish(i, "git", "git-2.0.hpi", "git two", "2.0"); !st.ok()) {
        ++failures;
        ADD_FAILURE() << st.error().ToString();
      }
      if (auto st = publish(i, "svn", "svn-" + std::to_string(i) + ".hpi",
                            "svn " + std::to_string(i), std::to_string(i));
          !st.ok()) {
        ++failures;
        ADD_FAILURE() << st.error().ToString();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto artifacts = svc_->catalog().ListArtifacts();
  ASSERT_OK(artifacts);
  std::set<std::pair<std::string, std::string>> versions;
  for (const auto& a : *artifacts) EXPECT_TRUE(versions.insert({a.package, a.version}).second);
  EXPECT_EQ(artifacts->size(), 9u);  // git 2.0 once + 8 svn versions
  // Identical content stored once.
  std::size_t blobs = 0;
  ASSERT_OK(svc_->blobs().List([&](const store::Digest&) { return ++blobs, true; }));
  EXPECT_EQ(blobs, 9u);
  auto c = Client();
  ASSERT_OK(c.GetTargetInfo("plugins/git/git-2.0.hpi"));
  ASSERT_OK(c.GetTargetInfo("plugins/svn/svn-7.hpi"));
}

TEST_F(OriginTest, ReleasesThroughTheAdministratorPath) {
  const std::string file = dir_.Join("jenkins.war");
  ASSERT_OK(WriteFileAtomic(file, "war bytes"));
  auto r = AddRelease(*svc_, file, "release/jenkins-2.440.war", "jenkins", "2.440", *targets_key_);
  ASSERT_OK(r);
  EXPECT_ERRC(
      AddRelease(*svc_, file, "release/jenkins-2.440.war", "jenkins", "2.440", *targets_key_),
      Errc::kConflict);
  EXPECT_ERRC(AddRelease(*svc_, file, "plugins/x/y", "jenkins", "1", *targets_key_),
              Errc::kInvalidArgument);
  auto c = Client();
  auto info = c.GetTargetInfo("release/jenkins-2.440.war");
  ASSERT_OK(info);
  EXPECT_EQ(info->role, "targets");
  ASSERT_OK(c.DownloadTarget(*info, dir_.Join("j.war")));
}

TEST_F(OriginTest, ResignScheduleOnAFakeClock) {
  const auto ts0 = svc_->Report().roles[3].version;
  now_ += 3600;
  EXPECT_FALSE(*svc_->ResignIfDue());
  now_ += 6 * 3600;
  EXPECT_TRUE(*svc_->ResignIfDue());
  auto rep = svc_->Report();
  EXPECT_EQ(rep.roles[3].role, "timestamp");
  EXPECT_EQ(rep.roles[3].version, ts0 + 1);
  EXPECT_EQ(rep.roles[3].expires, now_ + options_.timestamp_valid_seconds);
  const auto snap = rep.roles[2];
  EXPECT_FALSE(*svc_->ResignIfDue());
  // Past half the snapshot's validity: snapshot and mirrors re-signed too.
  now_ += 4 * 86400;
  EXPECT_TRUE(*svc_->ResignIfDue());
  rep = svc_->Report();
  EXPECT_EQ(rep.roles[2].version, snap.version + 1);
  // A client at the new time accepts the repository: no expiry outage.
  auto c = Client();
  ASSERT_OK(c.Refresh());
}

TEST_F(OriginTest, ExpiryWarningsFor30Days) {
  EXPECT_TRUE(svc_->Report().warnings.empty());
  now_ += 340 * 86400;  // root and targets expire 365 days after init
  auto rep = svc_->Report();
  ASSERT_GE(rep.warnings.size(), 2u);
  EXPECT_NE(rep.warnings[0].find("root"), std::string::npos);
  // The offline re-sign clears them.
  auto keys =
      LoadKeys({dir_.Join("offline/root-1.key"), dir_.Join("offline/root-2.key")}, std::nullopt);
  ASSERT_OK(keys);
  ASSERT_OK(ResignOffline(*svc_, {(*keys)[0].get(), (*keys)[1].get()}, targets_key_.get()));
  ASSERT_OK(svc_->ResignIfDue());  // the online roles (the server does this on its schedule)
  EXPECT_TRUE(svc_->Report().warnings.empty()) << svc_->Report().warnings.front();
  auto c = Client();
  ASSERT_OK(c.Refresh());
  EXPECT_EQ(c.trusted()->root().body.version, 2);
}

// A plugin role is signed by its authors, so the origin cannot re-sign it: it warns from 30 days
// before expiry (status, metrics, log), and the authors renew it (same files, later expiry)
// without publishing a build.
TEST_F(OriginTest, PluginRolesWarnBeforeExpiryAndAuthorsRenewThem) {
  AddPluginGit();
  const TokenRecord token = Token("plugin:git");
  ASSERT_OK(UploadBytes(token, "git", "g.hpi", "plugin bytes"));
  ASSERT_OK(
      svc_->SubmitPluginRole(token, "git", *AuthorRole("git", "g.hpi", "plugin bytes", "1.0")));
  auto plugin_warnings = [&] {
    std::vector<std::string> out;
    for (const auto& w : svc_->Report().warnings) {
      if (w.rfind("plugins.git", 0) == 0) out.push_back(w);
    }
    return out;
  };
  EXPECT_TRUE(plugin_warnings().empty());
  now_ += 340 * 86400;  // the role was signed valid for 365 days
  ASSERT_OK(svc_->ResignIfDue());
  auto w = plugin_warnings();
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("ferry renew --plugin git"), std::string::npos) << w[0];
  auto md = tuf::ParseMetadata<tuf::Targets>(ferry::testing::ReadFileOrDie(
      JoinPath(RepoDir(options_.data_dir), "metadata/" + CurrentRoleFile("plugins.git"))));
  ASSERT_OK(md);
  // A renewal that does not expire later is refused; one that does is published.
  auto same = client::SignRenewedRoleVersion(md->body, *author_, md->body.expires - 365 * 86400);
  ASSERT_OK(same);
  EXPECT_ERRC(svc_->SubmitPluginRole(token, "git", *same), Errc::kAlreadyExists);
  auto renewed = client::SignRenewedRoleVersion(md->body, *author_, now_);
  ASSERT_OK(renewed);
  auto r = svc_->SubmitPluginRole(token, "git", *renewed);
  ASSERT_OK(r);
  EXPECT_EQ(r->role_version, md->body.version + 1);
  EXPECT_TRUE(r->new_targets.empty());
  EXPECT_TRUE(plugin_warnings().empty());
  // Only the author can renew: a stranger's signature does not meet the threshold.
  auto stranger = tuf::Ed25519Signer::Generate();
  auto md2 = tuf::ParseMetadata<tuf::Targets>(*renewed);
  auto forged = client::SignRenewedRoleVersion(md2->body, *stranger, now_ + 86400);
  EXPECT_FALSE(svc_->SubmitPluginRole(token, "git", *forged).ok());
  // A client still finds the file.
  auto c = Client();
  ASSERT_OK(c.Refresh());
  ASSERT_OK(c.GetTargetInfo("plugins/git/g.hpi"));
}

// `ferry-origin rotate timestamp` runs beside a serving origin: it writes root N+1 and installs
// the new online key file. The server notices the new root at its next publish or re-sign and
// reads the key file again, instead of failing every publish until someone restarts it.
TEST_F(OriginTest, RotatedOnlineKeyIsPickedUpByARunningServer) {
  auto keys =
      LoadKeys({dir_.Join("offline/root-1.key"), dir_.Join("offline/root-2.key")}, std::nullopt);
  ASSERT_OK(keys);
  auto admin = OriginService::Open(options_);  // the admin command's own instance
  ASSERT_OK(admin);
  auto secret = crypto::Ed25519SecretKey::Generate();
  const std::string key_path = JoinPath(OnlineKeysDir(options_.data_dir), "timestamp.key");
  ASSERT_OK(
      crypto::WriteSecretKeyFile(key_path + ".new", secret, std::nullopt, {.overwrite = true}));
  tuf::Ed25519Signer fresh(std::move(secret));
  ASSERT_OK(RotateRole(**admin, "timestamp", {(*keys)[0].get(), (*keys)[1].get()}, {&fresh}, 1));
  ASSERT_EQ(::rename((key_path + ".new").c_str(), key_path.c_str()), 0);
  // The running server re-signs on schedule and publishes with the new key.
  now_ += 7 * 3600;
  auto resigned = svc_->ResignIfDue();
  ASSERT_OK(resigned);
  EXPECT_TRUE(*resigned);
  AddPluginGit();
  const TokenRecord token = Token("plugin:git");
  ASSERT_OK(UploadBytes(token, "git", "g.hpi", "bytes"));
  ASSERT_OK(svc_->SubmitPluginRole(token, "git", *AuthorRole("git", "g.hpi", "bytes", "1")));
  auto c = Client();
  ASSERT_OK(c.Refresh());
  EXPECT_EQ(c.trusted()->root().body.version, 2);
  EXPECT_EQ(c.trusted()->timestamp()->signatures.front().keyid, fresh.keyid());
  ASSERT_OK(c.GetTargetInfo("plugins/git/g.hpi"));
}

// An author leaves, another joins: the delegation lists the new keys; the old author can no
// longer publish, and the new one makes the plugin's files available again by renewing.
TEST_F(OriginTest, PluginAuthorsAreReplacedByTheAdministrator) {
  AddPluginGit();
  const TokenRecord token = Token("plugin:git");
  ASSERT_OK(UploadBytes(token, "git", "g.hpi", "v1 bytes"));
  ASSERT_OK(svc_->SubmitPluginRole(token, "git", *AuthorRole("git", "g.hpi", "v1 bytes", "1")));
  auto bob = tuf::Ed25519Signer::Generate();
  ASSERT_OK(SetPluginAuthors(*svc_, "git", {{"bob", bob->public_key()}}, *targets_key_));
  auto authors = svc_->catalog().ListAuthors("git");
  ASSERT_OK(authors);
  ASSERT_EQ(authors->size(), 1u);
  EXPECT_EQ((*authors)[0].name, "bob");
  // Alice (author_) is out: her next version is refused.
  ASSERT_OK(UploadBytes(token, "git", "g2.hpi", "v2 bytes"));
  EXPECT_FALSE(
      svc_->SubmitPluginRole(token, "git", *AuthorRole("git", "g2.hpi", "v2 bytes", "2")).ok());
  // Alice's signed role no longer verifies for clients; Bob renews it and it does again.
  auto c = Client();
  ASSERT_OK(c.Refresh());
  EXPECT_FALSE(c.GetTargetInfo("plugins/git/g.hpi").ok());
  auto md = tuf::ParseMetadata<tuf::Targets>(ferry::testing::ReadFileOrDie(
      JoinPath(RepoDir(options_.data_dir), "metadata/" + CurrentRoleFile("plugins.git"))));
  ASSERT_OK(md);
  auto renewed = client::SignRenewedRoleVersion(md->body, *bob, now_ + 60);
  ASSERT_OK(renewed);
  ASSERT_OK(svc_->SubmitPluginRole(token, "git", *renewed));
  auto c2 = Client("client2");
  ASSERT_OK(c2.Refresh());
  ASSERT_OK(c2.GetTargetInfo("plugins/git/g.hpi"));
  EXPECT_ERRC(SetPluginAuthors(*svc_, "nope", {{"bob", bob->public_key()}}, *targets_key_),
              Errc::kNotFound);
}

// The online mirrors key rotated by the administrator beside a running server: the delegation
// lists the new key, the role is re-signed with it, and the server picks up the new key file.
TEST_F(OriginTest, MirrorsKeyRotationReachesTheRunningServer) {
  auto admin = OriginService::Open(options_);
  ASSERT_OK(admin);
  auto secret = crypto::Ed25519SecretKey::Generate();
  const std::string key_path = JoinPath(OnlineKeysDir(options_.data_dir), "mirrors.key");
  ASSERT_OK(
      crypto::WriteSecretKeyFile(key_path + ".new", secret, std::nullopt, {.overwrite = true}));
  tuf::Ed25519Signer fresh(std::move(secret));
  ASSERT_OK(RotateDelegatedRole(**admin, "mirrors", fresh, *targets_key_));
  ASSERT_EQ(::rename((key_path + ".new").c_str(), key_path.c_str()), 0);
  EXPECT_ERRC(RotateDelegatedRole(**admin, "targets", fresh, *targets_key_),
              Errc::kInvalidArgument);
  now_ += 4 * 86400;  // the mirrors role is due for re-signing
  auto resigned = svc_->ResignIfDue();
  ASSERT_OK(resigned);
  auto c = Client();
  ASSERT_OK(c.Refresh());
  auto mirrors = c.LoadRole("mirrors", tuf::kTargets);
  ASSERT_OK(mirrors);
  const auto* delegations = c.trusted()->targets()->body.delegations
                                ? &*c.trusted()->targets()->body.delegations
                                : nullptr;
  ASSERT_NE(delegations, nullptr);
  EXPECT_EQ(delegations->FindRole("mirrors")->keyids, std::vector<std::string>{fresh.keyid()});
}

TEST_F(OriginTest, RotateTimestampKeyClientsFollow) {
  auto keys =
      LoadKeys({dir_.Join("offline/root-1.key"), dir_.Join("offline/root-2.key")}, std::nullopt);
  ASSERT_OK(keys);
  // Rotating an online key means new key files and a restart; here the rotation of targets.
  auto new_targets = tuf::Ed25519Signer::Generate();
  ASSERT_OK(
      RotateRole(*svc_, "targets", {(*keys)[0].get(), (*keys)[1].get()}, {new_targets.get()}, 1));
  auto c = Client();
  ASSERT_OK(c.Refresh());
  EXPECT_EQ(c.trusted()->root().body.version, 2);
  EXPECT_EQ(c.trusted()->targets()->signatures.front().keyid, new_targets->keyid());
  // Only one root key is below the threshold of 2.
  EXPECT_FALSE(RotateRole(*svc_, "targets", {(*keys)[0].get()}, {targets_key_.get()}, 1).ok());
}

TEST_F(OriginTest, GarbageCollectsUnpublishedUploads) {
  now_ = NowUnix();  // blob mtimes are real time
  AddPluginGit();
  const TokenRecord token = Token("plugin:git");
  ASSERT_OK(UploadBytes(token, "git", "abandoned.hpi", "never published"));
  ASSERT_OK(UploadBytes(token, "git", "kept.hpi", "published"));
  ASSERT_OK(svc_->SubmitPluginRole(token, "git", *AuthorRole("git", "kept.hpi", "published", "1")));
  auto gc = svc_->CollectGarbage();
  ASSERT_OK(gc);
  EXPECT_EQ(gc->blobs_removed, 0u);  // within the grace period
  now_ = NowUnix() + 2 * 86400;
  gc = svc_->CollectGarbage();
  ASSERT_OK(gc);
  EXPECT_EQ(gc->blobs_removed, 1u);
  EXPECT_TRUE(*svc_->blobs().Has(*store::Digest::Parse(crypto::Sha256Hex("published"))));
}

// Kills a publishing child process at each step of one publish, then checks that the origin,
// reopened, serves a repository that is exactly the old one or exactly the new one.
TEST_F(OriginTest, CrashAtEveryPublishStepLeavesOldOrNew) {
  AddPluginGit();
  const TokenRecord token = Token("plugin:git");
  ASSERT_OK(UploadBytes(token, "git", "c.hpi", "crash test bytes"));
  auto role = AuthorRole("git", "c.hpi", "crash test bytes", "1");
  ASSERT_OK(role);
  // Count the steps of the publish in a dry run on a copy.
  std::vector<std::string> steps;
  {
    ferry::testing::TempDir copy;
    std::filesystem::copy(dir_.path(), copy.path(), std::filesystem::copy_options::recursive);
    ServiceOptions o = options_;
    o.data_dir = copy.Join("data");
    auto svc = OriginService::Open(o);
    ASSERT_OK(svc);
    g_publish_step_hook = [&](const std::string& s) { steps.push_back(s); };
    ASSERT_OK((*svc)->SubmitPluginRole(token, "git", *role));
    g_publish_step_hook = nullptr;
  }
  ASSERT_GE(steps.size(), 5u);
  svc_.reset();
  for (std::size_t kill_at = 0; kill_at <= steps.size(); ++kill_at) {
    SCOPED_TRACE("killed at step " + std::to_string(kill_at) + " of " +
                 std::to_string(steps.size()));
    ferry::testing::TempDir run;
    std::filesystem::copy(dir_.path(), run.path(), std::filesystem::copy_options::recursive);
    ServiceOptions o = options_;
    o.data_dir = run.Join("data");
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      std::size_t n = 0;
      g_publish_step_hook = [&](const std::string&) {
        if (n++ == kill_at) ::kill(::getpid(), SIGKILL);
      };
      auto svc = OriginService::Open(o);
      if (!svc.ok()) ::_exit(2);
      auto r = (*svc)->SubmitPluginRole(token, "git", *role);
      ::_exit(r.ok() ? 0 : 3);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    const bool completed = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    EXPECT_TRUE(completed || (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));
    // What a client sees right after the crash, before any restart: old or new, consistent.
    auto check = [&](const std::string& who) -> std::optional<bool> {
      const std::string meta = run.Join(who + "/metadata");
      EXPECT_TRUE(MakeDirs(meta).ok());
      EXPECT_TRUE(
          WriteFileAtomic(meta + "/root.json", ferry::testing::ReadFileOrDie(init_.root_json_path))
              .ok());
      client::UpdaterOptions uo;
      uo.metadata_dir = meta;
      const std::string repo = RepoDir(o.data_dir);
      uo.sources = {{"origin", "file://" + repo + "/metadata/", "file://" + repo + "/targets/"}};
      client::Updater u(uo, &fetcher_, now_);
      Status st = u.Refresh();
      EXPECT_TRUE(st.ok()) << st.error().ToString();
      if (!st.ok()) return std::nullopt;
      auto info = u.GetTargetInfo("plugins/git/c.hpi");
      if (!info.ok()) {
        EXPECT_EQ(info.error().code(), Errc::kTargetNotFound) << info.error().ToString();
        return false;
      }
      EXPECT_OK(u.DownloadTarget(*info, run.Join(who + "/c.hpi")));
      return true;
    };
    auto before_restart = check("before");
    // Restart: recovery finishes a committed publish.
    auto svc = OriginService::Open(o);
    ASSERT_OK(svc);
    auto after_restart = check("after");
    ASSERT_TRUE(before_restart && after_restart);
    const bool committed = kill_at > 0;  // step 0 is "commit": killed before the transaction
    EXPECT_EQ(*after_restart, committed || completed);
    if (completed) {
      EXPECT_TRUE(*before_restart);
    }
    auto staged = (*svc)->catalog().StagedPublishes();
    ASSERT_OK(staged);
    EXPECT_TRUE(staged->empty());
  }
}

TEST_F(OriginTest, NotInitialised) {
  ServiceOptions o = options_;
  o.data_dir = dir_.Join("empty");
  auto svc = OriginService::Open(o);
  EXPECT_ERRC(svc, Errc::kNotFound);
  EXPECT_NE(svc.error().message().find("ferry-origin init"), std::string::npos);
}

}  // namespace
}  // namespace ferry::origin::testing
